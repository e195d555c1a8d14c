/** The processes a benchmark measures: the daemon, the baselines, the service alone; and the timed transfer. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { sendBytes } from './clients.js';
import { cpuSeconds, selfCpu } from './procStats.js';
import { CLI, NODE_FLAGS } from '../test/support/daemon.js';
import { freePort } from '../test/support/harness.js';

export const SERVERS = resolve('dist/bench/servers.js');
const CEILING = resolve('dist/bench/serviceCeiling.js');
export const MB = 1024 * 1024;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const canConnect = (port: number): Promise<boolean> =>
  new Promise((res) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });

export interface Child {
  readonly proc: ChildProcess;
  readonly startMs: number;
  stop(): Promise<void>;
}

export const startChild = async (args: string[], port: number): Promise<Child> => {
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
export type Rate = { mbps: number; cpuPerMb: number };

/** The service-alone child (bench/serviceCeiling.ts): one measured POST per request. */
export const startCeiling = (): { measure(bytes: number): Promise<Rate>; stop(): void } => {
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
export const startLmsChild = async (args: string[], port: number, logLevel = 'warn'): Promise<Child> => {
  const dir = mkdtempSync(join(tmpdir(), 'lms-bench-'));
  const child = await startChild([...NODE_FLAGS, CLI, 'run', ...args, '--log-level', logLevel, '--control-socket', join(dir, 'lms.sock')], port);
  return { ...child, stop: () => child.stop().then(() => rmSync(dir, { recursive: true, force: true })) };
};

export const startDaemon = async (port: number, extra: string[] = []): Promise<Child> =>
  startLmsChild(['--simulate', '--sim-ports', `${port},${await freePort()}`, ...extra], port);

export const rawExchange = (port: number, verb: 'GET' | 'PUT', bytes: number): Promise<number> =>
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
export const timed = async (serverPid: number, bytes: number, transfer: () => Promise<unknown>, serverOnly = false): Promise<Rate> => {
  const used = (): number => cpuSeconds(serverPid) + (serverOnly ? 0 : selfCpu());
  const c0 = used();
  const t0 = performance.now();
  await transfer();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = used() - c0;
  return { mbps: bytes / MB / seconds, cpuPerMb: cpu / (bytes / MB) };
};
