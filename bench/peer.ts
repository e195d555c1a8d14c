/**
 * Another LMS beside lms, on the same kind of ME: `npm run bench -- --peer PATH` (Intel LMS's
 * binary; bench/README.md says how to build it). Each daemon in turn serves a simulated ME of
 * its own behind the emulated /dev/mei0, and is measured the same way (bench/README.md lists
 * what). Intel LMS opens /dev/mei0 itself, so it runs in a mount namespace of its own
 * whose /dev holds the emulated device under that name (and nothing of the host's but null,
 * zero, full, random, urandom and tty), and a /dev/log of its own (it logs to syslog, and does
 * not come up without one: a python3 datagram sink stands in). Its settings go to a folder of
 * the bench's (SNAP_COMMON), not to the machine's /etc/lms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headLatency, httpGet, httpPost } from './clients.js';
import { MB, SERVERS, sleep, startChild, startLmsChild, timed } from './processes.js';
import { freePort } from '../test/support/harness.js';
import { contextSwitches, cpuSeconds, median, memKb, percentile, userSystemSeconds } from './procStats.js';
import type { Row } from './report.js';
import { SimulatedMe } from '../src/simulator.js';
import { startEmulatedMei } from '../test/tools/meiEmulator.js';

/** AMT's own port: Intel LMS waits for 16992 or 16993, and the simulated ME's default forwards it. */
const PORT = 16992;
const RSS_AFTER_MS = 15_000;
/** The memory scenario of #27: 300 HEADs and 30 MB down, then 30 s. */
const LOAD_HEADS = 300;
const LOAD_DOWNLOADS = 3;
const LOAD_MB = 10;
const SETTLE_AFTER_LOAD_MS = 30_000;
/** Measured HEADs, each a new connection, after the load above warmed both daemons up. */
const HEADS = 1000;
const HEAD_TIMEOUT_MS = 2000;
/**
 * HEADs after the measured ones, before they are measured again: a daemon that runs for weeks is
 * measured warm too. V8 was still compiling hot functions (TurboFan) through lms's first few
 * thousand HEADs: 29 compiles per 250 HEADs at first, 9 after 2,250 (--trace-opt).
 */
const WARM_UP_HEADS = Number(process.env['BENCH_WARM_HEADS'] ?? 10_000);
const DOWNLOAD_IDLE_TIMEOUT_MS = 5000;
const ROUNDS = Number(process.env['BENCH_PEER_ROUNDS'] ?? 2);
const SOAK_MS = Number(process.env['BENCH_SOAK_S'] ?? 60) * 1000;

export interface DaemonFigures {
  readonly rssMbAfter15s: number;
  /** RssAnon: without the binary's and libraries' pages, which other processes share. */
  readonly anonMbAfter15s: number;
  readonly rssMbAfterLoad: number;
  readonly headP50us: number;
  readonly headP99us: number;
  /** The same 1,000 HEADs again after WARM_UP_HEADS more. */
  readonly warmHeadCpuUs: number;
  readonly warmHeadUserUs: number;
  readonly warmHeadP50us: number;
  readonly warmHeadP99us: number;
  readonly headCpuUs: number;
  readonly headUserUs: number;
  readonly headSystemUs: number;
  readonly headSwitches: number;
  /** HEADs given up after HEAD_TIMEOUT_MS: they count in CPU per HEAD, not in the percentiles. */
  readonly unanswered: number;
  /** Downloads of the load that completed, and their speed and the daemon's CPU (NaN when none did). */
  readonly downloadsComplete: number;
  readonly downloadMBps: number;
  readonly downloadCpuMsPerMb: number;
  /**
   * The soak's work per kind: requests completed and failed (or timed out); RSS at its end, then
   * every 10 s of idle for 60 s.
   */
  readonly soak: SoakCounts;
  readonly rssMbSoakEnd: number;
  readonly rssMbSoakIdle: readonly number[];
}

/** A syslog socket that keeps nothing: a datagram sink at `path`. */
const logSink = (path: string): ChildProcess =>
  spawn(
    'python3',
    [
      '-c',
      'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nf=open(sys.argv[1]+".txt","ab",0)\nwhile True: f.write(s.recv(65536)+b"\\n")',
      path,
    ],
    {
      stdio: 'ignore',
    },
  );

