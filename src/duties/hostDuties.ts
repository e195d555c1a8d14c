/**
 * The host duties Intel's LMS performs on Linux, beside the forwarding, each on by default and
 * each switchable off: the host's FQDN to AMT (at start, then hourly), AMT's clock (once forwarding
 * is up, then daily, after every resume from sleep and when a console allows it), remote graceful
 * power operations (the states advertised whenever forwarding comes up, the requests carried out
 * through logind), the CIRA reconnect (every 15 minutes, after a resume and when AMT's tunnel
 * closes, while AMT's policy makes it matter), the shared static IP (on the host's network
 * changes, while AMT syncs its IP); and, when given one, AMT's watchdog heartbeat. They reach AMT
 * over AMTHI, and WS-Man over an in-process channel of the LMS (no local TCP socket).
 */
import { debounceTime, filter, interval, Subscription, timer, type Observable } from 'rxjs';
import { dumpIpv4Addresses, routeChanges } from '../device/routeNetlink.js';
import { hostIpv4ByMac, type HostIpv4 } from './hostNetwork.js';
import { IP_SYNC_ALERT, SHARED_IP_DUTY, sharedIpDuty } from './sharedIpDuty.js';
import { CIRA_ALERT, CIRA_CLOSED, ciraDuty, PROVISIONING_ALERT } from './ciraDuty.js';
import { disabledWatchdog, startAmtWatchdog, type AmtWatchdogOptions } from './amtWatchdog.js';
import type { MeDevice } from '../device/transport.js';
import type { LmsService } from '../service/lmsService.js';
import type { Logger } from '../service/logger.js';
import { amtWsman, type WsmanPorts } from './amtWsman.js';
import { disabledDuty, type Duty, type DutyReport } from './duty.js';
import { FQDN_DUTY, fqdnDuty } from './fqdnDuty.js';
import { hostFqdn } from './hostFqdn.js';
import { connectLogind, type Logind } from './logind.js';
import { powerDuty } from './powerDuty.js';
import { TIME_DUTY, TIME_SYNC_ALERT, TIME_SYNC_ENABLED, timeSyncDuty } from './timeSyncDuty.js';

export interface HostDutiesOptions {
  readonly lms: LmsService;
  /** AMT's AMTHI client (the FQDN, the local system account). */
  readonly amthi: MeDevice;
  readonly log: Logger;
  readonly hostFqdn?: boolean;
  readonly timeSync?: boolean;
  readonly powerOps?: boolean;
  readonly ciraReconnect?: boolean;
  readonly sharedStaticIp?: boolean;
  /** The host's IPv4 settings on the NIC with a MAC (default: this host's), and when they change (default: rtnetlink). */
  readonly hostNetwork?: (mac: string) => HostIpv4 | string;
  readonly hostNetworkChanges?: () => Observable<void>;
  /**
   * AMT's watchdog heartbeat: off unless given (`{}`: the device found by its identity), so that a
   * program on a simulated ME never arms the host's own watchdog. `lms run` gives it on hardware.
   */
  readonly watchdog?: Omit<AmtWatchdogOptions, 'log'>;
  /** The forwarded ports WS-Man is reached on (default 16992, and 16993 with TLS). */
  readonly wsmanPorts?: WsmanPorts;
  /** Where the FQDN comes from (default: as the host resolves its own name). */
  readonly resolveFqdn?: () => Promise<string>;
  /** logind (default: org.freedesktop.login1 on the system bus). */
  readonly logind?: () => Promise<Logind>;
  readonly fqdnIntervalMs?: number;
  readonly timeSyncIntervalMs?: number;
  /** How often the CIRA reconnect looks while AMT's policy makes it matter (default 15 minutes, as Intel LMS). */
  readonly ciraIntervalMs?: number;
}

export interface HostDutiesStatus {
  readonly hostFqdn: DutyReport;
  readonly timeSync: DutyReport;
  readonly powerOps: DutyReport;
  readonly ciraReconnect: DutyReport;
  readonly sharedStaticIp: DutyReport;
  readonly watchdog: DutyReport;
}

export interface HostDuties {
  status(): HostDutiesStatus;
  stop(): void;
}

const MINUTE = 60_000;
/** A change to the host's network comes in a burst (link, address, route): read it once it settled. */
const HOST_CHANGE_SETTLE_MS = 300;
const HOUR = 60 * MINUTE;

