/**
 * The session as an RxJS operator: SessionInput in, SessionEffect out. Timer effects are kept
 * inside (they come back as `timer` inputs), so everything else is for the I/O shell. Timers
 * run on RxJS's schedulers, so under TestScheduler.run they run in virtual time.
 */
import { asyncScheduler, Observable, timer, type OperatorFunction, type Subscription } from 'rxjs';
import { createSession, type SessionSnapshot } from './session/session.js';
import { defaultSessionOptions, timerId, type SessionEffect, type SessionInput, type SessionOptions, type TimerKey } from './sessionTypes.js';

/** The session's options, and a reader of its state for status reports. */
export interface RunSessionOptions extends Partial<SessionOptions> {
  /**
   * Receives a reader of the session's state (queue length, buffered bytes: what no event says),
   * for status reports. It reads; it cannot drive the session.
   */
  readonly onSnapshot?: (read: () => SessionSnapshot) => void;
}

/** The LMS session as an RxJS operator: SessionInput in, SessionEffect out, its timers on RxJS's schedulers. */
export const runSession =
  (options: RunSessionOptions = {}): OperatorFunction<SessionInput, SessionEffect> =>
  (source) =>
    new Observable<SessionEffect>((subscriber) => {
      const session = createSession({ ...defaultSessionOptions, ...options }, () => asyncScheduler.now());
      options.onSnapshot?.(() => session.snapshot());
      const timers = new Map<string, Subscription>();
      // Inputs that arrive while effects are being delivered (an effect handler that feeds back
      // synchronously) wait their turn, so each step sees the state its predecessor left.
      const backlog: SessionInput[] = [];
      let busy = false;

      const cancel = (key: TimerKey): void => {
        const id = timerId(key);
        timers.get(id)?.unsubscribe();
        timers.delete(id);
      };

      const feed = (input: SessionInput): void => {
        backlog.push(input);
        if (busy) return;
        busy = true;
        try {
          while (backlog.length > 0 && !subscriber.closed) {
            for (const effect of session.step(backlog.shift()!)) {
              if (effect.kind === 'start-timer') {
                cancel(effect.key);
                const id = timerId(effect.key);
                timers.set(
                  id,
                  timer(effect.ms).subscribe(() => {
                    timers.delete(id);
                    feed({ kind: 'timer', key: effect.key });
                  }),
                );
              } else if (effect.kind === 'cancel-timer') cancel(effect.key);
              else subscriber.next(effect);
            }
          }
        } catch (err) {
          subscriber.error(err); // a broken invariant, not a protocol event
        } finally {
          busy = false;
        }
      };

      const subscription = source.subscribe({
        next: feed,
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        for (const t of timers.values()) t.unsubscribe();
        timers.clear();
        backlog.length = 0;
      };
    });
