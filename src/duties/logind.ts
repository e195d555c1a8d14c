/**
 * systemd-logind on the system bus (dbus-next; `DBUS_SYSTEM_BUS_ADDRESS` is honoured, which is how
 * the tests give it a private bus with a logind double): what the power duty asks of it, and the
 * PrepareForSleep signal that says the host woke up. lms stays unprivileged: polkit lets user lms
 * make these calls and no others (packaging/polkit/).
 */
import dbus from 'dbus-next';

export interface Logind {
  /** "yes", "no", "challenge" or "na", as logind answers. */
  canSuspend(): Promise<string>;
  canHibernate(): Promise<string>;
  setWallMessage(message: string): Promise<void>;
  /** A poweroff or reboot at `at` (ms since the epoch). */
  scheduleShutdown(kind: 'poweroff' | 'reboot', at: number): Promise<void>;
  suspend(): Promise<void>;
  hibernate(): Promise<void>;
  /** Runs `f` each time the host resumes from sleep (PrepareForSleep(false)). */
  onResume(f: () => void): void;
  close(): void;
}

const NAME = 'org.freedesktop.login1';
const PATH = '/org/freedesktop/login1';

/** A bus that does not answer must not hold a duty: each call is bounded. */
const BOUND_MS = 5_000;
const bounded = <A>(p: Promise<A>, what: string): Promise<A> => {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer within ${BOUND_MS / 1000} s`)), BOUND_MS)));
  return Promise.race([p, late]).finally(() => clearTimeout(t));
};

export const connectLogind = async (): Promise<Logind> => {
  const bus = dbus.systemBus();
  // A bus that is not there (no socket) says so as an error event: the connect fails at once. An
  // error later is a lost bus, not a crash: the next call fails and the duty says why.
  const failed = new Promise<never>((_, reject) => bus.once('error', (err: Error) => reject(err)));
  bus.on('error', () => undefined);
  failed.catch(() => undefined);
  try {
    const manager = (await bounded(Promise.race([bus.getProxyObject(NAME, PATH), failed]), 'the system bus')).getInterface(`${NAME}.Manager`);
    const call = (method: string, ...args: unknown[]): Promise<unknown> => bounded((manager[method] as (...a: unknown[]) => Promise<unknown>)(...args), `logind ${method}`);
    return {
      canSuspend: () => call('CanSuspend').then(String),
      canHibernate: () => call('CanHibernate').then(String),
      setWallMessage: (message) => call('SetWallMessage', message, true).then(() => undefined),
      // logind takes CLOCK_REALTIME microseconds as a u64.
      scheduleShutdown: (kind, at) => call('ScheduleShutdown', kind, BigInt(at) * 1000n).then(() => undefined),
      suspend: () => call('Suspend', false).then(() => undefined),
      hibernate: () => call('Hibernate', false).then(() => undefined),
      onResume: (f) => void manager.on('PrepareForSleep', (start: boolean) => !start && f()),
      close: () => bus.disconnect(),
    };
  } catch (err) {
    bus.disconnect();
    throw new Error(`logind is not reachable on the system bus: ${err instanceof Error ? err.message : String(err)}`);
  }
};