export const startHostDuties = (options: HostDutiesOptions): HostDuties => {
  const ports = options.wsmanPorts ?? { http: 16992, tls: 16993 };
  const connect = (signal: AbortSignal) => amtWsman(options.amthi, options.lms, ports, signal);
  // One connection to logind, made when first needed, and again after it failed or ended.
  let bus: Promise<Logind> | undefined;
  let resumeHooked = false;
  const logind = (): Promise<Logind> => {
    const connect = (): Promise<Logind> =>
      (options.logind ?? connectLogind)().catch((err: unknown) => {
        bus = undefined;
        throw err;
      });
    bus = (bus ?? connect()).then((l) => {
      if (l.alive()) return l;
      resumeHooked = false; // the new connection needs its own subscription
      return connect();
    });
    return bus;
  };
  /** The resume signal, subscribed once per connection; without logind, tried again on the next occasion. */
  const hookResume = (): void => {
    if ((options.timeSync === false && options.ciraReconnect === false && !options.watchdog) || resumeHooked) return;
    void logind().then(
      (l) => {
        if (resumeHooked) return;
        resumeHooked = true;
        l.onResume(() => {
          watchdog.ping('resume');
          void clock.run('resume');
          if (cira?.watching) void cira.run('resume');
        });
      },
      () => undefined, // no logind now: the daily run still keeps the clock
    );
  };
  const fqdn: Duty = options.hostFqdn === false ? disabledDuty(FQDN_DUTY) : fqdnDuty(options.amthi, options.resolveFqdn ?? (() => hostFqdn()), options.log);
  const clock: Duty = options.timeSync === false ? disabledDuty(TIME_DUTY) : timeSyncDuty(connect, options.log);
  const power = options.powerOps === false ? undefined : powerDuty(connect, logind, options.log);
  // The host's network is watched only while AMT shares its IP (sharedIpDuty says when); a burst
  // of changes (an address, then its route) is one run, and a change during a run makes another.
  let stopped = false;
  let hostChanges: Subscription | undefined;
  let sharedBusy = false;
  let sharedAgain = false;
  const onHostChange = (): void => {
    if (sharedBusy) {
      sharedAgain = true;
      return;
    }
    sharedBusy = true;
    void shared?.run('host network changed').finally(() => {
      sharedBusy = false;
      if (sharedAgain) {
        sharedAgain = false;
        onHostChange();
      }
    });
  };
  const shared =
    options.sharedStaticIp === false
      ? undefined
      : sharedIpDuty(options.amthi, connect, options.hostNetwork ?? ((mac) => hostIpv4ByMac(mac, dumpIpv4Addresses)), options.log, (watching) => {
          hostChanges?.unsubscribe();
          hostChanges =
            watching && !stopped
              ? (options.hostNetworkChanges ?? routeChanges)()
                  .pipe(debounceTime(HOST_CHANGE_SETTLE_MS))
                  .subscribe({
                    next: onHostChange,
                    error: (err: unknown) =>
                      options.log.warn(
                        { duty: SHARED_IP_DUTY },
                        `${SHARED_IP_DUTY}: cannot watch the host's network (${err instanceof Error ? err.message : String(err)}); synced only when forwarding comes up`,
                      ),
                  })
              : undefined;
        });
  const watchdog = options.watchdog ? startAmtWatchdog({ ...options.watchdog, log: options.log }) : disabledWatchdog();
  watchdog.open('start');
  // The CIRA timer runs only while AMT's policy makes a reconnect matter (ciraDuty says when).
  let ciraTimer: Subscription | undefined;
  const cira =
    options.ciraReconnect === false
      ? undefined
      : ciraDuty(options.amthi, connect, options.log, (watching) => {
          ciraTimer?.unsubscribe();
          ciraTimer = watching && !stopped ? interval(options.ciraIntervalMs ?? 15 * MINUTE).subscribe(() => void cira?.run('every 15 minutes')) : undefined;
        });

  const subs = new Subscription();
  subs.add(timer(0, options.fqdnIntervalMs ?? HOUR).subscribe((i) => void fqdn.run(i === 0 ? 'start' : 'hourly')));
  // Forwarding up: each time the ME forwards its WS-Man port (after an ME reset too).
  subs.add(
    options.lms.events$.pipe(filter((e) => e.type === 'forward' && e.ok && !e.cancelled && (e.port === ports.http || e.port === ports.tls))).subscribe(() => {
      void clock.run('forwarding up');
      void power?.run('forwarding up');
      void cira?.run('forwarding up');
      void shared?.run('forwarding up');
      watchdog.open('forwarding up');
      hookResume();
    }),
  );
  subs.add(
    interval(options.timeSyncIntervalMs ?? 24 * HOUR).subscribe(() => {
      void clock.run('daily');
      hookResume();
    }),
  );
  if (power) subs.add(options.lms.alerts$.subscribe((a) => void power.onAlert(a)));
  // A console allowed the OS to set AMT's clock (AMT_TimeSynchronizationService.LocalTimeSyncEnabled
  // put to 0 or 1): AMT says so with iAMT0069 argument 1, as Intel LMS reads it. Set the clock now,
  // not at the next daily run.
  subs.add(
    options.lms.alerts$
      .pipe(filter((a) => a.messageId === TIME_SYNC_ALERT && a.arguments[0] === TIME_SYNC_ENABLED))
      .subscribe(() => void clock.run('policy changed')),
  );
  if (cira)
    subs.add(
      options.lms.alerts$.subscribe((a) => {
        // Provisioning changed: the policy may have too. The tunnel closed: look at once, not in 15 minutes.
        if (a.messageId === PROVISIONING_ALERT) void cira.run('provisioning changed');
        else if (a.messageId === CIRA_ALERT && a.arguments[0] === CIRA_CLOSED && cira.watching) void cira.run('tunnel closed');
      }),
    );
  if (shared) subs.add(options.lms.alerts$.pipe(filter((a) => a.messageId === IP_SYNC_ALERT)).subscribe(() => void shared.run('IP sync switched')));
  hookResume();

  return {
    status: () => ({
      hostFqdn: fqdn.report(),
      timeSync: clock.report(),
      powerOps: power?.report() ?? { enabled: false },
      ciraReconnect: cira?.report() ?? { enabled: false },
      sharedStaticIp: shared?.report() ?? { enabled: false },
      watchdog: watchdog.report(),
    }),
    stop() {
      stopped = true;
      subs.unsubscribe();
      ciraTimer?.unsubscribe();
      hostChanges?.unsubscribe();
      watchdog.stop();
      for (const d of [fqdn, clock, power, cira, shared]) d?.stop();
      void bus?.then(
        (l) => l.close(),
        () => undefined,
      );
    },
  };
};
