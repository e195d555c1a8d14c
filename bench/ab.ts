/**
 * `npm run bench:ab -- <A> <B> [--workload head|upload|download] [--rounds n]`: two builds of the
 * `lms` command side by side on the simulated ME, the same workload in alternating rounds, and the
 * median of the per-round B/A ratios with their quartiles. This host's speed drifts by tens of
 * percent within a minute, so two separate `npm run bench` runs cannot tell a 5% change from
 * noise; two daemons measured round by round can.
 *
 * A and B are each a folder holding a built bundle (lms.js), `.` for this checkout's dist/bundle
 * (built by the npm script), or a git revision, built in a temporary worktree that shares this
 * checkout's node_modules. CPU is the daemon's, all threads, from schedstat.
 *
 *   head      1,000 HEAD / requests per daemon, each on a fresh connection, in bursts of 50 that
 *             alternate between the daemons: CPU µs per request, latency p50 (of a warm daemon;
 *             `npm run bench` measures a cold one, requests alternating with the baseline's)
 *   upload    POST of 50 MB to /sha256: CPU ms per MB, MB/s
 *   download  GET of 50 MB: CPU ms per MB, MB/s
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { headLatency, httpGet, httpPost } from './clients.js';
import { cpuSeconds, median, percentile } from './procStats.js';
import { freePort } from '../test/support/harness.js';

const MB = 1024 * 1024;
/**
 * HEAD requests per round and daemon, in bursts that alternate between the daemons. Alternated
 * request by request, each daemon stays cold and the per-round ratios scattered from 0.75 to 1.23;
 * in one block per daemon, the host's drift between the blocks scattered them as much (0.47 to
 * 0.79 for two builds that differ by about 0.87). In bursts the quartiles stay within about ±8%.
 */
const HEAD_REQUESTS = 1000;
const HEAD_BURST = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Workload = 'head' | 'upload' | 'download';
const WORKLOADS: readonly Workload[] = ['head', 'upload', 'download'];

interface Build {
  readonly label: string;
  readonly bundle: string;
  cleanup(): void;
}

/** A folder with lms.js, `.` (dist/bundle), or a git revision built in a temporary worktree. */
const resolveBuild = (spec: string): Build => {
  const folder = spec === '.' ? resolve('dist/bundle') : resolve(spec);
  if (existsSync(join(folder, 'lms.js'))) return { label: spec, bundle: folder, cleanup: () => undefined };
  try {
    execFileSync('git', ['rev-parse', '--verify', '--quiet', `${spec}^{commit}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${spec}: neither a folder with lms.js nor a git revision`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'lms-ab-'));
  const tree = join(dir, 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', '--quiet', tree, spec], { stdio: 'inherit' });
  const cleanup = (): void => {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    symlinkSync(resolve('node_modules'), join(tree, 'node_modules'));
    process.stderr.write(`building ${spec} in ${tree}\n`);
    execFileSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: tree, stdio: 'inherit' });
    execFileSync(process.execPath, ['scripts/bundle.mjs'], { cwd: tree, stdio: 'inherit' });
  } catch (err) {
    cleanup();
    throw err;
  }
  return { label: spec, bundle: join(tree, 'dist/bundle'), cleanup };
};

interface Daemon {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly dir: string;
}

