/**
 * `npm run bench`: the daemon (`lms run --simulate`, a child process, MTU 4096, default windows)
 * measured side by side with baselines in the same run, medians of several runs, ratios only
 * within one run. Prints a table and writes bench/results/<time>.json.
 *
 *   throughput   one channel, download and upload, CPU s/MB: against the same HTTP exchange over a
 *                raw loopback TCP pipe (no lms), and beside it a bare socket doing only the
 *                service's work (pattern bytes out, SHA-256 in) with no HTTP; for upload also the
 *                simulated AMT service alone, fed one MTU-sized message per turn, paired with each
 *                baseline transfer (the bound the simulated ME sets for any LMS; a target past it
 *                is reported as out of reach here; bench/serviceCeiling.ts). CPU is every thread's
 *                run time from schedstat.
 *   latency      HEAD / p50 and p99 through the daemon, against the same HTTP service direct
 *   concurrency  1,000 clients at once over 8 ME slots: completed, longest wait, daemon peak RSS
 *   footprint    idle RSS; idle wake-ups (context switches, all threads) and CPU a second over
 *                10 s with no client; time from start to listening
 *   window       download throughput for several windows lms advertises (how the default was
 *                chosen), and upload throughput for several windows the simulated ME advertises
 *   device       on the emulated /dev/mei0, where it can run (root, FUSE): MB/s and lms's CPU per
 *                MB both ways, HEAD p50/p99 and CPU per HEAD, idle wake-ups and CPU with the
 *                device connected, and the first HEAD after 10 s idle
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { headLatency, httpGet, httpPost, sendBytes } from './clients.js';
import { cpuSeconds, idleCost, median, memKb, percentile, selfCpu } from './procStats.js';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SimulatedMe } from '../src/device/simulator/simulatedMe.js';
import { emulatorUnavailable, startEmulatedMei } from '../test/tools/meiEmulator.js';
import { CLI } from '../test/support/daemon.js';
import { freePort } from '../test/support/harness.js';

const SERVERS = resolve('dist/bench/servers.js');
const CEILING = resolve('dist/bench/serviceCeiling.js');
const MB = 1024 * 1024;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 15);
const SIZE = Number(process.env['BENCH_MB'] ?? 50) * MB;
/** How long an idle daemon is watched for its wake-ups and CPU (the device connected, no client). */
const IDLE_MS = 10_000;
/** Idle starts this long after the last request: V8 finishes its GC work of the burst before. */
const IDLE_SETTLE_MS = 2_000;
const WARMUPS = Number(process.env['BENCH_WARMUPS'] ?? 4);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const canConnect = (port: number): Promise<boolean> =>
  new Promise((res) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });

interface Child {
  readonly proc: ChildProcess;
  readonly startMs: number;
  stop(): Promise<void>;
}

const startChild = async (args: string[], port: number): Promise<Child> => {
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'inherit'] });
  for (let i = 0; i < 2000 && !(await canConnect(port)); i++) await sleep(1);
  const startMs = performance.now() - t0;
  return {
    proc,
    startMs,
    stop: () =>
      new Promise((res) => {
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
      }),
  };
};

/** One transfer's speed and CPU seconds per MB (server process and client). */
type Rate = { mbps: number; cpuPerMb: number };

/** The service-alone child (bench/serviceCeiling.ts): one measured POST per request. */
const startCeiling = (): { measure(bytes: number): Promise<Rate>; stop(): void } => {
  const proc = spawn(process.execPath, [CEILING], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((r: Rate) => void)[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => waiting.shift()?.(JSON.parse(line) as Rate));
  return {
    measure: (bytes) =>
      new Promise((res) => {
        waiting.push(res);
        proc.stdin!.write(`${bytes}\n`);
      }),
    stop: () => void proc.kill(),
  };
};

/** The daemon with its control socket in a directory of its own, removed when it stops. */
const startLmsChild = async (args: string[], port: number): Promise<Child> => {
  const dir = mkdtempSync(join(tmpdir(), 'lms-bench-'));
  const child = await startChild([CLI, 'run', ...args, '--log-level', 'warn', '--control-socket', join(dir, 'lms.sock')], port);
  return { ...child, stop: () => child.stop().then(() => rmSync(dir, { recursive: true, force: true })) };
};

const startDaemon = async (port: number, extra: string[] = []): Promise<Child> =>
  startLmsChild(['--simulate', '--sim-ports', `${port},${await freePort()}`, ...extra], port);

// ---- clients -------------------------------------------------------------------------------------

const rawExchange = (port: number, verb: 'GET' | 'PUT', bytes: number): Promise<number> =>
  new Promise((res, rej) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let n = 0;
    s.on('data', (d) => (n += d.length));
    s.on('end', () => res(n));
    s.on('error', rej);
    s.on('connect', () => {
      s.write(`${verb} ${bytes}\n`);
      if (verb === 'PUT') sendBytes(s, bytes, false);
    });
  });

