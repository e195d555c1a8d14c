/**
 * The accepted local sockets: socket events in as session inputs, the session's socket effects
 * carried out. The ME data of one turn goes to each socket as one writev with one completion:
 * the ME's messages arrive in batches of max_msg_length - 9 bytes, and a syscall, a callback and a
 * session step per message cost more than the forwarding itself.
 */
import type { Duplex } from 'node:stream';
import type { Endpoint, SessionInput, SocketId, SocketOwner } from '../streams/sessionTypes.js';
import type { Logger } from './logger.js';

export interface SocketTableOptions {
  readonly log: Logger;
  readonly feed: (input: SessionInput) => void;
  /** A socket ended after the ME's CLOSE is destroyed if it has not closed within this time. */
  readonly graceMs: number;
}

export interface SocketTable {
  /** A connection to carry: a TCP socket from a listener, or one end of an in-process pair; `owner`, the user that made it. */
  accept(socket: Duplex, local: Endpoint, peer: Endpoint, owner: SocketOwner | undefined): void;
  write(socket: SocketId, data: Buffer): void;
  pause(socket: SocketId): void;
  resume(socket: SocketId): void;
  /** End the socket once this turn's writes flush; destroy it after the grace period. */
  end(socket: SocketId): void;
  destroy(socket: SocketId): void;
  destroyAll(): void;
  /** Resolves once every socket closed, or after `ms`; whatever is left is destroyed. */
  closeAll(ms: number): Promise<void>;
}

interface TurnWrites {
  readonly socket: Duplex;
  readonly chunks: Buffer[];
  bytes: number;
}

export const createSocketTable = (options: SocketTableOptions): SocketTable => {
  const { log, feed } = options;
  const sockets = new Map<SocketId, Duplex>();
  const turnWrites = new Map<SocketId, TurnWrites>();
  let nextSocket = 1;

  const flushSocket = (id: SocketId): void => {
    const t = turnWrites.get(id);
    if (!t) return;
    turnWrites.delete(id);
    const s = t.socket;
    if (s.destroyed) return;
    const last = t.chunks.length - 1;
    s.cork();
    for (let i = 0; i < last; i++) s.write(t.chunks[i]);
    // Callbacks run in write order, so the last one says the whole batch reached the kernel.
    s.write(t.chunks[last], (err) => {
      if (!err) feed({ kind: 'socket-written', socket: id, bytes: t.bytes });
    });
    s.uncork();
  };
  const flushTurn = (): void => {
    for (const id of turnWrites.keys()) flushSocket(id);
  };

  return {
    accept(socket, local, peer, owner) {
      const id = nextSocket++;
      sockets.set(id, socket);
      socket.on('data', (data: Buffer) => feed({ kind: 'socket-data', socket: id, data }));
      socket.on('end', () => feed({ kind: 'socket-end', socket: id }));
      socket.on('error', (err) => log.debug({ socket: id, error: err.message }, 'socket error'));
      socket.on('close', () => {
        sockets.delete(id);
        feed({ kind: 'socket-closed', socket: id });
      });
      feed(owner === undefined ? { kind: 'accepted', socket: id, local, peer } : { kind: 'accepted', socket: id, local, peer, owner });
    },
    write(id, data) {
      const s = sockets.get(id);
      if (!s || s.destroyed) return;
      const t = turnWrites.get(id);
      if (t) {
        t.chunks.push(data);
        t.bytes += data.length;
      } else {
        if (turnWrites.size === 0) process.nextTick(flushTurn);
        turnWrites.set(id, { socket: s, chunks: [data], bytes: data.length });
      }
    },
    pause: (id) => void sockets.get(id)?.pause(),
    resume: (id) => void sockets.get(id)?.resume(),
    end(id) {
      const s = sockets.get(id);
      if (!s) return;
      flushSocket(id); // this turn's data goes before the FIN
      s.pause();
      s.end();
      const grace = setTimeout(() => s.destroy(), options.graceMs);
      grace.unref();
      s.once('close', () => clearTimeout(grace));
    },
    destroy(id) {
      turnWrites.delete(id);
      sockets.get(id)?.destroy();
    },
    destroyAll() {
      turnWrites.clear();
      for (const s of sockets.values()) s.destroy();
    },
    async closeAll(ms) {
      // Ended sockets flush their pending writes; whatever has not closed within the bound is destroyed.
      const closing = [...sockets.values()].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve()))));
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(closing), new Promise<void>((resolve) => (bound = setTimeout(resolve, ms)))]);
      clearTimeout(bound);
      for (const s of sockets.values()) s.destroy();
      sockets.clear();
    },
  };
};
