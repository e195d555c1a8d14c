/** Drives `lms` as a user does: a spawned process, its JSON log lines, signals, exit codes. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import './noSystemBus.js';

/** The `lms` command as package.json's bin names it: the bundle users run, not tsc's module tree. */
export const CLI = resolve((JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { lms: string } }).bin.lms);
/** The node flags a bundle's shebang gives it (`#!/usr/bin/env -S node <flags>`), for a start that measures what ships. */
export const shebangFlags = (bundle: string): readonly string[] =>
  /^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(bundle, 'utf8').slice(0, 200))?.[1]?.split(' ') ?? [];
export const NODE_FLAGS = shebangFlags(CLI);

export interface Daemon {
  readonly proc: ChildProcess;
  readonly controlSocket: string;
  readonly dir: string;
  log(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

/** `lms run` with `args`; `wrap` runs it through another command (`ip netns exec NS`). */
export const startDaemon = async (args: string[], wrap: readonly string[] = []): Promise<Daemon> => {
  const dir = mkdtempSync(join(tmpdir(), 'lms-cli-'));
  const controlSocket = join(dir, 'lms.sock');
  const command = [...wrap, process.execPath, CLI, 'run', '--control-socket', controlSocket, ...args];
  const proc = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const d: Daemon = {
    proc,
    controlSocket,
    dir,
    log: () => out,
    async waitFor(pattern, ms = 10_000) {
      for (let t = 0; t < ms && !pattern.test(out); t += 20) {
        if (proc.exitCode !== null) throw new Error(`lms exited with ${proc.exitCode} before ${pattern}:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      if (!pattern.test(out)) throw new Error(`no ${pattern} in the log within ${ms} ms:\n${out}`);
    },
    async stop(signal = 'SIGTERM') {
      const t0 = Date.now();
      if (proc.exitCode === null) proc.kill(signal);
      const code = await Promise.race([exited, new Promise<null>((res) => setTimeout(() => res(null), 8000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      return { code, ms: Date.now() - t0 };
    },
  };
  return d;
};

/** Runs `lms <args>` to completion. */
export const lms = (args: string[], timeout = 15_000): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { timeout }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
