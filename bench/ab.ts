/**
 * `npm run bench:ab -- <A> <B> [--target simulate|device] [--workload head|upload|download|idle]
 * [--rounds n] [--log-level L]`: two builds of the `lms` command side by side, on the simulated ME or (`device`:
 * root and FUSE) each on an emulated /dev/mei0 of its own, the same workload in alternating rounds,
 * and the median of the per-round B/A ratios with their quartiles. This host's speed drifts by tens of
 * percent within a minute, so two separate `npm run bench` runs cannot tell a 5% change from
 * noise; two daemons measured round by round can.
 *
 * A and B are each a folder holding a built bundle (lms.js), `.` for this checkout's dist/bundle
 * (built by the npm script), or a git revision, built in a temporary worktree that shares this
 * checkout's node_modules. CPU is the daemon's, all threads, from schedstat. Each daemon runs with
 * the node flags of its own bundle's shebang, at `--log-level` (default info, lms's own default).
 *
 *   head      1,000 HEAD / requests per daemon, each on a fresh connection, in bursts of 50 that
 *             alternate between the daemons: CPU µs per request, latency p50 and p99 (of a warm
 *             daemon; `npm run bench` measures a cold one, requests alternating with the baseline's)
 *   idle      both daemons left alone for 5 s at once, 10 s after their start-up work: wake-ups (context switches) and CPU ms a
 *             second, as absolute figures (a ratio to 0 means nothing)
 *   upload    POST of 50 MB to /sha256: CPU ms per MB, MB/s
 *   download  GET of 50 MB: CPU ms per MB, MB/s
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { headLatency, httpGet, httpPost } from './clients.js';
import { cpuSeconds, idleCost, median, percentile } from './procStats.js';
import { SimulatedMe } from '../src/device/simulator/simulatedMe.js';
import { shebangFlags } from '../test/support/daemon.js';
import { freePort } from '../test/support/harness.js';
import { emulatorUnavailable, startEmulatedMei, type EmulatedMei } from '../test/tools/meiEmulator.js';

const MB = 1024 * 1024;
/**
 * HEAD requests per round and daemon, in bursts that alternate between the daemons. Alternated
 * request by request, each daemon stays cold and the per-round ratios scattered from 0.75 to 1.23;
 * in one block per daemon, the host's drift between the blocks scattered them as much (0.47 to
 * 0.79 for two builds that differ by about 0.87). In bursts the quartiles stay within about ±8%.
 */
const HEAD_REQUESTS = 1000;
/** Before each idle round: a fresh daemon's start-up work (host duties, a GC) is done within this. */
const IDLE_SETTLE_MS = 10_000;
const HEAD_BURST = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Workload = 'head' | 'upload' | 'download' | 'idle';
const WORKLOADS: readonly Workload[] = ['head', 'upload', 'download', 'idle'];
type Target = 'simulate' | 'device';

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
  /** The emulated device and its simulated ME, for `--target device`. */
  readonly emulated?: { readonly me: SimulatedMe; readonly emu: EmulatedMei };
}

const startDaemon = async (bundle: string, target: Target, logLevel: string): Promise<Daemon> => {
  const port = await freePort();
  const other = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lms-ab-run-'));
  let emulated: Daemon['emulated'];
  let device: string[];
  if (target === 'device') {
    const me = new SimulatedMe({ ports: [port, other], httpPorts: [port] });
    emulated = { me, emu: await startEmulatedMei(me) };
    device = ['--device', emulated.emu.devicePath];
  } else device = ['--simulate', '--sim-ports', `${port},${other}`];
  const args = ['run', ...device, '--log-level', logLevel, '--control-socket', join(dir, 'lms.sock')];
  // With the node flags of its own shebang: each build as it ships.
  const cli = join(bundle, 'lms.js');
  const proc = spawn(process.execPath, [...shebangFlags(cli), cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    if (
      await headLatency(port).then(
        () => true,
        () => false,
      )
    )
      return { proc, port, dir, ...(emulated ? { emulated } : {}) };
    await sleep(50);
  }
  proc.kill();
  throw new Error(`${bundle}: the daemon did not start listening`);
};

const stopDaemon = async (d: Daemon): Promise<void> => {
  d.proc.kill('SIGTERM');
  await new Promise((r) => (d.proc.exitCode === null ? d.proc.once('exit', r) : r(undefined)));
  rmSync(d.dir, { recursive: true, force: true });
  await d.emulated?.emu.stop();
  d.emulated?.me.close();
};

/** One daemon's figures in one round: CPU per unit, and latency p50 µs or MB/s (and HEAD p99 µs). */
type Sample = { cpu: number; figure: number; p99?: number };

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
    return ds.map((_, k) => ({ cpu: (cpu[k]! / HEAD_REQUESTS) * 1e6, figure: median(lat[k]!), p99: percentile(lat[k]!, 99) }));
  }
  if (w === 'idle') {
    // What a daemon does once at start (the host duties' first runs, the GC after them) is not idle.
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const costs = await Promise.all(ds.map((d) => idleCost(d.proc.pid!, 5_000)));
    return costs.map((c) => ({ cpu: c.cpuMsPerSecond, figure: c.wakeupsPerSecond }));
  }
  return sequential(ds, async (d) => {
    const t0 = performance.now();
    await (w === 'upload' ? httpPost(d.port, 50 * MB) : httpGet(d.port, `/data/${50 * MB}`));
    return { units: 50, scale: 1e3, figure: 50 / ((performance.now() - t0) / 1000) };
  });
};

