/** Exit codes scripts can rely on (also listed by `lms --help`). */
export const Exit = {
  Ok: 0,
  /** Something unexpected: a bug. */
  Failure: 1,
  /** A wrong flag, value or configuration file. */
  Usage: 2,
  /** No usable ME: no device, no permission, no LME client, or an LME too old. */
  NoDevice: 3,
  /** The daemon is not running, or does not answer (lms status). */
  NotRunning: 4,
  /** The probed host did not answer as AMT (lms probe). */
  NoAmt: 5,
  /** lms doctor: a finding warns or fails. */
  Findings: 6,
  /** The daemon runs, but this user may not ask it (lms status). */
  NotPermitted: 7,
} as const;

export class UsageError extends Error {}