/** Intel LMS on `devicePath` as its /dev/mei0, in a mount namespace of its own. Resolves once it answers on 16992. */
const startPeer = async (binary: string, devicePath: string): Promise<{ proc: ChildProcess; stop(): Promise<void> }> => {
  const dir = mkdtempSync(join(tmpdir(), 'lms-peer-'));
  const sink = logSink(join(dir, 'log'));
  for (let i = 0; i < 50 && !existsSync(join(dir, 'log')); i++) await sleep(20);
  const script = [
    'set -e',
    'mkdir -p /run/lms-bench-hostdev',
    'mount --bind /dev /run/lms-bench-hostdev',
    'mount -t tmpfs -o mode=755 tmpfs /dev',
    'for n in null zero full random urandom tty; do touch /dev/$n; mount --bind /run/lms-bench-hostdev/$n /dev/$n; done',
    `touch /dev/mei0; mount --bind '${devicePath}' /dev/mei0`,
    `touch /dev/log; mount --bind '${join(dir, 'log')}' /dev/log`,
    `mkdir -p '${join(dir, 'settings')}'; SNAP_COMMON='${join(dir, 'settings')}' exec '${binary}'`,
  ].join('\n');
  const log = openSync(join(dir, 'peer.log'), 'w');
  const proc = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', log, log] });
  const stop = (): Promise<void> =>
    new Promise<void>((res) => {
      const done = (): void => {
        sink.kill();
        rmSync(dir, { recursive: true, force: true });
        res();
      };
      if (proc.exitCode !== null || proc.signalCode !== null) return done();
      proc.once('exit', done);
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
    });
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) break;
    const up = await httpGet(PORT, '/').then(
      () => true,
      () => false,
    );
    if (up) return { proc, stop };
    await sleep(100);
  }
  const said = readFileSync(join(dir, 'peer.log'), 'utf8').split('\n').slice(-30).join('\n');
  await stop();
  throw new Error(`the peer did not serve ${PORT} within 30 s; it said:\n${said}`);
};

/**
 * A mixed soak of SOAK_MS (#27 asks 10 minutes: BENCH_SOAK_S=600): eight clients at once, five
 * making HEADs, two downloading 2 MB, one uploading 1 MB, each on a new connection, without a
 * pause; then RSS at its end and after 60 s of idle, sampled every 10 s.
 */
const SOAK_KINDS = ['heads', 'downloads', 'uploads'] as const;
type SoakKind = (typeof SOAK_KINDS)[number];
type SoakCounts = Record<SoakKind, { completed: number; failed: number }>;

const mixedSoak = async (pid: number): Promise<{ soak: SoakCounts; rssMbSoakEnd: number; rssMbSoakIdle: number[] }> => {
  const end = Date.now() + SOAK_MS;
  // Per kind, because a daemon that moves bulk data faster leaves the shared ME less time for HEADs.
  const soak = Object.fromEntries(SOAK_KINDS.map((kind) => [kind, { completed: 0, failed: 0 }])) as SoakCounts;
  const client = (kind: SoakKind, work: () => Promise<unknown>) => async (): Promise<void> => {
    while (Date.now() < end)
      await work().then(
        () => soak[kind].completed++,
        () => soak[kind].failed++,
      );
  };
  const heads = client('heads', () => headLatency(PORT, HEAD_TIMEOUT_MS));
  const down = client('downloads', () => httpGet(PORT, `/data/${2 * MB}`, DOWNLOAD_IDLE_TIMEOUT_MS));
  const up = client('uploads', () => httpPost(PORT, MB, DOWNLOAD_IDLE_TIMEOUT_MS));
  await Promise.all([heads, heads, heads, heads, heads, down, down, up].map((run) => run()));
  const rssMbSoakEnd = memKb(pid, 'VmRSS') / 1024;
  const rssMbSoakIdle: number[] = [];
  for (let i = 0; i < 6; i++) {
    await sleep(10_000);
    rssMbSoakIdle.push(memKb(pid, 'VmRSS') / 1024);
  }
  return { soak, rssMbSoakEnd, rssMbSoakIdle };
};

