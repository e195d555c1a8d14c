/**
 * Local sockets waiting for a channel (docs/apf.md §3.1): admitted from loopback peers only, up to
 * `maxQueue`, read while they wait, and held at most `holdMs` while the ME does not serve their
 * port. The ME takes one CHANNEL_OPEN at a time, and after a transient OPEN_FAILURE the socket goes
 * back to the head of the queue behind a backoff timer.
 */
import { ByteQueue } from '../byteQueue.js';
import { isLoopbackAddress } from '../loopback.js';
import type { Endpoint, SocketId } from '../sessionTypes.js';
import { holdBytes, type LocalSocket, type SessionContext } from './context.js';

const RETRY = { kind: 'open-retry' } as const;

export interface Admission {
  readonly size: number;
  /** A retried open waits for its backoff timer: no CHANNEL_OPEN goes out meanwhile. */
  readonly backingOff: boolean;
  /** A new socket, queued (and returned) or refused (undefined). */
  admit(socket: SocketId, local: Endpoint, peer: Endpoint, servable: (s: LocalSocket) => boolean): LocalSocket | undefined;
  /** Takes the first socket `servable` accepts out of the queue, stopping its hold timer. */
  next(servable: (s: LocalSocket) => boolean): LocalSocket | undefined;
  /** How many queued sockets `servable` accepts. */
  count(servable: (s: LocalSocket) => boolean): number;
  /** Once the ME serves a socket's port again, it waits for a slot however long (issue #14). */
  unholdServable(servable: (s: LocalSocket) => boolean): void;
  /** A transient OPEN_FAILURE: the socket goes first again, after `openRetryMs * 2^attempts`. */
  retry(s: LocalSocket): void;
  retryDue(): void;
  holdExpired(socket: SocketId): LocalSocket | undefined;
  data(s: LocalSocket, data: Buffer): void;
  /** The client half-closed: true when the socket is dropped (it never sent a byte). */
  end(s: LocalSocket): boolean;
  remove(s: LocalSocket): void;
  /** The ME link is gone: a retry's backoff ends, and every waiting socket is held, so it is refused if the ME stays away. */
  linkLost(): void;
  /** Empties the queue, returning what was in it. */
  drain(): LocalSocket[];
}

export const createAdmission = (ctx: SessionContext): Admission => {
  let queue: LocalSocket[] = [];
  let backingOff = false;

  const hold = (s: LocalSocket): void => {
    s.held = true;
    ctx.emit({ kind: 'start-timer', key: { kind: 'hold', socket: s.socket }, ms: ctx.options.holdMs });
  };
  const unhold = (s: LocalSocket): void => {
    if (!s.held) return;
    s.held = false;
    ctx.emit({ kind: 'cancel-timer', key: { kind: 'hold', socket: s.socket } });
  };
  const take = (i: number): LocalSocket => {
    const [s] = queue.splice(i, 1) as [LocalSocket];
    unhold(s);
    return s;
  };
  const remove = (s: LocalSocket): void => {
    const i = queue.indexOf(s);
    if (i >= 0) take(i);
  };

  return {
    get size() {
      return queue.length;
    },
    get backingOff() {
      return backingOff;
    },
    admit(socket, local, peer, servable) {
      const refuse = (reason: string): undefined => {
        ctx.emit({ kind: 'destroy', socket });
        ctx.event({ type: 'connection-refused', socket, peer, reason });
        return undefined;
      };
      if (!isLoopbackAddress(peer.address)) return refuse(`peer ${peer.address} is not a loopback address`);
      if (queue.length >= ctx.options.maxQueue) return refuse(`${queue.length} connections already wait for a channel`);
      const s: LocalSocket = {
        socket,
        local,
        peer,
        tx: new ByteQueue(),
        attempts: 0,
        channel: undefined,
        ended: false,
        gone: false,
        paused: false,
        held: false,
        bytesToMe: 0,
        bytesFromMe: 0,
      };
      queue.push(s);
      if (!servable(s)) hold(s);
      return s;
    },
    next(servable) {
      const i = queue.findIndex(servable);
      return i < 0 ? undefined : take(i);
    },
    count(servable) {
      let n = 0;
      for (const s of queue) if (servable(s)) n++;
      return n;
    },
    unholdServable(servable) {
      for (const s of queue) if (s.held && servable(s)) unhold(s);
    },
    retry(s) {
      queue.unshift(s);
      backingOff = true;
      ctx.emit({ kind: 'start-timer', key: RETRY, ms: ctx.options.openRetryMs * 2 ** (s.attempts - 1) });
    },
    retryDue() {
      backingOff = false;
    },
    holdExpired(socket) {
      const i = queue.findIndex((s) => s.socket === socket);
      if (i < 0) return undefined;
      const [s] = queue.splice(i, 1) as [LocalSocket];
      ctx.emit({ kind: 'destroy', socket });
      ctx.event({ type: 'connection-refused', socket, peer: s.peer, reason: `no ME service for port ${s.local.port} within ${ctx.options.holdMs} ms` });
      return s;
    },
    data(s, data) {
      if (!s.ended) holdBytes(s, data, ctx);
    },
    end(s) {
      if (s.tx.length > 0) {
        s.ended = true; // a request, then FIN: it is still served
        return false;
      }
      // Connected and closed without a byte: nothing to forward, so no channel is spent on it.
      remove(s);
      ctx.emit({ kind: 'destroy', socket: s.socket });
      return true;
    },
    remove,
    linkLost() {
      if (backingOff) ctx.emit({ kind: 'cancel-timer', key: RETRY });
      backingOff = false;
      for (const s of queue) hold(s);
    },
    drain() {
      const all = queue;
      queue = [];
      for (const s of all) unhold(s);
      if (backingOff) ctx.emit({ kind: 'cancel-timer', key: RETRY });
      backingOff = false;
      return all;
    },
  };
};
