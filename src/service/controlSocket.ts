/**
 * The daemon's local control socket: a Unix socket readable by its owner only (mode 0600), one
 * JSON request line in, one JSON reply line out. `lms status` is its client.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

export const ControlRequest = t.type({ command: t.keyof({ status: null }) });
export type ControlRequest = t.TypeOf<typeof ControlRequest>;

const MAX_REQUEST = 4096;

export const defaultControlSocket = (): string => {
  if (process.getuid?.() === 0) return '/run/lms/lms.sock';
  const runtime = process.env['XDG_RUNTIME_DIR'];
  return runtime ? join(runtime, 'lms.sock') : `/tmp/lms-${process.getuid?.() ?? 'user'}.sock`;
};

/** Refuses to take over a socket another daemon still answers on. */
const clearStale = (path: string): Promise<void> =>
  new Promise((resolve, reject) => {
    if (!existsSync(path)) return resolve();
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      reject(new Error(`another lms answers on ${path}`));
    });
    probe.once('error', () => {
      unlinkSync(path);
      resolve();
    });
  });

export const serveControl = async (path: string, answer: (request: ControlRequest) => unknown): Promise<net.Server> => {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  await clearStale(path);
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST) return void socket.end(`${JSON.stringify({ error: 'request too long' })}\n`);
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      let reply: unknown;
      try {
        const request = ControlRequest.decode(JSON.parse(buffered.slice(0, nl)));
        reply = E.isRight(request) ? answer(request.right) : { error: 'unknown request; expected {"command":"status"}' };
      } catch {
        reply = { error: 'the request is not JSON' };
      }
      socket.end(`${JSON.stringify(reply)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The umask makes the socket owner-only from its first moment; chmod makes sure of it.
    const umask = process.umask(0o177);
    server.listen(path, () => {
      process.umask(umask);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  server.on('close', () => {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  });
  return server;
};

export const queryControl = (path: string, request: ControlRequest, timeoutMs = 3000): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let reply = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer on ${path} within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (c: string) => (reply += c));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(JSON.parse(reply));
      } catch {
        reject(new Error(`the daemon answered something that is not JSON: ${reply.slice(0, 200)}`));
      }
    });
  });