/** The figures of the daemon `pid` serving PORT, started at `startedAt`. */
const measure = async (pid: number, startedAt: number): Promise<DaemonFigures> => {
  const say = (what: string): void => void (process.env['BENCH_VERBOSE'] && console.error(`${new Date().toISOString()} ${pid}: ${what}`));
  say('started');
  await sleep(Math.max(0, startedAt + RSS_AFTER_MS - Date.now()));
  const rssMbAfter15s = memKb(pid, 'VmRSS') / 1024;
  const anonMbAfter15s = memKb(pid, 'RssAnon') / 1024;
  say('load');
  for (let i = 0; i < LOAD_HEADS; i++) await headLatency(PORT, HEAD_TIMEOUT_MS).catch(() => undefined);
  const mbps: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < LOAD_DOWNLOADS; i++) {
    // A download that loses bytes never ends (Intel LMS drops data a busy client cannot take at once): given up when idle.
    const r = await timed(pid, LOAD_MB * MB, () => httpGet(PORT, `/data/${LOAD_MB * MB}`, DOWNLOAD_IDLE_TIMEOUT_MS), true).catch(() => undefined);
    if (r) {
      mbps.push(r.mbps);
      cpuMs.push(r.cpuPerMb * 1000);
    }
  }
  say(`downloads: ${mbps.length}`);
  await sleep(SETTLE_AFTER_LOAD_MS);
  say('heads');
  const rssMbAfterLoad = memKb(pid, 'VmRSS') / 1024;
  const lats: number[] = [];
  let unanswered = 0;
  const c0 = cpuSeconds(pid);
  const us0 = userSystemSeconds(pid);
  const s0 = contextSwitches(pid);
  for (let i = 0; i < HEADS; i++)
    await headLatency(PORT, HEAD_TIMEOUT_MS).then(
      (us) => lats.push(us),
      () => unanswered++,
    );
  const us1 = userSystemSeconds(pid);
  const headCpuUs = ((cpuSeconds(pid) - c0) / HEADS) * 1e6;
  const headSwitches = (contextSwitches(pid) - s0) / HEADS;
  say(`heads done, ${unanswered} unanswered; warming up`);
  for (let i = 0; i < WARM_UP_HEADS; i++) await headLatency(PORT, HEAD_TIMEOUT_MS).catch(() => undefined);
  const warmLats: number[] = [];
  const wc0 = cpuSeconds(pid);
  const wus0 = userSystemSeconds(pid);
  for (let i = 0; i < HEADS; i++)
    await headLatency(PORT, HEAD_TIMEOUT_MS).then(
      (us) => void warmLats.push(us),
      () => undefined,
    );
  const wus1 = userSystemSeconds(pid);
  const warmHeadCpuUs = ((cpuSeconds(pid) - wc0) / HEADS) * 1e6;
  say('warm heads done; soak');
  const soak = await mixedSoak(pid);
  say('done');
  return {
    ...soak,
    rssMbAfter15s,
    anonMbAfter15s,
    rssMbAfterLoad,
    headP50us: percentile(lats, 50),
    headP99us: percentile(lats, 99),
    warmHeadCpuUs,
    warmHeadUserUs: ((wus1.user - wus0.user) / HEADS) * 1e6,
    warmHeadP50us: percentile(warmLats, 50),
    warmHeadP99us: percentile(warmLats, 99),
    headCpuUs,
    headUserUs: ((us1.user - us0.user) / HEADS) * 1e6,
    headSystemUs: ((us1.system - us0.system) / HEADS) * 1e6,
    headSwitches,
    unanswered,
    downloadsComplete: mbps.length,
    downloadMBps: mbps.length ? median(mbps) : Number.NaN,
    downloadCpuMsPerMb: cpuMs.length ? median(cpuMs) : Number.NaN,
  };
};

/**
 * A Node.js server that only accepts, reads, answers and closes (bench/servers.ts `floor`): CPU
 * per HEAD measured as the daemons' is. Not its memory: servers.ts loads the simulated AMT too.
 */
const nodeFloor = async (): Promise<{ headCpuUs: number; headUserUs: number; headSystemUs: number }> => {
  const port = await freePort();
  const c = await startChild([SERVERS, 'floor', String(port)], port);
  try {
    const pid = c.proc.pid!;
    for (let i = 0; i < LOAD_HEADS; i++) await headLatency(port, HEAD_TIMEOUT_MS);
    const c0 = cpuSeconds(pid);
    const us0 = userSystemSeconds(pid);
    for (let i = 0; i < HEADS; i++) await headLatency(port, HEAD_TIMEOUT_MS);
    const us1 = userSystemSeconds(pid);
    return {
      headCpuUs: ((cpuSeconds(pid) - c0) / HEADS) * 1e6,
      headUserUs: ((us1.user - us0.user) / HEADS) * 1e6,
      headSystemUs: ((us1.system - us0.system) / HEADS) * 1e6,
    };
  } finally {
    await c.stop();
  }
};

/** The figures that are one number each. */
type ScalarFigure = { [K in keyof DaemonFigures]: DaemonFigures[K] extends number ? K : never }[keyof DaemonFigures];

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * lms and the peer in turn, ROUNDS times (alternating, so drift hits both), each on a fresh
 * simulated ME behind the emulated device. Rows: the means over the rounds, the peer as baseline.
 */
