/**
 * A private system bus (a real dbus-daemon on a socket of its own) with a test double of
 * org.freedesktop.login1 on it: it records every call and powers nothing off. Tests point lms at
 * it with DBUS_SYSTEM_BUS_ADDRESS; the machine's own bus and logind are never touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import dbus from '@homebridge/dbus-native';
import './noSystemBus.js';

export interface LogindDouble {
  /** The bus address to put in DBUS_SYSTEM_BUS_ADDRESS. */
  readonly address: string;
  /** Each call: its method and arguments (a u64 as a bigint). */
  readonly calls: { method: string; args: unknown[] }[];
  /** What CanSuspend and CanHibernate answer. */
  can: { suspend: string; hibernate: string };
  /** Emits PrepareForSleep(false): the host woke up. */
  resume(): void;
  stop(): Promise<void>;
}

const CONFIG = (
  socket: string,
): string => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;

/** A dbus-daemon to run: a missing binary is an answer here, not an uncaught spawn error. */
export const dbusDaemonAvailable = (): boolean => spawnSync('dbus-daemon', ['--version'], { stdio: 'ignore' }).status === 0;

export const startLogindDouble = async (): Promise<LogindDouble> => {
  const dir = mkdtempSync(join(tmpdir(), 'lms-bus-'));
  const socket = join(dir, 'system_bus_socket');
  writeFileSync(join(dir, 'bus.conf'), CONFIG(socket));
  const daemon: ChildProcess = spawn(
    'dbus-daemon',
    ['--nofork', '--nopidfile', `--config-file=${join(dir, 'bus.conf')}`, '--print-address'],
    { stdio: ['ignore', 'pipe', 'ignore'] } /* it complains it cannot raise its fd limit: harmless here */,
  );
  const address = await new Promise<string>((resolve, reject) => {
    daemon.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
  });
  const bus = (dbus as unknown as { sessionBus(o: { busAddress: string }): unknown }).sessionBus({ busAddress: address }) as {
    exportInterface(obj: object, path: string, iface: object): void;
    requestName(name: string, flags: number, cb: (err: unknown) => void): void;
    connection: EventEmitter & { stream?: { destroy(): void } };
  };
  const calls: LogindDouble['calls'] = [];
  const can = { suspend: 'yes', hibernate: 'yes' };
  const record = (method: string, ...args: unknown[]): void => void calls.push({ method, args });
  // The methods logind has that lms calls, with their D-Bus signatures; a u64 arrives as a number.
  const manager = Object.assign(new EventEmitter(), {
    CanSuspend: () => {
      record('CanSuspend');
      return can.suspend;
    },
    CanHibernate: () => {
      record('CanHibernate');
      return can.hibernate;
    },
    SetWallMessage: (message: string, enable: boolean) => record('SetWallMessage', message, enable),
    ScheduleShutdown: (kind: string, usec: number) => record('ScheduleShutdown', kind, BigInt(usec)),
    Suspend: (interactive: boolean) => record('Suspend', interactive),
    Hibernate: (interactive: boolean) => record('Hibernate', interactive),
  });
  bus.exportInterface(manager, '/org/freedesktop/login1', {
    name: 'org.freedesktop.login1.Manager',
    methods: {
      CanSuspend: ['', 's'],
      CanHibernate: ['', 's'],
      SetWallMessage: ['sb', ''],
      ScheduleShutdown: ['st', ''],
      Suspend: ['b', ''],
      Hibernate: ['b', ''],
    },
    signals: { PrepareForSleep: ['b'] },
  });
  await new Promise<void>((resolve, reject) => bus.requestName('org.freedesktop.login1', 0, (err) => (err ? reject(err) : resolve())));
  return {
    address,
    calls,
    get can() {
      return can;
    },
    set can(v) {
      Object.assign(can, v);
    },
    resume: () => void manager.emit('PrepareForSleep', false),
    async stop() {
      bus.connection.stream?.destroy();
      daemon.kill();
      await new Promise((r) => daemon.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/**
 * For a suite or a test: the double on its private bus, named by DBUS_SYSTEM_BUS_ADDRESS until
 * `restore`. Without dbus-daemon it is skipped with the reason, except on CI, where it fails.
 */
export const useLogindDouble = async (ctx: Mocha.Context): Promise<{ bus: LogindDouble; restore(): Promise<void> }> => {
  if (!dbusDaemonAvailable()) {
    if (process.env['CI']) throw new Error('dbus-daemon is missing (apt-get install dbus-daemon)');
    console.log('      skipped: dbus-daemon is missing (apt-get install dbus-daemon)');
    ctx.skip();
  }
  const bus = await startLogindDouble();
  const saved = process.env['DBUS_SYSTEM_BUS_ADDRESS'];
  process.env['DBUS_SYSTEM_BUS_ADDRESS'] = bus.address; // the private bus, never the machine's
  return {
    bus,
    async restore() {
      if (saved === undefined) delete process.env['DBUS_SYSTEM_BUS_ADDRESS'];
      else process.env['DBUS_SYSTEM_BUS_ADDRESS'] = saved;
      await bus.stop();
    },
  };
};
