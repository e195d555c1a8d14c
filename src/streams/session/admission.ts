/**
 * Local sockets waiting for a channel (docs/apf.md §3.1): admitted from loopback peers only, up to
 * `maxQueue`, read while they wait, and held at most `holdMs` while the ME does not serve their
 * port. Each user's sockets wait in their own line, and the lines share the queue (fairShare.ts):
 * while it is full, a user with fewer waiting sockets than another takes the place of that user's
 * newest one, and the next slot goes to the waiting user holding the fewest. The ME takes one
 * CHANNEL_OPEN at a time, and after a transient OPEN_FAILURE the socket goes back to the head of
 * its line behind a backoff timer.
 */
import { ByteQueue } from '../byteQueue.js';
import { isLoopbackAddress } from '../loopback.js';
import type { Endpoint, SocketId, SocketOwner } from '../sessionTypes.js';
import { holdBytes, type LocalSocket, type SessionContext } from './context.js';
import { nextOwner, type Waiter } from './fairShare.js';

const RETRY = { kind: 'open-retry' } as const;

/** What `admit` did: the socket queued (or undefined: refused), and the one whose place it took. */
export interface Admitted {
  readonly queued: LocalSocket | undefined;
  readonly evicted: LocalSocket | undefined;
}

export interface Admission {
  readonly size: number;
  /** A retried open waits for its backoff timer: no CHANNEL_OPEN goes out meanwhile. */
  readonly backingOff: boolean;
  /** A new socket, queued, or refused; a full queue may give it the place of another user's newest. */
  admit(socket: SocketId, local: Endpoint, peer: Endpoint, owner: SocketOwner, servable: (s: LocalSocket) => boolean): Admitted;
  /**
   * Takes the next socket `eligible` accepts out of the queue, stopping its hold timer: the first of
   * the waiting user that holds the fewest slots (`holds`), ties to the user served longest ago.
   */
  next(eligible: (s: LocalSocket) => boolean, holds: (owner: SocketOwner) => number): LocalSocket | undefined;
  /** How many queued sockets `servable` accepts. */
  count(servable: (s: LocalSocket) => boolean): number;
  /** Each user with a socket `servable` accepts, and whether one of them is for a port `wsman` accepts. */
  waiters(servable: (s: LocalSocket) => boolean, wsman: (port: number) => boolean): Waiter[];
  /** Waiting sockets per user. */
  perOwner(): ReadonlyMap<SocketOwner, number>;
  /** Once the ME serves a socket's port again, it waits for a slot however long (issue #14). */
  unholdServable(servable: (s: LocalSocket) => boolean): void;
  /** A transient OPEN_FAILURE: the socket goes first in its line again, after `openRetryMs * 2^attempts`. */
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
  /** One line per user, in the order users first waited; a user's line goes when it empties. */
  const lines = new Map<SocketOwner, LocalSocket[]>();
  /** The turn each user was last served in (fairShare.nextOwner): one entry per uid ever served. */
  const servedAt = new Map<SocketOwner, number>();
  let turn = 0;
  let size = 0;
  let backingOff = false;

  /** Sockets whose hold timer runs: the ME does not serve their port now (admission's own state). */
  const held = new Set<SocketId>();
  const hold = (s: LocalSocket): void => {
    held.add(s.socket);
    ctx.emit({ kind: 'start-timer', key: { kind: 'hold', socket: s.socket }, ms: ctx.options.holdMs });
  };
  const unhold = (s: LocalSocket): void => {
    if (!held.delete(s.socket)) return;
    ctx.emit({ kind: 'cancel-timer', key: { kind: 'hold', socket: s.socket } });
  };
  const take = (line: LocalSocket[], i: number): LocalSocket => {
    const [s] = line.splice(i, 1) as [LocalSocket];
    size--;
    if (line.length === 0) lines.delete(s.owner);
    unhold(s);
    return s;
  };
  const remove = (s: LocalSocket): void => {
    const line = lines.get(s.owner);
    const i = line ? line.indexOf(s) : -1;
    if (line && i >= 0) take(line, i);
  };
  const lineOf = (owner: SocketOwner): LocalSocket[] => {
    const line = lines.get(owner);
    if (line) return line;
    const fresh: LocalSocket[] = [];
    lines.set(owner, fresh);
    return fresh;
  };
  const refuse = (socket: SocketId, peer: Endpoint, owner: SocketOwner, reason: string): void => {
    ctx.emit({ kind: 'destroy', socket });
    ctx.event({ type: 'connection-refused', socket, peer, owner, reason });
  };
  /** The user with the most waiting sockets. */
  const longestLine = (): LocalSocket[] | undefined => {
    let longest: LocalSocket[] | undefined;
    for (const line of lines.values()) if (!longest || line.length > longest.length) longest = line;
    return longest;
  };

