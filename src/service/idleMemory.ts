/**
 * Memory given back once a burst of work is over: a full V8 collection, then malloc_trim(3).
 * V8 shrinks its heap on a quiet spell of its own only when a full collection happened near the
 * burst's end: in the bench --peer sequence (a load, 1,000 HEADs, a 60 s soak) it never did, and
 * its heap and the Buffers it still held stayed for good. The C heap's free pages (socket buffers,
 * the parser's and compiler's scratch) stay with the process until malloc_trim returns them.
 * Measured in that sequence, RSS 60 s after the soak: 75.6 -> 71.0 MB with the trim alone, 75.4 ->
 * 66.3 MB with the collection first, 62.4 MB once it compacts. All run once per burst, never while idle.
 */
import { setFlagsFromString } from 'node:v8';
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
 * A full collection that also compacts, where node exposes one (the bin's shebang gives
 * `--expose-gc`); false where it does not, as in a library user's process that did not ask for it.
 * A forced collection alone frees objects but moves none, so a page with one survivor stays: with
 * 5% of 26 MB of old space left live, gc() kept all 26 MB and the compacting one 4–4.7 MB. In the
 * bench --peer sequence it left V8 11.3 MB committed instead of 13.3, RSS 60 s after the soak 62.4
 * MB instead of 64.2–65.3. V8 reads the flag at each collection; node lets it be set at run time.
 */
export const collectGarbage = (): boolean => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
  return true;
};
