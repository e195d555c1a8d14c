/**
 * The loopback listeners: each port the ME forwards is bound on every loopback address given,
 * each address on its own (one may fail alone, and the port is then forwarded in part: said in
 * the log and in status). The answer goes back to the session as a `listening` input; accepted
 * sockets go to `accept`.
 */
import * as net from 'node:net';
import type { Endpoint, SessionInput, SocketOwner } from '../streams/sessionTypes.js';
import type { Logger } from './logger.js';

const ACCEPT_BACKLOG = 4096;

export interface Listeners {
  /** Bind `port` (idempotent) and answer with `listening`. */
  listen(port: number): Promise<void>;
  /** Stop accepting on `port`; live sockets drain. */
  unlisten(port: number): void;
  /** Close every listener; later `listen`s bind nothing. */
  close(): void;
  /** Ports bound on some of the addresses but not all: the addresses that could not be bound. */
  partial(): readonly { readonly port: number; readonly unbound: readonly string[] }[];
  /** Connections reset by their client before they could be accepted (no peer left to name). */
  readonly goneBeforeAccept: number;
}

export interface ListenersOptions {
  readonly addresses: readonly string[];
  readonly log: Logger;
  readonly feed: (input: SessionInput) => void;
  /** `local.address` is the listener's own: asking the socket (getsockname) costs a syscall per connection. */
  readonly accept: (socket: net.Socket, local: Endpoint, peer: Endpoint, owner: SocketOwner | undefined) => void;
  /** The local user that made the connection (socketOwners.ts). */
  readonly ownerOf: (local: Endpoint, peer: Endpoint) => SocketOwner | undefined;
}

export const createListeners = (options: ListenersOptions): Listeners => {
  const { log, feed } = options;
  const listeners = new Map<number, { readonly servers: net.Server[]; readonly bound: string[] }>();
  const unbound = new Map<number, readonly string[]>();
  let closed = false;
  let goneBeforeAccept = 0;

  const accepted = (s: net.Socket, local: Endpoint): void => {
    // A client that sent RST before the accept leaves a socket with no peer: nothing to refuse, only to drop.
    if (s.remoteAddress === undefined) {
      goneBeforeAccept++;
      log.debug({ port: local.port }, `a connection to port ${local.port} was reset by its client before lms accepted it`);
      return void s.destroy();
    }
    s.setNoDelay(true);
    const peer = { address: s.remoteAddress, port: s.remotePort ?? 0 };
    options.accept(s, local, peer, options.ownerOf(local, peer));
  };

  const bindOne = (address: string, port: number): Promise<net.Server | undefined> =>
    new Promise((resolve) => {
      // allowHalfOpen: a client's FIN must not end our side; ME data still flows until its CLOSE.
      let bound = address; // the listener's address as the kernel states it, once listening
      const server = net.createServer({ allowHalfOpen: true }, (s) => accepted(s, { address: bound, port }));
      server.once('error', (err: NodeJS.ErrnoException) => {
        log.warn({ address, port, code: err.code }, `cannot listen on [${address}]:${port}: ${err.message}`);
        resolve(undefined);
      });
      // A deep accept queue (the kernel caps it at net.core.somaxconn): one user's burst of connects
      // must not fill it, or the kernel drops another user's SYN and its client waits a second to retry.
      server.listen({ host: address, port, exclusive: true, ipv6Only: address.includes(':'), backlog: ACCEPT_BACKLOG }, () => {
        server.removeAllListeners('error');
        bound = (server.address() as net.AddressInfo).address;
        server.on('error', (err) => log.error({ address, port, error: err.message }, 'listener error'));
        resolve(server);
      });
    });

  const unlisten = (port: number): void => {
    const l = listeners.get(port);
    listeners.delete(port);
    unbound.delete(port);
    for (const s of l?.servers ?? []) s.close(); // stops accepting; live sockets drain
  };

  return {
    async listen(port) {
      const existing = listeners.get(port);
      if (existing) return feed({ kind: 'listening', port, bound: existing.bound });
      const results = await Promise.all(options.addresses.map((a) => bindOne(a, port)));
      const servers = results.filter((s): s is net.Server => s !== undefined);
      const bound = servers.map((s) => (s.address() as net.AddressInfo).address);
      if (closed) {
        for (const s of servers) s.close();
        return;
      }
      if (servers.length > 0) listeners.set(port, { servers, bound });
      const missing = options.addresses.filter((_, i) => results[i] === undefined);
      if (bound.length > 0 && missing.length > 0) {
        unbound.set(port, missing);
        log.warn({ port, bound, unbound: missing }, `port ${port} is forwarded in part: on ${bound.join(', ')} but not on ${missing.join(', ')}`);
      } else log.info({ port, bound }, bound.length > 0 ? `listening on port ${port}` : `port ${port} could not be bound`);
      feed(bound.length > 0 ? { kind: 'listening', port, bound } : { kind: 'listening', port, bound, error: 'address in use or unavailable' });
    },
    unlisten,
    close() {
      closed = true;
      for (const port of [...listeners.keys()]) unlisten(port);
    },
    partial: () => [...unbound].map(([port, addresses]) => ({ port, unbound: addresses })),
    get goneBeforeAccept() {
      return goneBeforeAccept;
    },
  };
};