const startDaemon = async (bundle: string): Promise<Daemon> => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lms-ab-run-'));
  const args = ['run', '--simulate', '--sim-ports', `${port},${await freePort()}`, '--log-level', 'warn', '--control-socket', join(dir, 'lms.sock')];
  const proc = spawn(process.execPath, [join(bundle, 'lms.js'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    if (await headLatency(port).then(() => true, () => false)) return { proc, port, dir };
    await sleep(50);
  }
  proc.kill();
  throw new Error(`${bundle}: the daemon did not start listening`);
};

/** One daemon's figures in one round: CPU per unit, and latency p50 µs or MB/s. */
type Sample = { cpu: number; figure: number };

/** One round: each daemon's CPU per unit and its speed figure (latency p50 µs, or MB/s). */
const round = async (w: Workload, ds: readonly Daemon[]): Promise<Sample[]> => {
  if (w === 'head') {
    const cpu = ds.map(() => 0);
    const lat: number[][] = ds.map(() => []);
    for (let j = 0; j < HEAD_REQUESTS / HEAD_BURST; j++)
      for (const [k, d] of ds.entries()) {
        const c0 = cpuSeconds(d.proc.pid!);
        for (let i = 0; i < HEAD_BURST; i++) lat[k]!.push(await headLatency(d.port));
        cpu[k]! += cpuSeconds(d.proc.pid!) - c0;
      }
    return ds.map((_, k) => ({ cpu: (cpu[k]! / HEAD_REQUESTS) * 1e6, figure: median(lat[k]!) }));
  }
  return sequential(ds, async (d) => {
    const t0 = performance.now();
    await (w === 'upload' ? httpPost(d.port, 50 * MB) : httpGet(d.port, `/data/${50 * MB}`));
    return { units: 50, scale: 1e3, figure: 50 / ((performance.now() - t0) / 1000) };
  });
};

/** Runs `work` on each daemon in turn, each taking its CPU per unit (times `scale`) from schedstat. */
const sequential = async (
  ds: readonly Daemon[],
  work: (d: Daemon) => Promise<{ units: number; scale: number; figure: number }>,
): Promise<Sample[]> => {
  const out: Sample[] = [];
  for (const d of ds) {
    const c0 = cpuSeconds(d.proc.pid!);
    const r = await work(d);
    out.push({ cpu: ((cpuSeconds(d.proc.pid!) - c0) / r.units) * r.scale, figure: r.figure });
  }
  return out;
};

const main = async (): Promise<void> => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { workload: { type: 'string', multiple: true }, rounds: { type: 'string' } },
  });
  if (positionals.length !== 2) throw new Error('usage: npm run bench:ab -- <A> <B> [--workload head|upload|download] [--rounds n]');
  const workloads = (values.workload ?? [...WORKLOADS]) as Workload[];
  for (const w of workloads) if (!WORKLOADS.includes(w)) throw new Error(`--workload ${w}: one of ${WORKLOADS.join(', ')}`);
  const rounds = Number(values.rounds ?? 12);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: a positive whole number`);
  const builds: Build[] = [];
  const daemons: Daemon[] = [];
  try {
    for (const spec of positionals) builds.push(resolveBuild(spec));
    for (const b of builds) daemons.push(await startDaemon(b.bundle));
    const results: Record<string, unknown> = {};
    console.log(`\nA = ${builds[0]!.label}, B = ${builds[1]!.label}; ${rounds} rounds; ratios: median of per-round B/A [quartiles]\n`);
    for (const w of workloads) {
      for (let i = 0; i < 3; i++) await round(w, daemons); // warm-up: JIT tiers and heap sizing
      const series: Sample[][] = [];
      for (let r = 0; r < rounds; r++) {
        // Each round the other one goes first, so whatever drifts hits both alike.
        const order = r % 2 === 0 ? daemons : [...daemons].reverse();
        const res = await round(w, order);
        series.push(r % 2 === 0 ? res : [...res].reverse());
      }
      const ratio = (key: 'cpu' | 'figure'): { median: number; quartiles: [number, number] } => {
        const r = series.map((s) => s[1]![key] / s[0]![key]);
        return { median: median(r), quartiles: [percentile(r, 25), percentile(r, 75)] };
      };
      const [unit, figureName] = w === 'head' ? ['µs CPU per request', 'p50 µs'] : ['ms CPU per MB', 'MB/s'];
      const cpu = ratio('cpu');
      const figure = ratio('figure');
      const show = (k: 0 | 1, key: 'cpu' | 'figure'): string => median(series.map((s) => s[k]![key])).toFixed(key === 'cpu' && w !== 'head' ? 2 : 0);
      console.log(`${w.padEnd(9)} ${unit}: A ${show(0, 'cpu')}, B ${show(1, 'cpu')}, B/A ${cpu.median.toFixed(3)} [${cpu.quartiles.map((q) => q.toFixed(3)).join('-')}]`);
      console.log(`${''.padEnd(9)} ${figureName}: A ${show(0, 'figure')}, B ${show(1, 'figure')}, B/A ${figure.median.toFixed(3)} [${figure.quartiles.map((q) => q.toFixed(3)).join('-')}]`);
      results[w] = { cpuRatio: cpu, figureRatio: figure, series };
    }
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/ab-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), a: builds[0]!.label, b: builds[1]!.label, rounds, results }, null, 2));
    console.log(`\nwritten to ${file}`);
  } finally {
    for (const d of daemons) {
      d.proc.kill('SIGTERM');
      rmSync(d.dir, { recursive: true, force: true });
    }
    for (const b of builds) b.cleanup();
  }
};

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
