/**
 * Sharing the ME's slots between local users (issue #25). The ME has eight channel slots; one
 * user's connections, quiet or slow, must not keep another user out. Three rules, over plain data:
 * - Admission goes round the users that wait: the next slot goes to the waiting user that holds
 *   the fewest, ties to the one served longest ago (so a slot taken back from one user goes to
 *   another that waits).
 * - A user that waits while another holds at least two slots more takes one back from that user:
 *   its newest channel, whatever its port, so long sessions that started first are kept.
 * - Whatever the redirection ports hold, a socket for a WS-Man port gets a slot: the last free
 *   slot is kept for it, and when every slot carries another port, the newest channel of the user
 *   holding the most is taken back.
 * With one user, or with nobody waiting, none of this takes anything: a redirection session is
 * never cut while nobody else waits.
 */
import type { SocketOwner } from '../sessionTypes.js';

/** A channel as fair sharing sees it: whose, whether it carries a WS-Man port, whether it can be taken back. */
export interface SlotHolder<C> {
  readonly channel: C;
  readonly owner: SocketOwner;
  readonly wsman: boolean;
  /** Confirmed by the ME (an opening channel holds its slot but cannot be closed yet). */
  readonly open: boolean;
  /** When it opened: the newest is taken back first. */
  readonly openedAt: number;
}

/** What one waiting user asks for: any slot, and whether some of its sockets want a WS-Man port. */
export interface Waiter {
  readonly owner: SocketOwner;
  readonly wsman: boolean;
}

export interface ShareReclaim<C> {
  readonly channel: C;
  readonly owner: SocketOwner;
  readonly why: 'over-share' | 'port-share';
  /** The waiting user the slot is for. */
  readonly for: SocketOwner;
}

/** Slots each owner holds. */
export const holdings = <C>(held: readonly SlotHolder<C>[]): Map<SocketOwner, number> => {
  const n = new Map<SocketOwner, number>();
  for (const h of held) n.set(h.owner, (n.get(h.owner) ?? 0) + 1);
  return n;
};

/** The newest channel that can be taken back among those `pick` accepts. */
const newest = <C>(held: readonly SlotHolder<C>[], pick: (h: SlotHolder<C>) => boolean): SlotHolder<C> | undefined => {
  let best: SlotHolder<C> | undefined;
  for (const h of held) if (h.open && pick(h) && (!best || h.openedAt >= best.openedAt)) best = h;
  return best;
};

/**
 * The channel to take back so that a waiting user gets its share, or a WS-Man client a slot.
 * Asked only while every slot is taken and none is closing already (a slot is then on its way).
 */
export const shareReclaim = <C>(held: readonly SlotHolder<C>[], waiters: readonly Waiter[]): ShareReclaim<C> | undefined => {
  if (waiters.length === 0) return undefined;
  const holds = holdings(held);
  let top: SocketOwner | undefined;
  for (const [o, n] of holds) if (top === undefined || n > holds.get(top)!) top = o;
  if (top === undefined) return undefined;
  const most = holds.get(top)!;
  // The poorest waiter is the one the rule serves first.
  let poorest: Waiter | undefined;
  for (const w of waiters) if (!poorest || (holds.get(w.owner) ?? 0) < (holds.get(poorest.owner) ?? 0)) poorest = w;
  if (poorest && most >= (holds.get(poorest.owner) ?? 0) + 2) {
    const h = newest(held, (c) => c.owner === top);
    if (h) return { channel: h.channel, owner: h.owner, why: 'over-share', for: poorest.owner };
  }
  const wsmanWaiter = waiters.find((w) => w.wsman);
  if (wsmanWaiter && !held.some((h) => h.wsman)) {
    // Every slot carries a redirection port: the user holding the most gives one up.
    const h = newest(held, (c) => c.owner === top) ?? newest(held, () => true);
    if (h) return { channel: h.channel, owner: h.owner, why: 'port-share', for: wsmanWaiter.owner };
  }
  return undefined;
};

/**
 * Whether the last free slot must wait for a WS-Man socket: one waits, and no channel carries a
 * WS-Man port. Otherwise a redirection client could take it and the WS-Man client would have to
 * take it back at once.
 */
export const lastSlotKeptForWsman = <C>(held: readonly SlotHolder<C>[], waiters: readonly Waiter[]): boolean =>
  waiters.some((w) => w.wsman) && !held.some((h) => h.wsman);

/**
 * The waiting user served next: the one holding the fewest slots, ties to the one served longest
 * ago (`servedAt`, a turn counter; never served is earliest).
 */
export const nextOwner = (
  waiting: Iterable<SocketOwner>,
  holds: (owner: SocketOwner) => number,
  servedAt: ReadonlyMap<SocketOwner, number>,
): SocketOwner | undefined => {
  let best: SocketOwner | undefined;
  let bestHolds = 0;
  let bestTurn = 0;
  for (const o of waiting) {
    const h = holds(o);
    const t = servedAt.get(o) ?? -1;
    if (best === undefined || h < bestHolds || (h === bestHolds && t < bestTurn)) {
      best = o;
      bestHolds = h;
      bestTurn = t;
    }
  }
  return best;
};
