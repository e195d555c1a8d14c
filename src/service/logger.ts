/** The logging interface the service uses: pino's shape (object first, message second). */
export type LogFn = (fields: Record<string, unknown>, message: string) => void;

/** The logger startLms writes to: a pino logger fits (fields first, message second). */
export interface Logger {
  readonly error: LogFn;
  readonly warn: LogFn;
  /** Something an administrator should see among the info lines (AMT's events); info where absent. */
  readonly notice?: LogFn;
  readonly info: LogFn;
  readonly debug: LogFn;
  readonly trace: LogFn;
  /** pino's check, so that hot paths build no log fields for a level that is off. */
  isLevelEnabled?(level: string): boolean;
}

const nothing: LogFn = () => undefined;
export const silentLogger: Logger = { error: nothing, warn: nothing, info: nothing, debug: nothing, trace: nothing, isLevelEnabled: () => false };
