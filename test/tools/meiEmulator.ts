/**
 * Test tooling: an emulated /dev/mei0 (mei-emu/mei_emu.c on FUSE) whose ME is the project's
 * simulated ME, running in this process. Each handle the client connects gets its own simulated
 * ME connection; the C server does the driver's part (ioctl, one message per read and write,
 * EFBIG, ENODEV after a reset, EAGAIN, EINTR, poll).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guidToBytes } from 'lms-rx/apf';
import { MeClient } from 'lms-rx/heci';
import type { SimulatedMe } from 'lms-rx/simulator';
import type { MeConnection } from 'lms-rx';
import { fuseToolUnavailable, needFuseTool, startFuseServer, stopFuseServer, toolDir } from './fuseServer.js';

const SOURCE_DIR = toolDir('mei-emu');
export const EMULATOR_BINARY = join(SOURCE_DIR, 'mei_emu');

/** Why the emulated device cannot run here, or undefined when it can (building it if needed). */
export const emulatorUnavailable = (): string | undefined => fuseToolUnavailable(SOURCE_DIR, 'mei_emu');

/** For a test or suite that needs the emulated device: skipped where it cannot run, failed on CI. */
export const needEmulator = (ctx: Mocha.Context): void => needFuseTool(ctx, emulatorUnavailable());

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

  /**
   * FUSE delivers a closed handle's RELEASE after close() has returned, so a client that closes
   * its LME handle and opens another at once (Intel LMS does) can connect before the old one is
   * gone; the driver would have disconnected it within close(). A busy client is asked again for
   * a short while, as the old handle's release is on its way.
   */
  const connectSoon = async (client: SimulatedMe | ReturnType<SimulatedMe['amthi']>, ms = 500): Promise<MeConnection> => {
    for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 10))) {
      try {
        return await client.connect();
      } catch (err) {
        if ((err as { code?: string }).code !== 'EBUSY' || Date.now() > end) throw err;
      }
    }
  };

  const onFrame = (type: string, id: number, payload: Buffer): void => {
    if (type === 'C') {
      // The emulator answered the ioctl; the simulated ME connection follows. If it cannot be had
      // (the ME is resetting, or busy), the handle dies with ENODEV and the client reconnects.
      const client = [me, me.amthi(), me.mkhi()][payload[0] ?? 0] ?? me;
      early.set(id, []);
      connectSoon(client).then(
        (conn) => {
          // The handle was released while its connection was on the way: nobody holds it now.
          if (!early.has(id)) return conn.close();
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
  const child = await startFuseServer(EMULATOR_BINARY, [mountPoint, socketPath]);

  return {
    devicePath: join(mountPoint, 'mei0'),
    controlPath: join(mountPoint, 'control'),
    mountPoint,
    connections: () => conns.size,
    async stop() {
      await stopFuseServer(child, mountPoint);
      for (const c of conns.values()) c.close();
      conns.clear();
      link?.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
