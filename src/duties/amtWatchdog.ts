/**
 * AMT's watchdog heartbeat (Intel LMS's WatchdogService). The kernel's mei_wdt driver offers AMT's
 * watchdog as a Linux watchdog device (identity iamt_wdt): while the host's agent pings it, AMT
 * knows the OS is alive, and a console hears when it hangs. lms finds it by that identity among
 * the watchdogs sysfs lists (opening another watchdog would arm it), checks the identity again
 * with WDIOC_GETSUPPORT once open, sets the timeout (120 s, as Intel LMS) and pings at half of
 * it: the only timer it keeps. A clean stop writes the magic close character before closing, so
 * that a stopped service does not make AMT report a hang. A missing device is said once; lms
 * looks again when the ME forwards again (after an ME reset the driver makes the device anew).
 */
import { closeSync, openSync, readdirSync, readFileSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import { ioctl } from '../device/ioctl.js';
import {
  AMT_WATCHDOG_IDENTITY,
  decodeWatchdogInfo,
  intArg,
  WATCHDOG_INFO_SIZE,
  WDIOC_GETSUPPORT,
  WDIOC_KEEPALIVE,
  WDIOC_SETTIMEOUT,
} from '../codecs/watchdog.js';
import type { Logger } from '../service/logger.js';
import type { DutyReport } from './duty.js';

export const WATCHDOG_DUTY = 'AMT watchdog';
/** Intel LMS's timeout; mei_wdt takes 120 s to 65535 s. */
const TIMEOUT_S = 120;

export interface AmtWatchdogOptions {
  readonly log: Logger;
  /** The device; by default the one whose sysfs identity is iamt_wdt. Its identity is checked once open either way. */
  readonly device?: string;
  readonly timeoutS?: number;
  /** Where the kernel lists its watchdogs, and where their nodes are (for tests: an emulated device). */
  readonly sysClassDir?: string;
  readonly devDir?: string;
}

export interface AmtWatchdog {
  report(): DutyReport;
  /** Opens the device when it is not open (at start, when forwarding comes up). */
  open(occasion: string): void;
  /** Pings now when open (after a resume: the host slept, AMT's timer did not). */
  ping(occasion: string): void;
  /** The magic close, then close: the watchdog stops. */
  stop(): void;
}

/** The node of the watchdog whose sysfs identity is AMT's, or undefined when none is listed. */
export const findAmtWatchdog = (sysClassDir = '/sys/class/watchdog', devDir = '/dev'): string | undefined => {
  let names: string[];
  try {
    names = readdirSync(sysClassDir);
  } catch {
    return undefined; // no watchdog class: no watchdog driver at all
  }
  for (const name of names.sort()) {
    try {
      if (readFileSync(join(sysClassDir, name, 'identity'), 'latin1').trim() === AMT_WATCHDOG_IDENTITY) return join(devDir, name);
    } catch {
      // a watchdog without an identity file is not AMT's
    }
  }
  return undefined;
};

const errnoName = (errno: number): string => ({ 2: 'ENOENT', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL', 25: 'ENOTTY' })[errno] ?? `errno ${errno}`;

export const startAmtWatchdog = (o: AmtWatchdogOptions): AmtWatchdog => {
  const timeoutS = o.timeoutS ?? TIMEOUT_S;
  let fd: number | undefined;
  let device: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pings = 0;
  let stopped = false;
  let report: DutyReport = { enabled: true };

  const at = (occasion: string, fields: Partial<DutyReport>): void => {
    report = { enabled: true, lastRunAt: new Date().toISOString(), occasion, ...fields };
  };
  /** A failure, logged when it differs from the last one (said once), then shown in status. */
  const fail = (occasion: string, error: string, level: 'info' | 'warn' = 'warn'): void => {
    if (error !== report.error) o.log[level]({ duty: WATCHDOG_DUTY, occasion }, `${WATCHDOG_DUTY}: ${error}`);
    at(occasion, { error, ...(device ? { details: { device } } : {}) });
  };
  const close = (magic: boolean): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (fd === undefined) return;
    const closing = fd;
    fd = undefined;
    // A device that went (ENODEV, or an unmounted emulation's ENOTCONN) stopped with it: its close may fail too.
    try {
      if (magic) writeSync(closing, 'V');
    } catch {
      // gone: nothing to disarm
    }
    try {
      closeSync(closing);
    } catch {
      // gone: nothing to close
    }
  };
  const keepalive = (occasion: string): void => {
    if (fd === undefined) return;
    const r = ioctl(fd, WDIOC_KEEPALIVE, intArg());
    if (!r.ok) {
      close(false);
      return fail(occasion, `ping of ${device} failed (${errnoName(r.errno)}); the device is looked for again when the ME forwards again`);
    }
    pings++;
    const wasFailing = report.error !== undefined;
    at(occasion, {
      result: `pinging ${device} (${AMT_WATCHDOG_IDENTITY}) every ${timeoutS / 2} s, timeout ${timeoutS} s`,
      details: { device, timeoutS, pings },
    });
    if (wasFailing) o.log.info({ duty: WATCHDOG_DUTY, occasion }, `${WATCHDOG_DUTY}: works again: ${report.result}`);
  };

  const open = (occasion: string): void => {
    if (stopped || fd !== undefined) return;
    device = o.device ?? findAmtWatchdog(o.sysClassDir, o.devDir);
    if (!device)
      return fail(occasion, `no AMT watchdog (${AMT_WATCHDOG_IDENTITY}) on this host: the mei_wdt driver is not loaded, or AMT's watchdog is off`, 'info');
    try {
      fd = openSync(device, constants.O_WRONLY);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return fail(
        occasion,
        `cannot open ${device}: ${e.code ?? e.message}${e.code === 'EACCES' ? ' (the package gives it to user lms by its udev rule)' : ''}`,
      );
    }
    // Open, the watchdog runs: from here every way out disarms it, with the magic close.
    const info = Buffer.alloc(WATCHDOG_INFO_SIZE);
    const support = ioctl(fd, WDIOC_GETSUPPORT, info);
    const identity = support.ok ? decodeWatchdogInfo(info).identity : undefined;
    if (identity !== AMT_WATCHDOG_IDENTITY) {
      close(true);
      return fail(
        occasion,
        `${device} is not AMT's watchdog (${support.ok ? `identity ${JSON.stringify(identity)}` : `WDIOC_GETSUPPORT: ${errnoName(support.errno)}`}); left alone`,
      );
    }
    const set = ioctl(fd, WDIOC_SETTIMEOUT, intArg(timeoutS));
    if (!set.ok) {
      close(true);
      return fail(occasion, `${device} refused a timeout of ${timeoutS} s (${errnoName(set.errno)})`);
    }
    keepalive(occasion);
    if (fd !== undefined) timer = setInterval(() => keepalive('timer'), (timeoutS / 2) * 1000);
  };

  return {
    report: () => report,
    open,
    ping: (occasion) => keepalive(occasion),
    stop() {
      stopped = true;
      close(true);
    },
  };
};

/** The watchdog turned off. */
export const disabledWatchdog = (): AmtWatchdog => ({
  report: () => ({ enabled: false }),
  open: () => undefined,
  ping: () => undefined,
  stop: () => undefined,
});
