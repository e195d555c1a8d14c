/**
 * Test tooling shared by the emulated devices (mei-emu: /dev/mei0; wdt-emu: AMT's watchdog): each
 * is a small C server on FUSE, built on demand, started until it says "ready", and stopped
 * leaving no mount behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A tool's source folder under test/tools (tsc builds this file into dist/test/tools). */
export const toolDir = (name: string): string => resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/tools', name);

/** Why a FUSE tool cannot run here, or undefined when it can (building it if needed). */
export const fuseToolUnavailable = (sourceDir: string, binary: string): string | undefined => {
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing (no FUSE in this kernel or container)';
  if (process.getuid?.() !== 0) return 'mounting an emulated device needs root';
  try {
    execFileSync('make', ['-s', '-C', sourceDir], { stdio: 'pipe' });
  } catch (err) {
    const out = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    return `${binary} does not build (apt-get install -y libfuse3-dev fuse3 pkg-config gcc): ${out.slice(0, 300)}`;
  }
  return undefined;
};

/**
 * For a test that needs an emulated device: skips it with the reason where it cannot run, except
 * on CI, where a skip would hide the production device path, so it fails.
 */
export const needFuseTool = (ctx: Mocha.Context, why: string | undefined): void => {
  if (!why) return;
  if (process.env['CI']) throw new Error(`the emulated device cannot run in CI: ${why}`);
  console.log(`      skipped: ${why}`);
  ctx.skip();
};

/** Starts `binary` and resolves once it says "ready" on stderr; rejects if it exits first. */
export const startFuseServer = async (binary: string, args: readonly string[], stdout: 'ignore' | 'pipe' = 'ignore'): Promise<ChildProcess> => {
  const child = spawn(binary, [...args], { stdio: ['ignore', stdout, 'pipe'] });
  await new Promise<void>((res, rej) => {
    let err = '';
    const timer = setTimeout(() => rej(new Error(`${binary} did not start: ${err}`)), 5000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('ready')) {
        clearTimeout(timer);
        res();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${binary} exited with ${code}: ${err}`));
    });
  });
  return child;
};

/** SIGTERM, SIGKILL after 3 s, and a lazy unmount (a killed server leaves a stale mount). */
export const stopFuseServer = async (child: ChildProcess, mountPoint: string): Promise<void> => {
  const exited = new Promise<void>((res) => (child.exitCode !== null || child.signalCode !== null ? res() : child.once('exit', () => res())));
  child.kill('SIGTERM');
  const clean = await Promise.race([exited.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 3000))]);
  if (!clean) {
    child.kill('SIGKILL');
    await exited;
  }
  try {
    execFileSync('fusermount3', ['-u', '-z', mountPoint], { stdio: 'ignore' });
  } catch {
    // not mounted any more
  }
};