/** Runs `work` on each daemon in turn, each taking its CPU per unit (times `scale`) from schedstat. */
const sequential = async (ds: readonly Daemon[], work: (d: Daemon) => Promise<{ units: number; scale: number; figure: number }>): Promise<Sample[]> => {
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
    options: {
      workload: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      target: { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  if (positionals.length !== 2)
    throw new Error('usage: npm run bench:ab -- <A> <B> [--target simulate|device] [--workload head|upload|download|idle] [--rounds n] [--log-level L]');
  const target = (values.target ?? 'simulate') as Target;
  if (target !== 'simulate' && target !== 'device') throw new Error(`--target ${values.target}: simulate or device`);
  const why = target === 'device' ? emulatorUnavailable() : undefined;
  if (why) throw new Error(`--target device: ${why}`);
  const workloads = (values.workload ?? [...WORKLOADS]) as Workload[];
  for (const w of workloads) if (!WORKLOADS.includes(w)) throw new Error(`--workload ${w}: one of ${WORKLOADS.join(', ')}`);
  const rounds = Number(values.rounds ?? 12);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: a positive whole number`);
  const builds: Build[] = [];
  const daemons: Daemon[] = [];
  try {
    for (const spec of positionals) builds.push(resolveBuild(spec));
    // At lms's default level, as administrators run it: its per-channel lines are part of a request's cost.
    const logLevel = values['log-level'] ?? 'info';
    for (const b of builds) daemons.push(await startDaemon(b.bundle, target, logLevel));
    const results: Record<string, unknown> = {};
    console.log(
      `\nA = ${builds[0]!.label}, B = ${builds[1]!.label}, on ${target === 'device' ? 'emulated /dev/mei0 devices' : 'the simulated ME'}; ${rounds} rounds; ratios: median of per-round B/A [quartiles]\n`,
    );
    for (const w of workloads) {
      if (w === 'idle') {
        const series: Sample[][] = [];
        for (let r = 0; r < Math.min(rounds, 3); r++) series.push(await round(w, daemons));
        const show = (k: 0 | 1, key: 'cpu' | 'figure'): string => median(series.map((s) => s[k]![key])).toFixed(2);
        console.log(`idle      wake-ups/s: A ${show(0, 'figure')}, B ${show(1, 'figure')}; CPU ms/s: A ${show(0, 'cpu')}, B ${show(1, 'cpu')}`);
        results[w] = { series };
        continue;
      }
      for (let i = 0; i < 3; i++) await round(w, daemons); // warm-up: JIT tiers and heap sizing
      const series: Sample[][] = [];
      for (let r = 0; r < rounds; r++) {
        // Each round the other one goes first, so whatever drifts hits both alike.
        const order = r % 2 === 0 ? daemons : [...daemons].reverse();
        const res = await round(w, order);
        series.push(r % 2 === 0 ? res : [...res].reverse());
      }
      const ratio = (key: 'cpu' | 'figure' | 'p99'): { median: number; quartiles: [number, number] } => {
        const r = series.map((s) => s[1]![key]! / s[0]![key]!);
        return { median: median(r), quartiles: [percentile(r, 25), percentile(r, 75)] };
      };
      const [unit, figureName] = w === 'head' ? ['µs CPU per request', 'p50 µs'] : ['ms CPU per MB', 'MB/s'];
      const cpu = ratio('cpu');
      const figure = ratio('figure');
      /** One measure's line: each daemon's median, then the median B/A ratio and its quartiles. */
      const report = (label: string, key: 'cpu' | 'figure' | 'p99', r: { median: number; quartiles: [number, number] }, first = false): void => {
        const at = (k: 0 | 1): string => median(series.map((s) => s[k]![key]!)).toFixed(key === 'cpu' && w !== 'head' ? 2 : 0);
        console.log(
          `${(first ? w : '').padEnd(9)} ${label}: A ${at(0)}, B ${at(1)}, B/A ${r.median.toFixed(3)} [${r.quartiles.map((q) => q.toFixed(3)).join('-')}]`,
        );
      };
      report(unit, 'cpu', cpu, true);
      report(figureName, 'figure', figure);
      if (w === 'head') report('p99 µs', 'p99', ratio('p99'));
      results[w] = { cpuRatio: cpu, figureRatio: figure, series };
    }
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/ab-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), a: builds[0]!.label, b: builds[1]!.label, target, rounds, results }, null, 2));
    console.log(`\nwritten to ${file}`);
  } finally {
    for (const d of daemons) await stopDaemon(d);
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
