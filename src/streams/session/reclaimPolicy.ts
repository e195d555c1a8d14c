/**
 * Taking back quiet channels while other clients wait (issue #14): the ME has eight slots, and a
 * local client that holds one and says nothing must not keep everyone else out. Two measures,
 * kept apart so that a long legitimate exchange is never cut:
 * - idle: no byte either way for `idleMs`, and no request of the client left unanswered. This is
 *   an HTTP connection between requests (a browser's keep-alive), one that never sent a byte, or
 *   one whose client stopped reading. Closing it costs a well-behaved client a reconnect at most.
 * - no-answer: the client's bytes have had no byte back from the ME for `answerMs`, counted from
 *   the first of them, however often the client adds one (a slowloris never finishes its request).
 *   It is the longer bound because AMT may think for a while before it answers (key generation).
 * Only channels to `ports` (AMT's HTTP ports) qualify: redirection sessions are quiet for long.
 * Pure: the session owns the clock and the timer.
 */
import type { ReclaimPolicy } from '../sessionTypes.js';

/** When the channel last moved a byte, and since when the client waits for an answer. */
export interface Activity {
  lastByteAt: number;
  awaitingSince: number | undefined;
}

export const startActivity = (now: number, clientBytesWaiting: boolean): Activity => ({ lastByteAt: now, awaitingSince: clientBytesWaiting ? now : undefined });

/** The client sent bytes; true when this starts a wait for an answer (the deadline's rule changes). */
export const clientSpoke = (a: Activity, now: number): boolean => {
  a.lastByteAt = now;
  if (a.awaitingSince !== undefined) return false;
  a.awaitingSince = now;
  return true;
};

/** The ME sent bytes; true when this answers a wait (the deadline's rule changes). */
export const meSpoke = (a: Activity, now: number): boolean => {
  a.lastByteAt = now;
  if (a.awaitingSince === undefined) return false;
  a.awaitingSince = undefined;
  return true;
};

export interface ReclaimDeadline {
  readonly at: number;
  readonly why: 'idle' | 'no-answer';
  /** What the deadline counts from. */
  readonly since: number;
}

/** When the channel becomes reclaimable, if ever. */
export const reclaimDeadline = (a: Activity, p: ReclaimPolicy): ReclaimDeadline | undefined => {
  if (a.awaitingSince !== undefined) return p.answerMs > 0 ? { at: a.awaitingSince + p.answerMs, why: 'no-answer', since: a.awaitingSince } : undefined;
  return p.idleMs > 0 ? { at: a.lastByteAt + p.idleMs, why: 'idle', since: a.lastByteAt } : undefined;
};
