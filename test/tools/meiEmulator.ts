/**
 * Test tooling: an emulated /dev/mei0 (mei-emu/mei_emu.c on FUSE) whose ME is the project's
 * simulated ME, running in this process. Each handle the client connects gets its own simulated
 * ME connection; the C server does the driver's part (ioctl, one message per read and write,
 * EFBIG, ENODEV after a reset, EAGAIN, EINTR, poll).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guidToBytes } from 'lms-rx/apf';
import { MeClient } from 'lms-rx/heci';
import type { SimulatedMe } from 'lms-rx/simulator';
import type { MeConnection } from 'lms-rx';

const SOURCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/tools/mei-emu');
export const EMULATOR_BINARY = join(SOURCE_DIR, 'mei_emu');

/** Why the emulated device cannot run here, or undefined when it can (building it if needed). */
export const emulatorUnavailable = (): string | undefined => {
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing (no FUSE in this kernel or container)';
  if (process.getuid?.() !== 0) return 'mounting the emulated device needs root';
  try {
    execFileSync('make', ['-s', '-C', SOURCE_DIR], { stdio: 'pipe' });
  } catch (err) {
    const out = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    return `mei_emu does not build (apt-get install -y libfuse3-dev fuse3 pkg-config gcc): ${out.slice(0, 300)}`;
  }
  return undefined;
};

/**
 * For a test or suite that needs the emulated device: skips it with the reason where the device
 * cannot run, except on CI, where a skip would hide the production device path, so it fails.
 */
export const needEmulator = (ctx: Mocha.Context): void => {
  const why = emulatorUnavailable();
  if (!why) return;
  if (process.env['CI']) throw new Error(`the emulated MEI device cannot run in CI: ${why}`);
  console.log(`      skipped: ${why}`);
  ctx.skip();
};

export interface EmulatedMei {
  readonly devicePath: string;
  readonly controlPath: string;
  readonly mountPoint: string;
  /** The client connections the emulator has opened on the simulated ME. */
  readonly connections: () => number;
  stop(): Promise<void>;
}

const frame = (type: string, id: number, payload: Buffer = Buffer.alloc(0)): Buffer => {
  const head = Buffer.alloc(9);
  head.writeUInt32LE(5 + payload.length, 0);
  head.write(type, 4, 'latin1');
  head.writeUInt32LE(id, 5);
  return Buffer.concat([head, payload]);
};

export const startEmulatedMei = async (me: SimulatedMe): Promise<EmulatedMei> => {
  const why = emulatorUnavailable();
  if (why) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), 'mei-emu-'));
  const mountPoint = join(dir, 'mnt');
  execFileSync('mkdir', ['-p', mountPoint]);
  const socketPath = join(dir, 'me.sock');
  const conns = new Map<number, MeConnection>();
  const early = new Map<number, Buffer[]>();
  let link: net.Socket | undefined;

  const server = net.createServer((socket) => {
    link = socket;
    socket.write(configure());
    let pending: Buffer = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 4) {
        const total = pending.readUInt32LE(0);
        if (pending.length < 4 + total) break;
        const body = pending.subarray(4, 4 + total);
        pending = pending.subarray(4 + total);
        onFrame(String.fromCharCode(body[0]!), body.readUInt32LE(1), Buffer.from(body.subarray(5)));
      }
    });
  });

  const onFrame = (type: string, id: number, payload: Buffer): void => {
    if (type === 'C') {
      // The emulator answered the ioctl; the simulated ME connection follows. If it cannot be had
      // (the ME is resetting, or busy), the handle dies with ENODEV and the client reconnects.
      const client = [me, me.amthi(), me.mkhi()][payload[0] ?? 0] ?? me;
      early.set(id, []);
      client.connect().then(
        (conn) => {
          conns.set(id, conn);
          // A client may write right after its ioctl (AMTHI does), before this connection exists.
          for (const m of early.get(id) ?? []) conn.write(m).catch(() => undefined);
          early.delete(id);
          conn.messages$.subscribe({
            next: (m) => link?.write(frame('M', id, m)),
            error: () => {
              conns.delete(id);
              link?.write(frame('D', id));
            },
          });
        },
        () => {
          early.delete(id);
          link?.write(frame('D', id));
        },
      );
    } else if (type === 'W') {
      const waiting = early.get(id);
      if (waiting) waiting.push(payload);
      else
        conns
          .get(id)
          ?.write(payload)
          .catch(() => undefined);
    } else if (type === 'X') {
      early.delete(id);
      conns.get(id)?.close();
      conns.delete(id);
    }
  };

  /** The clients this device serves: LME (index 0), AMTHI (1) and MKHI (2), with the simulated ME's MTU. */
  const configure = (): Buffer => {
    const entry = (client: string, version: number): Buffer => {
      const b = Buffer.alloc(25);
      const guid = guidToBytes(client);
      if (guid._tag === 'Right') guid.right.copy(b, 0);
      b.writeUInt32LE(me.options.maxMsgLength, 16);
      b[20] = version;
      return b;
    };
    const entries = [entry(MeClient.Lme, 4), ...(me.hasAmthi ? [entry(MeClient.Amthi, 1), entry(MeClient.Mkhi, 1)] : [])];
    return frame('S', 0, Buffer.concat([Buffer.from([entries.length]), ...entries]));
  };

  await new Promise<void>((res) => server.listen(socketPath, res));
  const child: ChildProcess = spawn(EMULATOR_BINARY, [mountPoint, socketPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((res, rej) => {
    let err = '';
    const timer = setTimeout(() => rej(new Error(`mei_emu did not start: ${err}`)), 5000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('ready')) {
        clearTimeout(timer);
        res();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`mei_emu exited with ${code}: ${err}`));
    });
  });

  return {
    devicePath: join(mountPoint, 'mei0'),
    controlPath: join(mountPoint, 'control'),
    mountPoint,
    connections: () => conns.size,
    async stop() {
      const exited = new Promise<void>((res) => (child.exitCode !== null ? res() : child.once('exit', () => res())));
      child.kill('SIGTERM');
      const clean = await Promise.race([exited.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 3000))]);
      if (!clean) {
        child.kill('SIGKILL');
        await exited;
      }
      // A SIGKILLed server leaves a stale mount: a lazy unmount clears it, and does no harm otherwise.
      try {
        execFileSync('fusermount3', ['-u', '-z', mountPoint], { stdio: 'ignore' });
      } catch {
        // not mounted any more
      }
      for (const c of conns.values()) c.close();
      conns.clear();
      link?.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
