/**
 * The library's view of each forwarded connection: a handle per channel as it opens, whose
 * `activity$` reports its data, its stalls and finally its close. Per-message activity is built
 * only for a handle somebody observes: the daemon itself observes none.
 */
import { Subject, type Observable } from 'rxjs';
import type { Endpoint, LmsEvent } from '../streams/sessionTypes.js';

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

/** A handle while its channel is open, with the subject behind its `activity$`. */
interface OpenHandle {
  readonly handle: ChannelHandle;
  readonly activity: Subject<ChannelActivity>;
}

export interface ChannelHandles {
  readonly opened$: Observable<ChannelHandle>;
  /** The channel events: a handle opens, stalls, closes. */
  onEvent(e: LmsEvent): void;
  /** A client's bytes sent to the ME on channel `id` (the session names the channel). */
  toMe(id: number, bytes: number): void;
  /** The ME's bytes handed to channel `id`'s socket. */
  fromMe(id: number, bytes: number): void;
  get(id: number): ChannelHandle | undefined;
  /** The session failed: each handle closes with `reason`, with the counts it last had. */
  closeAll(reason: string, counts: (id: number) => { bytesToMe: number; bytesFromMe: number }): void;
  complete(): void;
}

export const createChannelHandles = (): ChannelHandles => {
  const opened$ = new Subject<ChannelHandle>();
  /** Open channels by the id lms gave them: the one id every effect and event names. */
  const open = new Map<number, OpenHandle>();

  return {
    opened$: opened$.asObservable(),
    onEvent(e) {
      if (e.type === 'channel-opened') {
        const activity = new Subject<ChannelActivity>();
        const h: OpenHandle = {
          handle: { id: e.id, meId: e.meId, local: e.local, peer: e.peer, openedAt: e.at, activity$: activity.asObservable() },
          activity,
        };
        open.set(e.id, h);
        opened$.next(h.handle);
      } else if (e.type === 'channel-stalled') {
        // Under a small ME window this is every message: nothing is built that nobody reads.
        const h = open.get(e.id);
        if (h?.activity.observed) h.activity.next({ type: 'stalled', buffered: e.buffered });
      } else if (e.type === 'channel-closed') {
        const h = open.get(e.id);
        if (!h) return;
        open.delete(e.id);
        h.activity.next({ type: 'closed', reason: e.reason, bytesToMe: e.bytesToMe, bytesFromMe: e.bytesFromMe, durationMs: e.durationMs ?? 0 });
        h.activity.complete();
      }
    },
    toMe(id, bytes) {
      const h = open.get(id);
      if (h?.activity.observed) h.activity.next({ type: 'to-me', bytes });
    },
    fromMe(id, bytes) {
      const h = open.get(id);
      if (h?.activity.observed) h.activity.next({ type: 'from-me', bytes });
    },
    get: (id) => open.get(id)?.handle,
    closeAll(reason, counts) {
      for (const h of [...open.values()]) {
        open.delete(h.handle.id);
        h.activity.next({ type: 'closed', reason, ...counts(h.handle.id), durationMs: Date.now() - h.handle.openedAt });
        h.activity.complete();
      }
    },
    complete() {
      opened$.complete();
      for (const h of open.values()) h.activity.complete();
    },
  };
};
