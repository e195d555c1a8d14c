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
}

/** A run's outcome: a sentence (logged when something was done) and the figures for status. */
export interface Outcome {
  readonly result: string;
  readonly details?: Record<string, unknown>;
  /** Something changed on AMT or the host (logged at info); otherwise only status shows it. */
  readonly acted: boolean;
}

export const createDuty = (name: string, log: Logger, work: (occasion: string) => Promise<Outcome>): Duty => {
  let report: DutyReport = { enabled: true };
  let running: Promise<void> | undefined;
  return {
    name,
    report: () => report,
    run(occasion) {
      running ??= (async () => {
        const at = new Date().toISOString();
        try {
          const o = await work(occasion);
          if (report.error) log.info({ duty: name, occasion }, `${name}: works again: ${o.result}`);
          else if (o.acted) log.info({ duty: name, occasion, ...o.details }, `${name}: ${o.result}`);
          report = { enabled: true, lastRunAt: at, occasion, result: o.result, ...(o.details ? { details: o.details } : {}) };
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          // Said once: the same failure on the next occasion is only counted in status.
          if (error !== report.error) log.warn({ duty: name, occasion }, `${name}: ${error}; tried again on its next occasion`);
          report = { ...report, enabled: true, lastRunAt: at, occasion, error };
        } finally {
          running = undefined;
        }
      })();
      return running;
    },
  };
};

/** A duty turned off: its report says so, and it never runs. */
export const disabledDuty = (name: string): Duty => ({ name, report: () => ({ enabled: false }), run: () => Promise.resolve() });
