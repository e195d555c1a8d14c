/**
 * The ME's GLOBAL_REQUESTs (docs/apf.md §2.2): tcpip-forward binds a loopback listener first and
 * answers after, cancel-tcpip-forward unbinds, udp-send-to goes to loopback only. Replies keep the
 * order of the requests, however long a bind takes.
 */
import { requestFailure, requestSuccess, type ApfMessage, type GlobalRequest } from '../../codecs/messages.js';
import { isLoopbackAddress } from '../loopback.js';
import type { SessionContext } from './context.js';

/** A GLOBAL_REQUEST reply: replies go out in request order, some wait for a bind. */
interface PendingReply {
  readonly port?: number;
  readonly wantReply: boolean;
  message?: ApfMessage;
}

export interface Forwards {
  /** Does the ME serve `port` in this session? */
  serves(port: number): boolean;
  forwarded(): number[];
  listening(): number[];
  /** True when a port became forwarded: sockets waiting for it may be served now. */
  onGlobalRequest(m: GlobalRequest): boolean;
  /** The answer to a `listen` effect; true when the port became forwarded. */
  onListening(port: number, bound: readonly string[], error?: string): boolean;
  /** The link is gone: forwards end with it, listeners stay for the next session. */
  reset(): void;
}

export const createForwards = (ctx: SessionContext): Forwards => {
  let forwards = new Set<number>();
  const listening = new Map<number, readonly string[]>();
  let replies: PendingReply[] = [];

  const flushReplies = (): void => {
    while (replies.length > 0 && replies[0]!.message !== undefined) {
      const r = replies.shift()!;
      if (r.wantReply) ctx.send(r.message!);
    }
  };
  const reply = (wantReply: boolean, message: ApfMessage): void => {
    replies.push({ wantReply, message });
    flushReplies();
  };

  const onGlobalRequest = (m: GlobalRequest): boolean => {
    switch (m.request) {
      case 'tcpip-forward': {
        // Whatever address the ME names (0.0.0.0 and :: included), we bind loopback only.
        const bound = listening.get(m.port);
        if (bound && bound.length > 0) {
          forwards.add(m.port);
          ctx.event({ type: 'forward', port: m.port, ok: true, bound });
          reply(m.wantReply, requestSuccess(m.port));
          return true;
        }
        replies.push({ port: m.port, wantReply: m.wantReply });
        ctx.emit({ kind: 'listen', port: m.port });
        return false;
      }
      case 'cancel-tcpip-forward': {
        const known = forwards.delete(m.port) || listening.has(m.port);
        if (known) {
          listening.delete(m.port);
          ctx.emit({ kind: 'unlisten', port: m.port });
          ctx.event({ type: 'forward', port: m.port, ok: true, bound: [], cancelled: true });
        }
        reply(m.wantReply, known ? requestSuccess() : requestFailure);
        return false;
      }
      case 'udp-send-to@amt.intel.com': {
        const ok = isLoopbackAddress(m.address);
        if (ok) {
          ctx.emit({ kind: 'udp-send', address: m.address, port: m.port, data: m.data });
          ctx.event({ type: 'udp-sent', address: m.address, port: m.port, bytes: m.data.length });
        } else ctx.violation('unexpected-message', `udp-send-to ${m.address}:${m.port} refused: not a loopback address`);
        reply(m.wantReply, ok ? requestSuccess() : requestFailure);
        return false;
      }
      case 'unknown':
        ctx.event({ type: 'ignored', detail: `GLOBAL_REQUEST ${JSON.stringify(m.name)}` });
        reply(m.wantReply, requestFailure);
        return false;
    }
  };

  const onListening = (port: number, bound: readonly string[], error?: string): boolean => {
    if (bound.length > 0) listening.set(port, bound);
    else listening.delete(port);
    const pending = replies.find((r) => r.port === port && r.message === undefined);
    if (!pending) return false; // a reservation made before the ME asked, or a request from a lost session
    const ok = bound.length > 0;
    pending.message = ok ? requestSuccess(port) : requestFailure;
    if (ok) forwards.add(port);
    // A port taken on this host is a local matter, not the ME's error: the forward event says it.
    ctx.event(ok ? { type: 'forward', port, ok, bound } : { type: 'forward', port, ok, bound, error: error ?? 'no loopback address could be bound' });
    flushReplies();
    return ok;
  };

  return {
    serves: (port) => forwards.has(port),
    forwarded: () => [...forwards],
    listening: () => [...listening.keys()],
    onGlobalRequest,
    onListening,
    reset() {
      forwards = new Set();
      replies = [];
    },
  };
};
