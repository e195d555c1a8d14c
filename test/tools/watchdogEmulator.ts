/**
 * Test tooling: an emulated Linux watchdog device (wdt-emu/wdt_emu.c on FUSE), AMT's by default:
 * identity iamt_wdt, mei_wdt's options and timeout range. Every open, ioctl, write and release
 * it sees is a line in `lines()` (the C file lists them).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuseToolUnavailable, needFuseTool, startFuseServer, stopFuseServer, toolDir } from './fuseServer.js';

const SOURCE_DIR = toolDir('wdt-emu');

/** mei_wdt's options: WDIOF_KEEPALIVEPING | WDIOF_ALARMONLY | WDIOF_SETTIMEOUT (no magic close: a close stops it). */
export const MEI_WDT_OPTIONS = 0x8480;
export const WDIOF_MAGICCLOSE = 0x0100;

export const watchdogEmulatorUnavailable = (): string | undefined => fuseToolUnavailable(SOURCE_DIR, 'wdt_emu');
export const needWatchdogEmulator = (ctx: Mocha.Context): void => needFuseTool(ctx, watchdogEmulatorUnavailable());

export interface EmulatedWatchdog {
  /** The device node: MOUNTPOINT/NAME. */
  readonly path: string;
  lines(): string[];
  /** Resolves with the first line matching `pattern` (seen already or to come). */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface WatchdogShape {
  readonly name?: string;
  readonly identity?: string;
  readonly options?: number;
  /** The timeouts it takes, in seconds (mei_wdt's: 120 to 65535). */
  readonly minTimeoutS?: number;
  readonly maxTimeoutS?: number;
}

export const startEmulatedWatchdog = async (shape: WatchdogShape = {}): Promise<EmulatedWatchdog> => {
  const dir = mkdtempSync(join(tmpdir(), 'wdt-emu-'));
  const mountPoint = join(dir, 'mnt');
  mkdirSync(mountPoint);
  const name = shape.name ?? 'watchdog0';
  const child = await startFuseServer(
    join(SOURCE_DIR, 'wdt_emu'),
    [
      mountPoint,
      name,
      shape.identity ?? 'iamt_wdt',
      `0x${(shape.options ?? MEI_WDT_OPTIONS).toString(16)}`,
      String(shape.minTimeoutS ?? 120),
      String(shape.maxTimeoutS ?? 65535),
    ],
    'pipe',
  );
  const seen: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    seen.push(...parts);
  });
  return {
    path: join(mountPoint, name),
    lines: () => [...seen],
    async waitFor(pattern, ms = 10_000) {
      for (let t = 0; t <= ms; t += 20) {
        const hit = seen.find((l) => pattern.test(l));
        if (hit !== undefined) return hit;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`the emulated watchdog saw no ${pattern} within ${ms} ms; it saw: ${seen.join(' | ')}`);
    },
    async stop() {
      await stopFuseServer(child, mountPoint);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
