/**
 * systemd-logind on the system bus (@homebridge/dbus-native, pure JavaScript; `DBUS_SYSTEM_BUS_ADDRESS` is honoured, which is how
 * the tests give it a private bus with a logind double): what the power duty asks of it, and the
 * PrepareForSleep signal that says the host woke up. lms stays unprivileged: polkit lets user lms
 * make these calls and no others (packaging/polkit/).
 */
import dbus from '@homebridge/dbus-native';

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
  /** False once the bus connection ended (dbus restarted): the next user connects again. */
  alive(): boolean;
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

type Callback = (err: unknown, value?: unknown) => void;
type Manager = Record<string, (...args: unknown[]) => void> & { on(signal: string, f: (...args: unknown[]) => void): void };

/** A D-Bus error arrives as { name, message } or as the message list; said as one sentence. */
const busError = (err: unknown): Error => {
  if (err instanceof Error) return err;
  const e = err as { name?: string; message?: unknown } | unknown[];
  if (Array.isArray(e)) return new Error(e.join(' '));
  return new Error([e?.name, Array.isArray(e?.message) ? e.message.join(' ') : e?.message].filter(Boolean).join(': ') || String(err));
};

export const connectLogind = async (): Promise<Logind> => {
  const bus = dbus.systemBus();
  // A bus that is not there (no socket) says so as an error event: the connect fails at once. An
  // error later is a lost bus, not a crash: the next call fails and the duty says why.
  const failed = new Promise<never>((_, reject) => bus.connection.once('error', (err: Error) => reject(err)));
  let alive = true;
  const gone = (): void => {
    alive = false;
  };
  bus.connection.on('error', gone);
  bus.connection.on('end', gone);
  failed.catch(() => undefined);
  const close = (): void => void bus.connection.stream?.destroy();
  try {
    const found = new Promise<Manager>((resolve, reject) =>
      bus
        .getService(NAME)
        .getInterface(PATH, `${NAME}.Manager`, (err, iface) =>
          err || !iface ? reject(busError(err ?? 'no such interface')) : resolve(iface as unknown as Manager),
        ),
    );
    const manager = await bounded(Promise.race([found, failed]), 'the system bus');
    const call = (method: string, ...args: unknown[]): Promise<unknown> =>
      bounded(
        new Promise((resolve, reject) => {
          const f = manager[method];
          if (typeof f !== 'function') return reject(new Error(`logind has no method ${method}`));
          f.call(manager, ...args, ((err, value) => (err ? reject(busError(err)) : resolve(value))) as Callback);
        }),
        `logind ${method}`,
      );
    return {
      canSuspend: () => call('CanSuspend').then(String),
      canHibernate: () => call('CanHibernate').then(String),
      setWallMessage: (message) => call('SetWallMessage', message, true).then(() => undefined),
      // logind takes CLOCK_REALTIME microseconds as a u64 (within 2^53 for millennia).
      scheduleShutdown: (kind, at) => call('ScheduleShutdown', kind, at * 1000).then(() => undefined),
      suspend: () => call('Suspend', false).then(() => undefined),
      hibernate: () => call('Hibernate', false).then(() => undefined),
      onResume: (f) => manager.on('PrepareForSleep', (start) => !start && f()),
      alive: () => alive,
      close,
    };
  } catch (err) {
    close();
    throw new Error(`logind is not reachable on the system bus: ${err instanceof Error ? err.message : String(err)}`);
  }
};