export const peerComparison = async (
  binary: string,
): Promise<{ rows: Row[]; lms: DaemonFigures[]; peer: DaemonFigures[]; floor: Awaited<ReturnType<typeof nodeFloor>> }> => {
  const run = async (start: (devicePath: string) => Promise<{ pid: number; stop(): Promise<void> }>): Promise<DaemonFigures> => {
    const me = new SimulatedMe({});
    const emu = await startEmulatedMei(me);
    const startedAt = Date.now();
    const d = await start(emu.devicePath);
    try {
      return await measure(d.pid, startedAt);
    } finally {
      await d.stop();
      await emu.stop();
      me.close();
    }
  };
  const lms: DaemonFigures[] = [];
  const peer: DaemonFigures[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    lms.push(
      await run(async (devicePath) => {
        // At its default log level, as administrators run it (its per-channel lines cost what they cost), as the peer runs at its own.
        const c = await startLmsChild(['--device', devicePath], PORT, 'info');
        return { pid: c.proc.pid!, stop: c.stop };
      }),
    );
    peer.push(
      await run(async (devicePath) => {
        const p = await startPeer(binary, devicePath);
        return { pid: p.proc.pid!, stop: p.stop };
      }),
    );
  }
  const floor = await nodeFloor();
  const floorRow = (name: string, value: number, peerValue: number, unit: string): Row => ({ name, lms: value, baseline: peerValue, unit });
  const row = (name: string, key: ScalarFigure, unit: string, target?: string, met?: (lms: number, peer: number) => boolean): Row => {
    const [l, p] = [mean(lms.map((f) => f[key])), mean(peer.map((f) => f[key]))];
    return { name, lms: l, baseline: p, unit, ...(target && met ? { target, met: met(l, p) } : {}) };
  };
  const soakRow = (name: string, read: (f: DaemonFigures) => number, unit: string, target?: string, met?: (lms: number) => boolean): Row => {
    const l = mean(lms.map(read));
    return {
      name,
      lms: l,
      baseline: mean(peer.map(read)),
      unit,
      ...(target && met ? { target, met: met(l) } : {}),
    };
  };
  const peerMean = (key: ScalarFigure): number => mean(peer.map((f) => f[key]));
  return {
    lms,
    peer,
    floor,
    rows: [
      row('peer: RSS 15 s after start', 'rssMbAfter15s', 'MB', '<= 45 MB', (l) => l <= 45),
      row('  of which its own (RssAnon)', 'anonMbAfter15s', 'MB'),
      row('peer: RSS 30 s after 300 HEADs, 30 MB', 'rssMbAfterLoad', 'MB', '<= 55 MB', (l) => l <= 55),
      row('peer: CPU per HEAD', 'headCpuUs', 'µs', '<= peer', (l, p) => l <= p),
      row('  user', 'headUserUs', 'µs', '<= 150 µs', (l) => l <= 150),
      row('  system', 'headSystemUs', 'µs'),
      row('  context switches', 'headSwitches', '/HEAD'),
      row('peer: HEAD p50', 'headP50us', 'µs', '<= peer', (l, p) => l <= p),
      row('peer: HEAD p99', 'headP99us', 'µs', '<= 2000 µs', (l) => l <= 2000),
      row(`peer: after ${WARM_UP_HEADS} more HEADs: CPU per HEAD`, 'warmHeadCpuUs', 'µs', '<= peer', (l, p) => l <= p),
      row('  user', 'warmHeadUserUs', 'µs', '<= 150 µs', (l) => l <= 150),
      row('  HEAD p50', 'warmHeadP50us', 'µs', '<= peer', (l, p) => l <= p),
      row('  HEAD p99', 'warmHeadP99us', 'µs', '<= 2000 µs', (l) => l <= 2000),
      row(`  HEADs unanswered in ${HEAD_TIMEOUT_MS / 1000} s`, 'unanswered', `of ${HEADS}`),
      soakRow(`peer: RSS at the end of a ${SOAK_MS / 1000} s soak`, (f) => f.rssMbSoakEnd, 'MB'),
      soakRow(
        '  after 60 s of idle',
        (f) => f.rssMbSoakIdle.at(-1) ?? Number.NaN,
        'MB',
        '< 60 MB',
        (l) => l < 60,
      ),
      ...SOAK_KINDS.flatMap((kind) => [
        soakRow(`  the soak: ${kind} completed`, (f) => f.soak[kind].completed, 'requests'),
        soakRow(`  the soak: ${kind} failed`, (f) => f.soak[kind].failed, 'requests'),
      ]),
      row(`peer: ${LOAD_MB} MB downloads complete`, 'downloadsComplete', `of ${LOAD_DOWNLOADS}`),
      row('peer: download', 'downloadMBps', 'MB/s'),
      row('  CPU per MB down', 'downloadCpuMsPerMb', 'ms'),
      // What any Node.js LMS pays before doing anything of an LMS's (lms column: the floor server).
      floorRow('Node floor: CPU per HEAD', floor.headCpuUs, peerMean('headCpuUs'), 'µs'),
      floorRow('  user', floor.headUserUs, peerMean('headUserUs'), 'µs'),
      floorRow('  system', floor.headSystemUs, peerMean('headSystemUs'), 'µs'),
    ],
  };
};
