/**
 * End-to-end harness: a simulated ME forwarding two free high ports (HTTP and echo) and the LMS
 * in front of it, plus real clients: curl, raw TCP sockets and http requests.
 */
import './noSystemBus.js';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { firstValueFrom, filter, timeout } from 'rxjs';
import { SimulatedMe, type SimulatedMeOptions } from 'lms-rx/simulator';
import { startLms, type LmsOptions, type LmsService, type LmsEvent } from 'lms-rx';

/** Waits, checking every 20 ms, until `ok` holds; fails naming `what` after `ms`. A bound, not a timing. */
export const until = async (what: string, ok: () => boolean, ms = 8000): Promise<void> => {
  for (let t = 0; t < ms && !ok(); t += 20) await new Promise((r) => setTimeout(r, 20));
  if (!ok()) throw new Error(`${what} within ${ms} ms`);
};

/** A port free on both 127.0.0.1 and ::1 right now. */
export const freePort = async (): Promise<number> => {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen({ host: '127.0.0.1', port: 0 }, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const v6free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen({ host: '::1', port, ipv6Only: true }, () => s.close(() => resolve(true)));
    });
    if (v6free) return port;
  }
};

export interface Pair {
  readonly me: SimulatedMe;
  readonly lms: LmsService;
  readonly httpPort: number;
  readonly echoPort: number;
  readonly events: LmsEvent[];
  stop(): Promise<void>;
}

/** `lmsOptions` may depend on the ports picked (a reclaim policy names the HTTP port). */
export const startPair = async (
  meOptions: SimulatedMeOptions = {},
  lmsOptions: Partial<LmsOptions> | ((ports: { httpPort: number; echoPort: number }) => Partial<LmsOptions>) = {},
): Promise<Pair> => {
  const httpPort = await freePort();
  let echoPort = await freePort();
  while (echoPort === httpPort) echoPort = await freePort();
  const me = new SimulatedMe({ ports: [httpPort, echoPort], httpPorts: [httpPort], ...meOptions });
  const lms = startLms({ device: me, reconnectMs: 20, ...(typeof lmsOptions === 'function' ? lmsOptions({ httpPort, echoPort }) : lmsOptions) });
  const events: LmsEvent[] = [];
  lms.events$.subscribe((e) => events.push(e));
  await lms.ready(echoPort);
  return {
    me,
    lms,
    httpPort,
    echoPort,
    events,
    async stop() {
      await lms.stop();
      me.close();
    },
  };
};

export interface Run {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export const curl = (args: readonly string[], input?: Buffer): Promise<Run> =>
  new Promise((resolve) => {
    const child = execFile('curl', ['-sS', '--max-time', '60', ...args], { encoding: 'buffer', maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr.toString() });
    });
    if (input) child.stdin!.end(input);
  });

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Sends `request` on a fresh socket and collects everything until the server closes. */
export const exchange = (port: number, request: Buffer | Buffer[], opts: { host?: string; gapMs?: number; halfClose?: boolean } = {}): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts = Array.isArray(request) ? request : [request];
    const s = net.connect({ host: opts.host ?? '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('connect', async () => {
      for (const [i, p] of parts.entries()) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        s.write(p);
      }
      if (opts.halfClose) s.end();
    });
  });

/** A complete HTTP 200 reply: status line through the end of the header block, nothing cut. */
export const ok200 = (b: Buffer): boolean => /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/.test(b.toString('latin1'));

export const head = (port: number, host = '127.0.0.1'): Promise<Buffer> =>
  exchange(port, Buffer.from(`HEAD / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`), { host });

/** Waits for the first event that matches. */
export const nextEvent = (lms: LmsService, match: (e: LmsEvent) => boolean, ms = 5000): Promise<LmsEvent> =>
  firstValueFrom(lms.events$.pipe(filter(match), timeout(ms)));
