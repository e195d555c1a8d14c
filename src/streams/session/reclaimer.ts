/**
 * The timer of the reclaim policy (reclaimPolicy.ts): while sockets the ME would serve wait only
 * for a slot of ours, one timer runs to the earliest moment a quiet channel may be taken back.
 * Nobody waiting, no timer: an idle lms schedules nothing.
 */
import type { Channels, OpenChannel } from './channels.js';
import type { SessionContext } from './context.js';
import { reclaimDeadline } from './reclaimPolicy.js';

const RECLAIM = { kind: 'reclaim' } as const;

export interface Reclaimer {
  /** Start, move or stop the timer to match who waits and which channels are quiet. */
  arm(): void;
  /** A channel's rule changed: the deadline may have moved, if a timer runs at all. */
  changed(): void;
  due(): void;
  cancel(): void;
}

/** `waiting` counts the sockets the ME would serve now that wait for a slot. */
export const createReclaimer = (ctx: SessionContext, channels: Channels, waiting: () => number): Reclaimer => {
  /** When the timer is due, while one runs. */
  let at: number | undefined;

  const cancel = (): void => {
    if (at === undefined) return;
    at = undefined;
    ctx.emit({ kind: 'cancel-timer', key: RECLAIM });
  };

  /** Slots still to take back: the sockets waiting for one, less the channels already closing. */
  const slotsNeeded = (): number => {
    if (channels.size < ctx.options.maxChannels) return 0;
    let n = waiting();
    for (const ch of channels.all()) if (ch.phase === 'closing') n--;
    return n;
  };

  const candidates = (): { ch: OpenChannel; at: number; why: 'idle' | 'no-answer'; since: number }[] => {
    const found = [];
    for (const ch of channels.all()) {
      if (ch.phase !== 'open' || !ch.activity) continue;
      const d = reclaimDeadline(ch.activity, ctx.options.reclaim);
      if (d) found.push({ ch, ...d });
    }
    return found.sort((a, b) => a.at - b.at);
  };

  const arm = (): void => {
    const first = slotsNeeded() > 0 ? candidates()[0] : undefined;
    if (!first) return cancel();
    if (at === first.at) return;
    at = first.at;
    ctx.emit({ kind: 'start-timer', key: RECLAIM, ms: Math.max(0, first.at - ctx.now()) });
  };

  return {
    arm,
    cancel,
    changed() {
      if (at !== undefined) arm();
    },
    due() {
      at = undefined;
      const t = ctx.now();
      let need = slotsNeeded();
      for (const c of candidates()) {
        if (need <= 0 || c.at > t) break;
        need--;
        ctx.event({
          type: 'channel-reclaimed',
          id: c.ch.id,
          socket: c.ch.client.socket,
          port: c.ch.client.local.port,
          owner: c.ch.client.owner,
          why: c.why,
          quietMs: t - c.since,
        });
        ctx.emit({ kind: 'destroy', socket: c.ch.client.socket });
        channels.abandon(c.ch);
      }
      arm();
    },
  };
};
