/**
 * What every host duty shares: a report of when it last ran, on what occasion, what it found and
 * did; and a failure that is said once (until it changes or clears) and retried only on the next
 * occasion, never in a loop, so that a duty can never disturb the forwarding.
 */
import type { Logger } from '../service/logger.js';

export interface DutyReport {
  readonly enabled: boolean;
  /** When it last ran (ISO 8601), and on which occasion. */
  readonly lastRunAt?: string;
  readonly occasion?: string;
  /** What it found and did, in a sentence. */
  readonly result?: string;
  /** Why its last run failed. */
  readonly error?: string;
  /** The figures behind the result (the FQDN sent, the offset found, the states advertised). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Duty {
  readonly name: string;
  report(): DutyReport;
  /** Runs once for `occasion`; a run already under way is not doubled. */
  run(occasion: string): Promise<void>;
  /** Ends a run under way (its calls stop and free what they hold) without a word; no run starts after. */
  stop(): void;
}

/** A run's outcome: a sentence (logged when something was done) and the figures for status. */
export interface Outcome {
  readonly result: string;
  readonly details?: Record<string, unknown>;
  /** Something changed on AMT or the host (logged at info); otherwise only status shows it. */
  readonly acted: boolean;
}

/**
 * How long one run may take, all its calls together. A run's calls have deadlines of their own
 * (WS-Man 15 s, AMTHI 3 s, logind 5 s); this one also ends a run whose peer answers each call
 * just in time, so that the next occasion always runs.
 */
const RUN_MS = 30_000;

/**
 * A duty from its work. `work` is given a signal that aborts when the run passes `runMs`: its
 * calls stop at once and free what they hold (the ME channel), and the run fails with that reason.
 */
export const createDuty = (name: string, log: Logger, work: (occasion: string, signal: AbortSignal) => Promise<Outcome>, runMs = RUN_MS): Duty => {
  let report: DutyReport = { enabled: true };
  let running: Promise<void> | undefined;
  let current: AbortController | undefined;
  let stopped = false;
  const bounded = (occasion: string): Promise<Outcome> => {
    const stop = new AbortController();
    current = stop;
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = new Error(`the run did not finish within ${runMs / 1000} s and was stopped`);
        stop.abort(why.message);
        reject(why);
      }, runMs);
    });
    const done = work(occasion, stop.signal);
    done.catch(() => undefined); // after an overrun its own failure is no news
    return Promise.race([done, overrun]).finally(() => clearTimeout(timer));
  };
  return {
    name,
    report: () => report,
    run(occasion) {
      if (stopped) return Promise.resolve();
      running ??= (async () => {
        const at = new Date().toISOString();
        try {
          const outcome = await bounded(occasion);
          if (stopped) return;
          if (report.error) log.info({ duty: name, occasion }, `${name}: works again: ${outcome.result}`);
          else if (outcome.acted) log.info({ duty: name, occasion, ...outcome.details }, `${name}: ${outcome.result}`);
          report = { enabled: true, lastRunAt: at, occasion, result: outcome.result, ...(outcome.details ? { details: outcome.details } : {}) };
        } catch (err) {
          if (stopped) return; // the service is stopping: a call cut short is no failure
          const error = err instanceof Error ? err.message : String(err);
          // Said once: the same failure on the next occasion is only counted in status.
          if (error !== report.error) log.warn({ duty: name, occasion }, `${name}: ${error}; tried again on its next occasion`);
          report = { ...report, enabled: true, lastRunAt: at, occasion, error };
        } finally {
          running = undefined;
          current = undefined;
        }
      })();
      return running;
    },
    stop() {
      stopped = true;
      current?.abort('the service is stopping');
    },
  };
};

/** A duty whose other occasions (a timer, the host's events) are wanted only while what it reads of AMT makes it matter. */
export interface WatchingDuty extends Duty {
  readonly watching: boolean;
}

/**
 * A duty that says, through `onWatching`, each time it starts or stops mattering (its caller then
 * starts or stops that timer or subscription). `work` gets `watch(w)` to say so, and whether it
 * was known before (undefined until the first say).
 */
export const createWatchingDuty = (
  name: string,
  log: Logger,
  onWatching: (watching: boolean) => void,
  work: (occasion: string, signal: AbortSignal, watch: (watching: boolean) => void, watching: boolean | undefined) => Promise<Outcome>,
): WatchingDuty => {
  let watching: boolean | undefined;
  const watch = (w: boolean): void => {
    if (w === watching) return;
    watching = w;
    onWatching(w);
  };
  const duty = createDuty(name, log, (occasion, signal) => work(occasion, signal, watch, watching));
  return {
    ...duty,
    get watching() {
      return watching === true;
    },
  };
};

/** A duty turned off: its report says so, and it never runs. */
export const disabledDuty = (name: string): Duty => ({ name, report: () => ({ enabled: false }), run: () => Promise.resolve(), stop: () => undefined });
