/**
 * Memory given back once a burst of work is over: a full V8 collection, then malloc_trim(3).
 * V8 shrinks its heap on a quiet spell of its own only when a full collection happened near the
 * burst's end: in the bench --peer sequence (a load, 1,000 HEADs, a 60 s soak) it never did, and
 * its heap and the Buffers it still held stayed for good. The C heap's free pages (socket buffers,
 * the parser's and compiler's scratch) stay with the process until malloc_trim returns them.
 * Measured in that sequence, RSS 60 s after the soak: 75.6 -> 71.0 MB with the trim alone, 75.4 ->
 * 66.3 MB with the collection first. Both run once per burst, never while idle.
 */
import { asyncScheduler, debounceTime, filter, map, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { LmsEvent } from '../streams/sessionTypes.js';

/** How long after the last channel closed memory is given back: after V8's own shrink. */
export const IDLE_RELEASE_MS = 45_000;

/** One value `ms` after the last channel of a burst closed; none while channels keep closing, none when nothing happens. */
export const quietAfterChannels =
  (ms: number = IDLE_RELEASE_MS, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<LmsEvent, void> =>
  (events) =>
    events.pipe(
      filter((e) => e.type === 'channel-closed'),
      debounceTime(ms, scheduler),
      map(() => undefined),
    );

/**
 * A full collection where node exposes one (the bin's shebang gives `--expose-gc`); false where
 * it does not, as in a library user's process that did not ask for it.
 */
export const collectGarbage = (): boolean => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  return true;
};
