/** `lms run`: the daemon. */
import { execFile } from 'node:child_process';
import { pino } from 'pino';
import type { SimulatedMe } from '../device/simulator/simulatedMe.js';
import type { MeDevice } from '../device/transport.js';
import { defaultControlSocket, serveControl } from '../service/controlSocket.js';
import { startLms, type LmsService } from '../service/lmsService.js';
import { dropPrivileges, willDrop } from '../service/privileges.js';
import { loadConfigFile } from './config.js';
import { Exit } from './exitCodes.js';
import { parseRunArgs, RUN_HELP, type RunOptions } from './runArgs.js';

const AMT_PORTS = [16992, 16993, 623, 664];
const STOP_BOUND_MS = 5_000;

const scheduleFaults = (me: SimulatedMe, faults: RunOptions['faults'], log: pino.Logger): NodeJS.Timeout[] =>
  faults.map(({ name, atMs }) =>
    setTimeout(() => {
      log.warn({ fault: name }, `injecting simulated fault ${name}`);
      if (name === 'reset') me.reset(1000);
      else if (name === 'stale-close') me.staleClose(0);
      else if (name.startsWith('open-failure-')) me.failNextOpens(Number(name.slice(-1)), 1);
      else if (name === 'slow-window') me.slowWindow(512, 20);
      else if (name === 'notify') me.notify();
      else if (name === 'malformed') me.sendMalformed();
      else if (name === 'disconnect') me.disconnect();
    }, atMs),
  );

/** Tells systemd (Type=notify) that the service is up, when it runs under systemd. */
const notifyReady = (log: pino.Logger): void => {
  if (!process.env['NOTIFY_SOCKET']) return;
  execFile('systemd-notify', ['--ready', `--pid=${process.pid}`], (err) => {
    if (err) log.warn({ error: err.message }, 'systemd-notify failed');
  });
};

export const runCommand = async (argv: readonly string[]): Promise<number> => {
  const opts = parseRunArgs(argv);
  if (opts === 'help') {
    process.stdout.write(`${RUN_HELP}\n`);
    return Exit.Ok;
  }
  const log = pino({ level: opts.logLevel ?? 'info', base: { pid: process.pid } }, pino.destination({ fd: 1, sync: true }));
  // Each mode loads only its own device code: a daemon on hardware carries no simulator, and back.
  const simulated = opts.simulate
    ? new (await import('../device/simulator/simulatedMe.js')).SimulatedMe({
        profile: opts.simProfile ?? 'plain',
        ...(opts.simPorts ? { ports: opts.simPorts, httpPorts: opts.simPorts.slice(0, 1) } : {}),
        ...(opts.simWindow ? { window: opts.simWindow } : {}),
      })
    : undefined;
  const device: MeDevice = simulated ?? new (await import('../device/meiDevice.js')).MeiDevice({ path: opts.device ?? '/dev/mei0', onNote: (note) => log.debug({}, note) });
  log.info({ device: device.description, bind: opts.bind ?? ['127.0.0.1', '::1'] }, 'lms starting');

  // Started as root with a user to become, the ports are bound now: after the drop they cannot be.
  const dropping = willDrop(opts.user);
  const reserve = opts.reservePorts || dropping ? (opts.simPorts ?? AMT_PORTS) : undefined;
  let lms: LmsService;
  try {
    lms = startLms({
      device,
      ...(opts.bind ? { bindAddresses: opts.bind } : {}),
      ...(reserve ? { reservePorts: reserve } : {}),
      ...(opts.window ? { window: opts.window } : {}),
      ...(opts.maxChannels ? { maxChannels: opts.maxChannels } : {}),
      logger: log,
    });
  } catch (err) {
    log.error({}, (err as Error).message);
    return Exit.Usage;
  }

  const controlPath = opts.controlSocket ?? defaultControlSocket();
  const control = await serveControl(controlPath, () => ({ ...lms.status(), ...(simulated ? { simulator: simulated.stats } : {}) })).catch((err: Error) => {
    log.warn({ path: controlPath, error: err.message }, 'no control socket: lms status will not reach this daemon');
    return undefined;
  });

  // prom-client is loaded only when metrics are asked for: it is most of an idle daemon's memory otherwise.
  const metrics = opts.metricsPort
    ? await (await import('../service/metrics.js')).startMetrics(lms, opts.metricsPort).catch((err: Error) => {
        log.error({ port: opts.metricsPort }, `cannot serve metrics on 127.0.0.1:${opts.metricsPort}: ${err.message}`);
        return undefined;
      })
    : undefined;
  const timers = simulated ? scheduleFaults(simulated, opts.faults, log) : [];
  let stopping: Promise<number> | undefined;
  const stop = (why: string, code: number): Promise<number> => {
    stopping ??= (async () => {
      log.info({ reason: why }, 'lms stopping');
      timers.forEach(clearTimeout);
      const bound = setTimeout(() => {
        log.error({}, `stop took longer than ${STOP_BOUND_MS} ms; exiting anyway`);
        process.exit(code);
      }, STOP_BOUND_MS);
      bound.unref();
      control?.close();
      metrics?.close();
      await lms.stop();
      simulated?.close();
      log.info({}, 'lms stopped');
      return code;
    })();
    return stopping;
  };

  return new Promise<number>((resolve) => {
    process.once('SIGTERM', () => void stop('SIGTERM', Exit.Ok).then(resolve));
    process.once('SIGINT', () => void stop('SIGINT', Exit.Ok).then(resolve));
    process.on('SIGHUP', () => {
      if (!opts.configPath) return log.info({}, 'SIGHUP: no configuration file to reload');
      try {
        const fresh = loadConfigFile(opts.configPath);
        if (fresh.logLevel) log.level = fresh.logLevel;
        log.info({ config: opts.configPath, logLevel: log.level }, 'configuration reloaded (log level applied; other settings take effect on restart)');
      } catch (err) {
        log.error({ config: opts.configPath }, `SIGHUP: ${(err as Error).message}; keeping the running configuration`);
      }
    });
    void lms.failure().then((err) => {
      log.fatal({ code: err.code }, err.message);
      void stop(`device: ${err.code}`, Exit.NoDevice).then(resolve);
    });
    void lms.ready().then(async () => {
      // Drop only once every reserved port is bound (or has failed for good).
      for (let i = 0; i < 100 && reserve && lms.status().session.listening.length < reserve.length; i++) await new Promise((r) => setTimeout(r, 20));
      try {
        const dropped = dropPrivileges(opts.user, opts.group, log);
        log.info({ status: controlPath, ...dropped }, 'lms ready');
        notifyReady(log);
      } catch (err) {
        log.fatal({}, (err as Error).message);
        void stop('privileges', Exit.Usage).then(resolve);
      }
    }, () => undefined);
  });
};