/** MB/s and CPU seconds per MB (server process, and this client unless `serverOnly`), for one transfer. */
const timed = async (serverPid: number, bytes: number, transfer: () => Promise<unknown>, serverOnly = false): Promise<Rate> => {
  const used = (): number => cpuSeconds(serverPid) + (serverOnly ? 0 : selfCpu());
  const c0 = used();
  const t0 = performance.now();
  await transfer();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = used() - c0;
  return { mbps: bytes / MB / seconds, cpuPerMb: cpu / (bytes / MB) };
};

// ---- the benchmarks -------------------------------------------------------------------------------

interface Row {
  readonly name: string;
  readonly lms: number;
  readonly baseline?: number;
  readonly unit: string;
  /** lms / baseline: for paired throughput runs, the median of the per-pair ratios. */
  readonly ratio?: number;
  /** The quartiles of the per-pair ratios. */
  readonly spread?: [number, number];
  readonly target?: string;
  readonly met?: boolean;
  /** Missed, and out of reach for any LMS on this test bed (the `upload bound` rows say why). */
  readonly unreachable?: boolean;
}

const main = async (): Promise<void> => {
  const rows: Row[] = [];
  const extra: Record<string, unknown> = {};
  const rawPort = await freePort();
  const directPort = await freePort();
  const lmsPort = await freePort();
  const raw = await startChild([SERVERS, 'raw', String(rawPort)], rawPort);
  const direct = await startChild([SERVERS, 'direct', String(directPort)], directPort);
  const daemon = await startDaemon(lmsPort);
  const alone = startCeiling();
  await sleep(300);
  const idleRssMb = memKb(daemon.proc.pid!, 'VmRSS') / 1024;
  // Warm-up, not measured: every path (and this client) climbs for the first few hundred MB
  // (JIT tiers, heap sizing): measured 250 -> 780 MB/s through lms and 750 -> 1500 on the bare
  // socket over ten 50 MB transfers. All get the same warm-up, both ways, before the clock runs.
  for (let i = 0; i < WARMUPS; i++) {
    for (const port of [directPort, lmsPort]) await httpGet(port, `/data/${SIZE}`), await httpPost(port, SIZE);
    await rawExchange(rawPort, 'GET', SIZE), await rawExchange(rawPort, 'PUT', SIZE);
    await alone.measure(SIZE);
  }

  // Throughput. The baseline is the same exchange (the same HTTP client, the same simulated AMT
  // service) over a plain loopback TCP connection instead of lms: the ratio is what lms, APF and
  // the ME's windows cost. The bare socket (no HTTP on either end) is reported beside it.
  // Paths alternate so drift hits all of them.
  // For upload also the simulated AMT service alone, fed one MTU-sized message per turn: what the
  // simulated ME leaves any LMS, however cheap (bench/serviceCeiling.ts).
  type Path = 'lms' | 'direct' | 'bare' | 'alone';
  type Series = Record<Path | `${Path}Cpu`, number[]>;
  const series = (): Series => ({ lms: [], direct: [], bare: [], alone: [], lmsCpu: [], directCpu: [], bareCpu: [], aloneCpu: [] });
  const down = series();
  const up = series();
  const record = (x: Series, key: Path, r: Rate): void => {
    x[key].push(r.mbps);
    x[`${key}Cpu`].push(r.cpuPerMb);
  };
  for (let i = 0; i < RUNS; i++) {
    record(down, 'direct', await timed(direct.proc.pid!, SIZE, () => httpGet(directPort, `/data/${SIZE}`)));
    record(down, 'lms', await timed(daemon.proc.pid!, SIZE, () => httpGet(lmsPort, `/data/${SIZE}`)));
    record(down, 'bare', await timed(raw.proc.pid!, SIZE, () => rawExchange(rawPort, 'GET', SIZE)));
    record(up, 'direct', await timed(direct.proc.pid!, SIZE, () => httpPost(directPort, SIZE)));
    record(up, 'lms', await timed(daemon.proc.pid!, SIZE, () => httpPost(lmsPort, SIZE)));
    record(up, 'bare', await timed(raw.proc.pid!, SIZE, () => rawExchange(rawPort, 'PUT', SIZE)));
    record(up, 'alone', await alone.measure(SIZE));
  }
  alone.stop();
  // Each lms transfer runs right after its baseline transfer, so the ratio is taken per pair and
  // the median of those is judged: the host's speed drifts by tens of percent between pairs. The
  // quartiles of the per-pair ratios show how far a verdict can be trusted.
  const perPair = (xs: number[], base: number[]): number[] => xs.map((x, i) => x / base[i]!);
  const pairedRatio = (xs: number[], base: number[]): number => median(perPair(xs, base));
  const quartiles = (xs: number[], base: number[]): [number, number] => {
    const r = perPair(xs, base);
    return [percentile(r, 25), percentile(r, 75)];
  };
  // The simulated AMT service alone, fed as under the ME's window, against the same baseline: no
  // LMS can do better on this test bed, so a target past it is out of reach here, not missed by lms.
  const bound = { mbps: pairedRatio(up.alone, up.direct), cpu: pairedRatio(up.aloneCpu, up.directCpu) };
  extra['uploadBound'] = { ratio: bound.mbps, cpuRatio: bound.cpu };
  for (const [dir, d] of [['download', down], ['upload', up]] as const) {
    const ratio = pairedRatio(d.lms, d.direct);
    const unreachable = dir === 'upload' && bound.mbps < 0.6;
    rows.push({ name: `${dir} MB/s (1 channel)`, lms: median(d.lms), baseline: median(d.direct), ratio, spread: quartiles(d.lms, d.direct), unit: 'MB/s', target: '>= 60% of raw', met: ratio >= 0.6, unreachable });
    const cpuRatio = pairedRatio(d.lmsCpu, d.directCpu);
    const cpuUnreachable = dir === 'upload' && bound.cpu > 2;
    rows.push({ name: `${dir} CPU s/MB`, lms: median(d.lmsCpu), baseline: median(d.directCpu), ratio: cpuRatio, spread: quartiles(d.lmsCpu, d.directCpu), unit: 's/MB', target: '<= 2x raw', met: cpuRatio <= 2, unreachable: cpuUnreachable });
  }
  extra['throughputRuns'] = { download: down, upload: up };
  for (const [dir, d] of [['download', down], ['upload', up]] as const) {
    rows.push({ name: `  bare socket ${dir} MB/s`, lms: median(d.lms), baseline: median(d.bare), ratio: pairedRatio(d.lms, d.bare), unit: 'MB/s' });
    rows.push({ name: `  bare socket ${dir} CPU s/MB`, lms: median(d.lmsCpu), baseline: median(d.bareCpu), ratio: pairedRatio(d.lmsCpu, d.bareCpu), unit: 's/MB' });
  }
  rows.push({ name: '  upload bound: service alone', lms: median(up.alone), baseline: median(up.direct), ratio: bound.mbps, spread: quartiles(up.alone, up.direct), unit: 'MB/s' });
  rows.push({ name: '  upload bound: its CPU', lms: median(up.aloneCpu), baseline: median(up.directCpu), ratio: bound.cpu, spread: quartiles(up.aloneCpu, up.directCpu), unit: 's/MB' });
  rows.push({ name: '  upload: lms / service alone', lms: median(up.lms), baseline: median(up.alone), ratio: pairedRatio(up.lms, up.alone), unit: 'MB/s' });

  // HEAD latency: a fresh connection per request, as curl -I and AMT discovery do.
  const lat = { lms: [] as number[], direct: [] as number[] };
  for (let i = 0; i < 50; i++) await headLatency(lmsPort), await headLatency(directPort); // warm up
  // 2,000 each: p99 is then the 20th worst, not the 5th, and moves less with the machine's noise.
  for (let i = 0; i < 2000; i++) {
    lat.direct.push(await headLatency(directPort));
    lat.lms.push(await headLatency(lmsPort));
  }
  const p50 = percentile(lat.lms, 50) - percentile(lat.direct, 50);
  const p99 = percentile(lat.lms, 99) - percentile(lat.direct, 99);
  rows.push({ name: 'HEAD p50 µs', lms: percentile(lat.lms, 50), baseline: percentile(lat.direct, 50), unit: 'µs', target: '<= direct + 150 µs', met: p50 <= 150 });
  rows.push({ name: 'HEAD p99 µs', lms: percentile(lat.lms, 99), baseline: percentile(lat.direct, 99), unit: 'µs', target: '<= direct + 1000 µs', met: p99 <= 1000 });

  // 1,000 clients at once over 8 slots.
  const t0 = performance.now();
  const waits = await Promise.all(Array.from({ length: 1000 }, () => headLatency(lmsPort).then((us) => us / 1000, () => -1)));
  const served = waits.filter((w) => w >= 0).length;
  const peakRssMb = memKb(daemon.proc.pid!, 'VmHWM') / 1024;
  extra['concurrency'] = { clients: 1000, served, longestWaitMs: Math.max(...waits), totalMs: performance.now() - t0 };
  rows.push({ name: '1,000 clients served', lms: served, unit: 'clients', target: 'all 1000', met: served === 1000 });
  rows.push({ name: '1,000 clients: longest wait', lms: Math.max(...waits), unit: 'ms' });
  rows.push({ name: 'peak RSS (whole run)', lms: peakRssMb, unit: 'MB', target: '<= 150 MB', met: peakRssMb <= 150 });
  rows.push({ name: 'idle RSS', lms: idleRssMb, unit: 'MB', target: '<= 60 MB', met: idleRssMb <= 60 });
  await sleep(IDLE_SETTLE_MS);
  const simIdle = await idleCost(daemon.proc.pid!, IDLE_MS);
  extra['simulatedIdle'] = simIdle;
  rows.push({ name: 'idle wake-ups (--simulate)', lms: simIdle.wakeupsPerSecond, unit: '/s', target: '<= 1', met: simIdle.wakeupsPerSecond <= 1 });
  rows.push({ name: 'idle CPU (--simulate)', lms: simIdle.cpuMsPerSecond, unit: 'ms/s', target: '<= 0.1', met: simIdle.cpuMsPerSecond <= 0.1 });
  await daemon.stop();

  // Start to listening: median of several starts.
  const starts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const d = await startDaemon(await freePort());
    starts.push(d.startMs);
    await d.stop();
  }
  rows.push({ name: 'start to listening', lms: median(starts), unit: 'ms', target: '<= 300 ms', met: median(starts) <= 300 });

  // The advertised window: download throughput per window size (MTU 4096).
  const windows: Record<string, number> = {};
  for (const w of [4096, 16384, 32768, 65536, 131072]) {
    const port = await freePort();
    const d = await startDaemon(port, ['--window', String(w)]);
    await httpGet(port, `/data/${20 * MB}`); // warm-up: JIT and buffers, not measured
    const xs: number[] = [];
    for (let i = 0; i < 3; i++) xs.push((await timed(d.proc.pid!, 20 * MB, () => httpGet(port, `/data/${20 * MB}`))).mbps);
    windows[w] = median(xs);
    await d.stop();
  }
  extra['windowSweepMBps'] = windows;

  // The simulated ME's window: upload throughput per window it advertises. Its default (4096)
  // allows one message per round trip; the real ME's window is undocumented.
  const meWindows: Record<string, number> = {};
  for (const w of [4096, 16384, 65536]) {
    const port = await freePort();
    const d = await startDaemon(port, ['--sim-window', String(w)]);
    await httpPost(port, 20 * MB); // warm-up
    const xs: number[] = [];
    for (let i = 0; i < 3; i++) xs.push((await timed(d.proc.pid!, 20 * MB, () => httpPost(port, 20 * MB))).mbps);
    meWindows[w] = median(xs);
    await d.stop();
  }
  extra['meWindowUploadSweepMBps'] = meWindows;

  // The emulated device path, where it can run.
  const why = emulatorUnavailable();
  if (why) extra['device'] = { skipped: why };
  else {
    const port = await freePort();
    const me = new SimulatedMe({ ports: [port, await freePort()], httpPorts: [port] });
    const emu = await startEmulatedMei(me);
    const d = await startLmsChild(['--device', emu.devicePath], port);
    await sleep(300);
    // The daemon's own CPU (ms per MB): on this path the client's share says nothing about lms.
    const xs: number[] = [];
    const downCpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await timed(d.proc.pid!, 20 * MB, () => httpGet(port, `/data/${20 * MB}`), true);
      xs.push(r.mbps);
      downCpu.push(r.cpuPerMb * 1000);
    }
    const ups: number[] = [];
    const upCpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await timed(d.proc.pid!, 10 * MB, () => httpPost(port, 10 * MB), true);
      ups.push(r.mbps);
      upCpu.push(r.cpuPerMb * 1000);
    }
    const lats: number[] = [];
    const c0 = cpuSeconds(d.proc.pid!);
    for (let i = 0; i < 200; i++) lats.push(await headLatency(port));
    const headCpuUs = ((cpuSeconds(d.proc.pid!) - c0) / 200) * 1e6;
    // Idle with the device connected, then the first request after it, as an administrator's
    // `curl -I` meets it.
    await sleep(IDLE_SETTLE_MS);
    const idle = await idleCost(d.proc.pid!, IDLE_MS);
    const afterIdle = [await headLatency(port)];
    for (let i = 0; i < 2; i++) {
      await sleep(2000);
      afterIdle.push(await headLatency(port));
    }
    // The same HTTP service direct after as long a rest: what a cold request costs without lms.
    await sleep(IDLE_MS);
    const directAfterIdle = await headLatency(directPort);
    extra['device'] = { downloadMBps: median(xs), downloadCpuMsPerMb: median(downCpu), uploadMBps: median(ups), uploadCpuMsPerMb: median(upCpu), headP50us: percentile(lats, 50), headP99us: percentile(lats, 99), headCpuUs, headAfterIdleUs: afterIdle, directHeadAfterIdleUs: directAfterIdle, idle };
    rows.push({ name: 'emulated /dev/mei0 download', lms: median(xs), baseline: median(down.direct), unit: 'MB/s' });
    rows.push({ name: '  CPU per MB down (lms alone)', lms: median(downCpu), unit: 'ms' });
    rows.push({ name: 'emulated /dev/mei0 upload', lms: median(ups), baseline: median(up.direct), unit: 'MB/s' });
    rows.push({ name: '  CPU per MB up (lms alone)', lms: median(upCpu), unit: 'ms' });
    rows.push({ name: 'emulated /dev/mei0 HEAD p50', lms: percentile(lats, 50), baseline: percentile(lat.direct, 50), unit: 'µs' });
    rows.push({ name: '  HEAD p99', lms: percentile(lats, 99), baseline: percentile(lat.direct, 99), unit: 'µs' });
    rows.push({ name: '  CPU per HEAD (lms alone)', lms: headCpuUs, unit: 'µs' });
    rows.push({ name: `  HEAD after ${IDLE_MS / 1000} s idle, then 2 s`, lms: median(afterIdle), baseline: percentile(lats, 50), unit: 'µs', target: 'as back to back' });
    rows.push({ name: `  direct HEAD after ${IDLE_MS / 1000} s idle`, lms: directAfterIdle, baseline: percentile(lat.direct, 50), unit: 'µs' });
    rows.push({ name: '  idle wake-ups (device up)', lms: idle.wakeupsPerSecond, unit: '/s', target: '<= 1', met: idle.wakeupsPerSecond <= 1 });
    rows.push({ name: '  idle CPU (device up)', lms: idle.cpuMsPerSecond, unit: 'ms/s', target: '<= 0.1', met: idle.cpuMsPerSecond <= 0.1 });
    await d.stop();
    await emu.stop();
    me.close();
  }
  await raw.stop();
  await direct.stop();

  const fmt = (n: number | undefined) => (n === undefined ? '' : n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3));
  console.log(`\nlms-rx benchmark: ${RUNS} runs, ${SIZE / MB} MB transfers, medians (throughput ratios: median of per-pair ratios); baseline = the simulated AMT's HTTP service over a plain TCP connection (quartiles: of the per-pair ratios; indented rows: a bare socket, no HTTP; upload bound: the simulated AMT service alone, fed one 4 KB message per turn as under the ME's window, which is as far as any LMS could go here)\n`);
  console.log(`${'measure'.padEnd(30)} ${'lms'.padStart(10)} ${'baseline'.padStart(10)} ${'ratio'.padStart(7)} ${'quartiles'.padEnd(11)} unit   target`);
  for (const r of rows) {
    const ratio = r.ratio !== undefined ? r.ratio.toFixed(2) : r.baseline ? (r.lms / r.baseline).toFixed(2) : '';
    const verdict = r.met === undefined ? '' : r.met ? 'met' : r.unreachable ? 'MISSED (out of reach here: see upload bound)' : 'MISSED';
    const spread = r.spread ? `[${r.spread[0].toFixed(2)}-${r.spread[1].toFixed(2)}]` : '';
    console.log(`${r.name.padEnd(30)} ${fmt(r.lms).padStart(10)} ${fmt(r.baseline).padStart(10)} ${ratio.padStart(7)} ${spread.padEnd(11)} ${r.unit.padEnd(6)} ${r.target ?? ''} ${verdict}`);
  }
  console.log(`\nwindow sweep (download MB/s by the window lms advertises): ${JSON.stringify(windows)}`);
  console.log(`ME window sweep (upload MB/s by the window the simulated ME advertises): ${JSON.stringify(meWindows)}`);
  console.log(`device: ${JSON.stringify(extra['device'])}`);
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), runs: RUNS, sizeBytes: SIZE, rows, ...extra }, null, 2));
  console.log(`\nwritten to ${file}`);
};

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
