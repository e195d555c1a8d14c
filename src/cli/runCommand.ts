/** `lms run`: the daemon. */
import { execFile } from 'node:child_process';
import { pino } from 'pino';
import { EMPTY } from 'rxjs';
import type { SimulatedMe } from '../device/simulator/simulatedMe.js';
import type { MeDevice } from '../device/transport.js';
import { controlPathProblem, defaultControlSocket, serveControl } from '../service/controlSocket.js';
import { startHostDuties, type HostDuties } from '../duties/hostDuties.js';
import { startLms, type LmsService } from '../service/lmsService.js';
import { logDestination } from '../service/logFormat.js';
import { dropPrivileges, planControlGroup, planDrop, type DropPlan } from '../service/privileges.js';
import { defaultReclaimPolicy } from '../streams/sessionTypes.js';
import { reloadConfigFile } from './config.js';
import { SIM_PROVISIONING } from '../device/simulator/amt/profiles.js';
import { Exit, UsageError } from './exitCodes.js';
import { meDevices } from './meDevices.js';
import { parseRunArgs, RUN_HELP, type RunOptions } from './runArgs.js';

const AMT_PORTS = [16992, 16993, 623, 664];
const STOP_BOUND_MS = 5_000;

const scheduleFaults = (me: SimulatedMe, faults: RunOptions['faults'], log: pino.Logger<'notice'>): NodeJS.Timeout[] =>
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
      else if (name === 'cira-drop') me.dropCira();
      else if (name.startsWith('graceful-'))
        me.notify('iAMT0067', [String(['shutdown', 'reboot', 'sleep', 'hibernate'].indexOf(name.slice('graceful-'.length)))]);
    }, atMs),
  );

