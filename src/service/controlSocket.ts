/**
 * The daemon's local control socket: a Unix socket for its owner only (mode 0600), or for its
 * owner and one group named for the purpose (0660, `--control-group`, lms-status in the package),
 * one JSON request line in, one JSON reply line out (`status`), or a JSON line for each event while
 * the client stays (`events`). `lms status`, `lms doctor` and `lms events` are its clients.
 *
 * The socket is made with its final mode (umask) and given its owner and group only while nobody
 * else can write its folder, with lchown: whoever can write the folder could otherwise swap the
 * path for a link between bind and a chmod or chown, which would then land on the link's target.
 */
import { accessSync, constants, existsSync, lchownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { Observable } from 'rxjs';

export const ControlRequest = t.type({ command: t.keyof({ status: null, events: null }) });
export type ControlRequest = t.TypeOf<typeof ControlRequest>;

/** What the socket serves: status once per request; events, when offered, as they come. */
export interface ControlHandlers {
  status(): unknown;
  /** Completes when the daemon stops; each value is written as a JSON line. */
  events?(): Observable<unknown>;
}

/** The first line an events subscriber gets, so that it can tell a daemon that streams from one that cannot. */
export const EVENTS_SUBSCRIBED = { subscribed: 'events' } as const;

const MAX_REQUEST = 4096;

/** The system daemon's socket (lms.service; and any lms run as root). */
export const SYSTEM_CONTROL_SOCKET = '/run/lms/lms.sock';

/** Where a daemon started by this user puts its socket. */
export const defaultControlSocket = (): string => {
  if (process.getuid?.() === 0) return SYSTEM_CONTROL_SOCKET;
  const runtime = process.env['XDG_RUNTIME_DIR'];
  return runtime ? join(runtime, 'lms.sock') : `/tmp/lms-${process.getuid?.() ?? 'user'}.sock`;
};

/** Linux's sun_path holds 108 bytes with the NUL: a longer path would be cut, silently, by bind(). */
const MAX_SOCKET_PATH = 107;
/** A status request takes milliseconds: a connection quiet this long is closed, and few are held at once. */
const IDLE_MS = 5_000;
const MAX_CONNECTIONS = 32;
/** Event subscribers stay connected: at most half the connections, so that status can always be asked. */
const MAX_SUBSCRIBERS = MAX_CONNECTIONS / 2;
/** A subscriber that reads nothing while this much waits for it is dropped, not buffered for without end. */
const MAX_UNREAD = 256 * 1024;

/**
 * The socket `lms status` asks when given none: this user's own daemon's, when there is one;
 * otherwise the system daemon's.
 */
export const controlSocketToAsk = (own = defaultControlSocket(), system = SYSTEM_CONTROL_SOCKET): string => {
  const there = (p: string): boolean => {
    try {
      return lstatSync(p).isSocket();
    } catch {
      return false;
    }
  };
  return there(own) || !there(system) ? own : system;
};

/** Who the socket is to belong to: the service user, when lms is about to drop to it. */
export interface ControlOwner {
  readonly uid: number;
  readonly gid: number;
}

export interface ControlAccess {
  /** The user lms drops to: the socket and the folder lms makes for it are theirs. */
  readonly owner?: ControlOwner;
  /** A group that may ask too (mode 0660); without one, the owner only (0600). */
  readonly group?: number;
}

const uid = (): number => process.getuid?.() ?? -1;

/**
 * Why an existing folder is unsafe for the socket: a link, or writable by someone other than root,
 * this user or the service user (who could swap the socket). A world-writable folder with the
 * sticky bit owned by root (/tmp) is fine: no one may replace another's file there.
 */
const folderProblem = (dir: string, serviceUid: number | undefined): string | undefined => {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) return `${dir} is a symbolic link; name the real folder`;
  if (!st.isDirectory()) return `${dir} is not a folder`;
  const trusted = new Set([0, uid(), ...(serviceUid === undefined ? [] : [serviceUid])]);
  if (!trusted.has(st.uid)) return `${dir} belongs to uid ${st.uid}, who could replace the socket; use a folder of root's or this user's`;
  const sharedWrite = (st.mode & 0o022) !== 0;
  const sticky = (st.mode & 0o1000) !== 0 && st.uid === 0;
  if (sharedWrite && !sticky)
    return `${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)}), who could replace the socket; use a folder only its owner may write`;
  return undefined;
};