  return {
    get size() {
      return size;
    },
    get backingOff() {
      return backingOff;
    },
    admit(socket, local, peer, owner, servable) {
      if (!isLoopbackAddress(peer.address)) {
        refuse(socket, peer, owner, `peer ${peer.address} is not a loopback address`);
        return { queued: undefined, evicted: undefined };
      }
      let evicted: LocalSocket | undefined;
      if (size >= ctx.options.maxQueue) {
        const longest = longestLine();
        const mine = lines.get(owner)?.length ?? 0;
        if (!longest || longest.length <= mine || longest[0]!.owner === owner) {
          refuse(socket, peer, owner, `${size} connections already wait for a channel`);
          return { queued: undefined, evicted: undefined };
        }
        // The queue is shared: a user with fewer waiting places takes the newest of the user with the most.
        evicted = take(longest, longest.length - 1);
        refuse(
          evicted.socket,
          evicted.peer,
          evicted.owner,
          `the waiting queue is full and this user held the most of its places (${longest.length + 1}): its newest went to another user`,
        );
      }
      const s: LocalSocket = {
        socket,
        local,
        peer,
        owner,
        unsent: new ByteQueue(),
        attempts: 0,
        channel: undefined,
        ended: false,
        gone: false,
        paused: false,
        bytesToMe: 0,
        bytesFromMe: 0,
      };
      lineOf(owner).push(s);
      size++;
      if (!servable(s)) hold(s);
      return { queued: s, evicted };
    },
    next(eligible, holds) {
      let line: LocalSocket[] | undefined;
      let at = -1;
      if (lines.size === 1) {
        // One user waits (the usual case): its line in order, nothing to weigh.
        [line] = lines.values();
        at = line!.findIndex(eligible);
      } else {
        const firsts = new Map<SocketOwner, number>();
        for (const [owner, l] of lines) {
          const i = l.findIndex(eligible);
          if (i >= 0) firsts.set(owner, i);
        }
        const owner = nextOwner(firsts.keys(), holds, servedAt);
        if (owner !== undefined) [line, at] = [lines.get(owner), firsts.get(owner)!];
      }
      if (!line || at < 0) return undefined;
      const s = take(line, at);
      servedAt.set(s.owner, turn++);
      return s;
    },
    count(servable) {
      let n = 0;
      for (const line of lines.values()) for (const s of line) if (servable(s)) n++;
      return n;
    },
    waiters(servable, wsman) {
      const found: Waiter[] = [];
      for (const [owner, line] of lines) {
        let any = false;
        let forWsman = false;
        for (const s of line) {
          if (!servable(s)) continue;
          any = true;
          if (wsman(s.local.port)) {
            forWsman = true;
            break;
          }
        }
        if (any) found.push({ owner, wsman: forWsman });
      }
      return found;
    },
    perOwner() {
      const n = new Map<SocketOwner, number>();
      for (const [owner, line] of lines) n.set(owner, line.length);
      return n;
    },
    unholdServable(servable) {
      for (const line of lines.values()) for (const s of line) if (held.has(s.socket) && servable(s)) unhold(s);
    },
    retry(s) {
      lineOf(s.owner).unshift(s);
      size++;
      backingOff = true;
      ctx.emit({ kind: 'start-timer', key: RETRY, ms: ctx.options.openRetryMs * 2 ** (s.attempts - 1) });
    },
    retryDue() {
      backingOff = false;
    },
    holdExpired(socket) {
      for (const line of lines.values()) {
        const i = line.findIndex((s) => s.socket === socket);
        if (i < 0) continue;
        const s = line[i]!;
        held.delete(socket); // its timer is the one that fired
        take(line, i);
        refuse(socket, s.peer, s.owner, `no ME service for port ${s.local.port} within ${ctx.options.holdMs} ms`);
        return s;
      }
      return undefined;
    },
    data(s, data) {
      if (!s.ended) holdBytes(s, data, ctx);
    },
    end(s) {
      if (s.unsent.length > 0) {
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
      for (const line of lines.values()) for (const s of line) hold(s);
    },
    drain() {
      const all = [...lines.values()].flat();
      lines.clear();
      servedAt.clear();
      size = 0;
      for (const s of all) unhold(s);
      if (backingOff) ctx.emit({ kind: 'cancel-timer', key: RETRY });
      backingOff = false;
      return all;
    },
  };
};
