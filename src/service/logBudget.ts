/**
 * A per-second budget for one kind of log line, so a hostile or broken ME cannot flood the log:
 * past the budget, lines are counted, and one summary line says how many were left out.
 */
export interface LogBudget {
  /** True when this line may be written now. */
  take(now?: number): boolean;
  /** How many lines were left out since the last call, when a new second has begun (else 0). */
  suppressed(now?: number): number;
}

export const createLogBudget = (perSecond: number): LogBudget => {
  let windowStart = 0;
  let used = 0;
  let dropped = 0;
  let pending = 0;
  const roll = (now: number): void => {
    if (now - windowStart < 1000) return;
    windowStart = now;
    used = 0;
    pending += dropped;
    dropped = 0;
  };
  return {
    take(now = Date.now()) {
      roll(now);
      if (used < perSecond) {
        used++;
        return true;
      }
      dropped++;
      return false;
    },
    suppressed(now = Date.now()) {
      roll(now);
      const n = pending;
      pending = 0;
      return n;
    },
  };
};
