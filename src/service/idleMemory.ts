/**
 * Memory given back once a burst of work is over. V8 shrinks its own heap after a quiet spell of
 * its own (within about 30 s, measured), but the C heap's free pages (socket buffers, the parser's
 * and compiler's scratch) stay with the process until malloc_trim(3) returns them: 8-11 MB after a
 * minute of mixed load in hand-run soaks, though little in one bench --peer round (issue #27 says
 * so). Trimming is one call of about 2 ms, made once per burst, never while idle.
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