/** Tells systemd (Type=notify) that the service is up, when it runs under systemd. */
const notifyReady = (log: pino.Logger<'notice'>): void => {
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
  // Names and paths are checked before anything starts: a wrong one is one line on stderr, exit 2.
  let plan: DropPlan;
  let controlGroup: number | undefined;
  try {
    plan = planDrop(opts.user, opts.group);
    controlGroup = planControlGroup(opts.controlGroup);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const controlPath = opts.controlSocket ?? defaultControlSocket();
  const badPath = controlPathProblem(controlPath, plan.kind === 'drop' ? plan.uid : undefined);
  if (badPath) throw new UsageError(`control socket: ${badPath}`);
  // notice (35): AMT's events, between info and warn, as syslog has it (journalctl -p notice).
  const log = pino({ level: opts.logLevel ?? 'info', customLevels: { notice: 35 }, base: { pid: process.pid } }, logDestination(opts.logFormat));
  // Each mode loads only its own device code: a daemon on hardware carries no simulator, and back.
  const simulate = async (): Promise<import('../device/simulator/simulatedMe.js').SimulatedMe> => {
    const { SimulatedMe } = await import('../device/simulator/simulatedMe.js');
    try {
      return new SimulatedMe({
        profile: opts.simProfile ?? 'plain',
        // With --sim-ports the first serves HTTP, over TLS in the tls profile.
        ...(opts.simPorts
          ? { ports: opts.simPorts, httpPorts: opts.simPorts.slice(0, 1), tlsPorts: opts.simProfile === 'tls' ? opts.simPorts.slice(0, 1) : [] }
          : {}),
        ...(opts.simWindow ? { window: opts.simWindow } : {}),
        ...(opts.simClockSkewS !== undefined ? { clockSkewS: opts.simClockSkewS } : {}),
        ...(opts.simNoTimeSync ? { localTimeSyncEnabled: 2 as const } : {}),
        ...(opts.simAmtVersion ? { amtVersion: opts.simAmtVersion } : {}),
        ...(opts.simProvisioning ? { amthi: SIM_PROVISIONING[opts.simProvisioning] } : {}),
        ...(opts.simState ? { stateFile: opts.simState } : {}),
        ...(opts.simTrustedRoots ? { trustedRootHashes: opts.simTrustedRoots } : {}),
        ...(opts.simCira ? { cira: true } : {}),
      });
    } catch (err) {
      // A --sim-state file that cannot be read or is not one.
      throw new UsageError((err as Error).message);
    }
  };
  const simulated = opts.simulate ? await simulate() : undefined;
  const device: MeDevice =
    simulated ?? new (await import('../device/meiDevice.js')).MeiDevice({ path: opts.device ?? '/dev/mei0', onNote: (note) => log.debug({}, note) });
  log.info({ device: device.description, bind: opts.bind ?? ['127.0.0.1', '::1'] }, 'lms starting');
  // The simulated AMT's accounts are the simulator's own, not a secret: a tool developer needs the
  // local system account to activate it as rpc-go activates a real AMT (which reads it over AMTHI).
  if (simulated) {
    const a = simulated.amt;
    log.info(
      {
        version: a.version,
        realm: a.realm,
        admin: `${simulated.user}:${simulated.password}`,
        localSystemAccount: `${simulated.localAccount.user}:${simulated.localAccount.password}`,
      },
      `simulated AMT ${a.version}, ${['not provisioned', 'in provisioning', 'provisioned'][a.persisted.provisioning.state]}${a.persisted.provisioning.state === 2 ? ` (${['', 'client', 'admin'][a.persisted.provisioning.controlMode]} control mode)` : ''}`,
    );
  }

  // Started as root with a user to become, the ports are bound now: after the drop they cannot be.
  const reserve = opts.reservePorts || plan.kind === 'drop' ? (opts.simPorts ?? AMT_PORTS) : undefined;
  // The simulated ME's HTTP port is the first of --sim-ports; the real ME's are 16992 and 16993.
  const reclaim = {
    ports: opts.simPorts ? opts.simPorts.slice(0, 1) : defaultReclaimPolicy.ports,
    idleMs: opts.reclaimIdleMs ?? defaultReclaimPolicy.idleMs,
    answerMs: opts.reclaimAnswerMs ?? defaultReclaimPolicy.answerMs,
  };
  let lms: LmsService | undefined;
  let duties: HostDuties | undefined;
  const statusReply = (): unknown => ({
    pid: process.pid,
    ...lms?.status(),
    ...(duties ? { duties: duties.status() } : {}),
    ...(simulated
      ? {
          simulator: {
            ...simulated.stats,
            hostFqdns: simulated.amthiState.hostFqdns,
            clockSkewS: Math.round(simulated.amt.clockSkewMs / 1000),
            powerStatesSupported: simulated.amt.powerStatesSupported,
            hostIpSettings: simulated.amt.hostIpSettings,
          },
        }
      : {}),
  });
  const access = { ...(plan.kind === 'drop' ? { owner: plan } : {}), ...(controlGroup !== undefined ? { group: controlGroup } : {}) };
  const control = await serveControl(controlPath, { status: statusReply, events: () => lms?.amtEvents$ ?? EMPTY }, access).catch((err: Error) => {
    simulated?.close();
    throw new UsageError(`control socket: ${err.message}`);
  });
  try {
    lms = startLms({
      device,
      ...(opts.bind ? { bindAddresses: opts.bind } : {}),
      ...(reserve ? { reservePorts: reserve } : {}),
      ...(opts.window ? { window: opts.window } : {}),
      ...(opts.maxChannels ? { maxChannels: opts.maxChannels } : {}),
      reclaim,
      logger: log,
    });
  } catch (err) {
    control.close();
    simulated?.close();
    throw new UsageError((err as Error).message);
  }
  const service: LmsService = lms;
  // The host duties reach AMT over AMTHI, and WS-Man over the LMS's own in-process channel.
  const amthi: MeDevice = simulated ? simulated.amthi() : (await meDevices({ device: opts.device ?? '/dev/mei0' })).amthi;
  duties = startHostDuties({
    lms: service,
    amthi,
    log,
    ...(opts.hostFqdn === false ? { hostFqdn: false } : {}),
    ...(opts.timeSync === false ? { timeSync: false } : {}),
    ...(opts.powerOps === false ? { powerOps: false } : {}),
    ...(opts.ciraReconnect === false ? { ciraReconnect: false } : {}),
    ...(opts.sharedStaticIp === false ? { sharedStaticIp: false } : {}),
    // The host's own AMT watchdog is never armed for a simulated ME, unless a device is named.
    ...(opts.watchdog !== false && (!simulated || opts.watchdogDevice !== undefined)
      ? { watchdog: opts.watchdogDevice !== undefined ? { device: opts.watchdogDevice } : {} }
      : {}),
    // The simulated ME's WS-Man port with --sim-ports: its first, plain or (tls profile) TLS.
    ...(opts.simPorts
      ? { wsmanPorts: opts.simProfile === 'tls' ? { http: 16992, tls: opts.simPorts[0]! } : { http: opts.simPorts[0]!, tls: opts.simPorts[0]! } }
      : {}),
  });

  // prom-client is loaded only when metrics are asked for: it is most of an idle daemon's memory otherwise.
  const metrics = opts.metricsPort
    ? await (await import('../service/metrics.js')).startMetrics(service, opts.metricsPort).catch((err: Error) => {
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
      control.close();
      metrics?.close();
      duties?.stop();
      await service.stop();
      simulated?.close();
      log.info({}, 'lms stopped');
      return code;
    })();
    return stopping;
  };

  return new Promise<number>((resolve) => {
    // A second signal during the stop is noted, not obeyed by the default action (which would kill
    // the process with 143 mid-stop): the stop is bounded by STOP_BOUND_MS anyway.
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return log.info({ signal }, `${signal} again: already stopping`);
      void stop(signal, Exit.Ok).then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    let reloading = false;
    process.on('SIGHUP', () => {
      if (!opts.configPath) return log.info({}, 'SIGHUP: no configuration file to reload');
      if (reloading) return log.info({}, 'SIGHUP: a reload is already under way');
      reloading = true;
      reloadConfigFile(opts.configPath)
        .then(
          (fresh) => {
            if (fresh.logLevel) log.level = fresh.logLevel;
            log.info({ config: opts.configPath, logLevel: log.level }, 'configuration reloaded (log level applied; other settings take effect on restart)');
          },
          (err: Error) => log.error({ config: opts.configPath }, `SIGHUP: ${err.message}; keeping the running configuration`),
        )
        .finally(() => (reloading = false));
    });
    void service.failure().then((err) => {
      log.fatal({ code: err.code }, err.message);
      void stop(`device: ${err.code}`, Exit.NoDevice).then(resolve);
    });
    void service.ready().then(
      async () => {
        // Drop only once every reserved port is bound (or has failed for good).
        for (let i = 0; i < 100 && reserve && service.status().session.listening.length < reserve.length; i++) await new Promise((r) => setTimeout(r, 20));
        try {
          const dropped = dropPrivileges(plan, log);
          log.info({ status: controlPath, ...dropped }, 'lms ready');
          notifyReady(log);
        } catch (err) {
          log.fatal({}, (err as Error).message);
          void stop('privileges', Exit.Usage).then(resolve);
        }
      },
      () => undefined,
    );
  });
};