/** Why `path` cannot be our control socket, checked before anything starts; undefined when it can. */
export const controlPathProblem = (path: string, serviceUid?: number): string | undefined => {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return `${path} is ${Buffer.byteLength(path)} bytes long; a Unix socket path holds at most ${MAX_SOCKET_PATH}`;
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = undefined;
  }
  if (st && !st.isSocket()) return `${path} exists and is not a socket; lms will not replace it`;
  if (st && st.uid !== uid() && uid() !== 0)
    return `${path} belongs to uid ${st.uid}, not to this user (${uid()}); remove it or choose another --control-socket`;
  let dir = dirname(path);
  while (!existsSync(dir)) dir = dirname(dir);
  const unsafe = folderProblem(dir, serviceUid);
  if (unsafe) return `cannot put the control socket in ${dir}: ${unsafe}`;
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
 * Binds with the umask's mode, then gives the socket its owner and group with lchown (which never
 * follows a link) while no one but root can write its folder. When the folder is to be the
 * service user's (`handFolder`: lms made it, or gave it on a run before), root takes it back for
 * that moment and hands it over afterwards; the service user removes the socket at stop. (Becoming
 * the service user for the bind would need seteuid, which Node refuses where io_uring may be on:
 * CVE-2024-22017.) An unprivileged lms can give away nothing of anyone else's.
 */
const bindSocket = async (server: net.Server, path: string, access: ControlAccess, handFolder: boolean): Promise<void> => {
  const dir = dirname(path);
  const owner = uid() === 0 ? access.owner : undefined;
  if (owner && handFolder) lchownSync(dir, 0, 0);
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const umask = process.umask(access.group === undefined ? 0o177 : 0o117);
  try {
    server.listen(path); // a Unix socket is bound within this call
  } finally {
    process.umask(umask);
  }
  try {
    await listening;
  } catch (err) {
    if (owner && handFolder) lchownSync(dir, owner.uid, owner.gid);
    throw err;
  }
  if (owner) {
    lchownSync(path, owner.uid, access.group ?? owner.gid);
    if (handFolder) lchownSync(dir, owner.uid, owner.gid);
  } else if (access.group !== undefined && access.group !== process.getegid?.()) lchownSync(path, -1, access.group);
};

/**
 * Serves `answer` on `path`. With `access.owner`, the socket (and the folder it made for it) is the
 * service user's, so that after the drop it still answers `lms status` as that user and removes
 * the socket at stop; with `access.group`, that group may ask too. Rejects with a one-line reason.
 */
export const serveControl = async (path: string, handlers: ControlHandlers, access: ControlAccess = {}): Promise<net.Server> => {
  const problem = controlPathProblem(path, access.owner?.uid);
  if (problem) throw new Error(problem);
  // The folder goes to the service user when lms makes it (or gave it before): root's until the socket is in it.
  const made = mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const handFolder = access.owner !== undefined && (made !== undefined || lstatSync(dirname(path)).uid === access.owner.uid);
  await clearStale(path);
  let subscribers = 0;
  /** Keeps `socket` open and writes each event as a line, until the events end or the client goes. */
  const subscribe = (socket: net.Socket): void => {
    const events = handlers.events?.();
    if (!events) return void socket.end(`${JSON.stringify({ error: 'this daemon offers no events' })}\n`);
    if (subscribers >= MAX_SUBSCRIBERS) return void socket.end(`${JSON.stringify({ error: `${MAX_SUBSCRIBERS} clients already follow the events` })}\n`);
    subscribers++;
    socket.setTimeout(0);
    socket.write(`${JSON.stringify(EVENTS_SUBSCRIBED)}\n`);
    const sub = events.subscribe({
      next: (e) => {
        if (socket.writableLength > MAX_UNREAD) return void socket.destroy();
        socket.write(`${JSON.stringify(e)}\n`);
      },
      complete: () => socket.end(),
      error: () => socket.end(),
    });
    socket.on('close', () => {
      subscribers--;
      sub.unsubscribe();
    });
  };
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
        if (E.isRight(request) && request.right.command === 'events') {
          socket.removeAllListeners('data');
          return subscribe(socket);
        }
        reply = E.isRight(request) ? handlers.status() : { error: 'unknown request; expected {"command":"status"} or {"command":"events"}' };
      } catch {
        reply = { error: 'the request is not JSON' };
      }
      socket.end(`${JSON.stringify(reply)}\n`);
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  await bindSocket(server, path, access, handFolder);
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

/**
 * Follows the daemon's events on `path`: each line it writes after subscribing, parsed. Completes
 * when the daemon ends the stream (it stops); errors when it cannot be reached, or refuses.
 */
export const followControl = (path: string, timeoutMs = 3000): Observable<unknown> =>
  new Observable<unknown>((subscriber) => {
    const socket = net.connect(path);
    let pending = '';
    let subscribed = false;
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer on ${path} within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.write(`${JSON.stringify({ command: 'events' })}\n`));
    socket.on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          return void socket.destroy(new Error(`the daemon answered something that is not JSON: ${line.slice(0, 200)}`));
        }
        if (subscribed) subscriber.next(value);
        else if ((value as { subscribed?: unknown }).subscribed === EVENTS_SUBSCRIBED.subscribed) {
          subscribed = true;
          socket.setTimeout(0);
        } else {
          const why = (value as { error?: unknown }).error;
          return void socket.destroy(new Error(typeof why === 'string' ? `the daemon refused: ${why}` : 'the daemon does not stream events (an older lms?)'));
        }
      }
    });
    socket.on('error', (err) => subscriber.error(err));
    socket.on('close', () => subscriber.complete());
    return () => socket.destroy();
  });
