/**
 * The library's view of each forwarded connection: a handle per channel as it opens, whose
 * `activity$` reports its data, its stalls and finally its close. Per-message activity is built
 * only for a handle somebody observes: the daemon itself observes none.
 */
import { Subject, type Observable } from 'rxjs';
import type { ApfMessage } from '../codecs/messages.js';
import type { Endpoint, LmsEvent, SocketId } from '../streams/sessionTypes.js';

export type ChannelActivity =
  | { readonly type: 'to-me'; readonly bytes: number }
  | { readonly type: 'from-me'; readonly bytes: number }
  | { readonly type: 'stalled'; readonly buffered: number }
  | { readonly type: 'closed'; readonly reason: string; readonly bytesToMe: number; readonly bytesFromMe: number; readonly durationMs: number };

/** One forwarded connection, as a library user sees it. */
export interface ChannelHandle {
  readonly id: number;
  readonly meId: number;
  readonly local: Endpoint;
  readonly peer: Endpoint;
  readonly openedAt: number;
  /** Its data counts, flow-control stalls, and finally its close with the reason. Completes then. */
  readonly activity$: Observable<ChannelActivity>;
}

interface Live {
  readonly handle: ChannelHandle;
  readonly activity: Subject<ChannelActivity>;
  readonly socket: SocketId;
}

export interface ChannelHandles {
  readonly opened$: Observable<ChannelHandle>;
  /** The channel events: a handle opens, stalls, closes. */
  onEvent(e: LmsEvent): void;
  /** A message the session sent: CHANNEL_DATA is activity of the channel it names. */
  sent(m: ApfMessage): void;
  /** ME data handed to a socket. */
  written(socket: SocketId, bytes: number): void;
  get(id: number): ChannelHandle | undefined;
  /** The session failed: each handle closes with `reason`, with the counts it last had. */
  closeAll(reason: string, counts: (id: number) => { bytesToMe: number; bytesFromMe: number }): void;
  complete(): void;
}

export const createChannelHandles = (): ChannelHandles => {
  const opened$ = new Subject<ChannelHandle>();
  const live = new Map<number, Live>();
  const bySocket = new Map<SocketId, Live>();
  const byMeId = new Map<number, Live>();

  const forget = (l: Live): void => {
    live.delete(l.handle.id);
    bySocket.delete(l.socket);
    byMeId.delete(l.handle.meId);
  };

  return {
    opened$: opened$.asObservable(),
    onEvent(e) {
      if (e.type === 'channel-opened') {
        const activity = new Subject<ChannelActivity>();
        const l: Live = {
          handle: { id: e.id, meId: e.meId, local: e.local, peer: e.peer, openedAt: e.at, activity$: activity.asObservable() },
          activity,
          socket: e.socket,
        };
        live.set(e.id, l);
        bySocket.set(e.socket, l);
        byMeId.set(e.meId, l);
        opened$.next(l.handle);
      } else if (e.type === 'channel-stalled') {
        // Under a small ME window this is every message: nothing is built that nobody reads.
        const l = live.get(e.id);
        if (l?.activity.observed) l.activity.next({ type: 'stalled', buffered: e.buffered });
      } else if (e.type === 'channel-closed') {
        const l = live.get(e.id);
        if (!l) return;
        forget(l);
        l.activity.next({ type: 'closed', reason: e.reason, bytesToMe: e.bytesToMe, bytesFromMe: e.bytesFromMe, durationMs: e.durationMs ?? 0 });
        l.activity.complete();
      }
    },
    sent(m) {
      if (m.type !== 'channel-data') return;
      const l = byMeId.get(m.recipient);
      if (l?.activity.observed) l.activity.next({ type: 'to-me', bytes: m.data.length });
    },
    written(socket, bytes) {
      const l = bySocket.get(socket);
      if (l?.activity.observed) l.activity.next({ type: 'from-me', bytes });
    },
    get: (id) => live.get(id)?.handle,
    closeAll(reason, counts) {
      for (const l of [...live.values()]) {
        forget(l);
        l.activity.next({ type: 'closed', reason, ...counts(l.handle.id), durationMs: Date.now() - l.handle.openedAt });
        l.activity.complete();
      }
    },
    complete() {
      opened$.complete();
      for (const l of live.values()) l.activity.complete();
    },
  };
};
