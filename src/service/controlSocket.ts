/**
 * The daemon's local control socket: a Unix socket readable by its owner only (mode 0600), one
 * JSON request line in, one JSON reply line out. `lms status` is its client.
 */
import { accessSync, chmodSync, chownSync, constants, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
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

/** Linux's sun_path holds 108 bytes with the NUL: a longer path would be cut, silently, by bind(). */
const MAX_SOCKET_PATH = 107;
/** A status request takes milliseconds: a connection quiet this long is closed, and few are held at once. */
const IDLE_MS = 5_000;
const MAX_CONNECTIONS = 32;

/** Who the socket is to belong to: the service user, when lms is about to drop to it. */
export interface ControlOwner {
  readonly uid: number;
  readonly gid: number;
}

const uid = (): number => process.getuid?.() ?? -1;

/** Why `path` cannot be our control socket, checked before anything starts; undefined when it can. */
export const controlPathProblem = (path: string): string | undefined => {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return `${path} is ${Buffer.byteLength(path)} bytes long; a Unix socket path holds at most ${MAX_SOCKET_PATH}`;
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = undefined;
  }
  if (st && !st.isSocket()) return `${path} exists and is not a socket; lms will not replace it`;
  if (st && st.uid !== uid() && uid() !== 0) return `${path} belongs to uid ${st.uid}, not to this user (${uid()}); remove it or choose another --control-socket`;
  let dir = dirname(path);
  while (!existsSync(dir)) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return `cannot create ${path}: ${dir} is not writable by this user (${uid()})`;
  }
  return undefined;
};

/** Takes over a socket left behind by a daemon that is gone; refuses one another daemon still answers on. */
const clearStale = (path: string): Promise<void> =>
  new Promise((resolve, reject) => {
    if (!existsSync(path)) return resolve();
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      reject(new Error(`another lms answers on ${path}`));
    });
    probe.once('error', () => {
      try {
        unlinkSync(path);
        resolve();
      } catch (err) {
        reject(new Error(`cannot remove the stale socket ${path}: ${(err as Error).message}`));
      }
    });
  });

/**
 * Serves `answer` on `path`, owner-only (0600). With `owner`, the socket (and the folder it made
 * for it) is handed to the service user, so that after the drop it can still answer `lms status`
 * as that user and remove the socket at stop. Rejects with a one-line reason.
 */
export const serveControl = async (path: string, answer: (request: ControlRequest) => unknown, owner?: ControlOwner): Promise<net.Server> => {
  const problem = controlPathProblem(path);
  if (problem) throw new Error(problem);
  const made = mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (made !== undefined && owner) chownSync(dirname(path), owner.uid, owner.gid);
  await clearStale(path);
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.setTimeout(IDLE_MS, () => socket.destroy());
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
  server.maxConnections = MAX_CONNECTIONS;
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
  if (owner) chownSync(path, owner.uid, owner.gid);
  const ours = lstatSync(path).ino;
  server.on('close', () => {
    // Only the socket we made: another daemon may have replaced it since.
    try {
      if (lstatSync(path).ino === ours) unlinkSync(path);
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
