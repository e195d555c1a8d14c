/**
 * AMT's clock follows the host's (Intel LMS's TimeSyncService): read LocalTimeSyncEnabled; when the
 * OS may set the clock (0 DEFAULT_TRUE, 1 CONFIGURED_TRUE), read AMT's clock (Ta0) and, when it is
 * more than 30 s from the host's UTC, SetHighAccuracyTimeSynch(Ta0, now, now). A wrong AMT clock
 * breaks Kerberos and TLS validation for remote consoles and misdates AMT's event and audit logs.
 */
import { AMT } from '@device-management-toolkit/wsman-messages';
import type { Logger } from '../service/logger.js';
import type { AmtCall } from './amtWsman.js';
import { createDuty, type Duty } from './duty.js';

export const TIME_DUTY = 'AMT clock';
/** AMT's alert that the OS's right to set its clock changed: argument 0 withdrawn, 1 given. */
export const TIME_SYNC_ALERT = 'iAMT0069';
export const TIME_SYNC_ENABLED = '1';
/** Intel LMS's bound: within it the clocks agree well enough. */
const MAX_OFFSET_S = 30;

const field = (body: Record<string, unknown>, element: string, name: string): string => String(((body[element] ?? {}) as Record<string, unknown>)[name] ?? '');

export const timeSyncDuty = (connect: (signal: AbortSignal) => Promise<AmtCall>, log: Logger, now: () => number = Date.now): Duty => {
  const messages = new AMT.Messages();
  return createDuty(TIME_DUTY, log, async (_occasion, signal) => {
    const call = await connect(signal);
    const setting = Number(field(await call(messages.TimeSynchronizationService.Get()), 'AMT_TimeSynchronizationService', 'LocalTimeSyncEnabled'));
    if (setting !== 0 && setting !== 1) throw new Error(`AMT does not let the OS set its clock (LocalTimeSyncEnabled ${setting})`);
    const ta0 = Number(field(await call(messages.TimeSynchronizationService.GetLowAccuracyTimeSynch()), 'GetLowAccuracyTimeSynch_OUTPUT', 'Ta0'));
    if (!Number.isFinite(ta0)) throw new Error('GetLowAccuracyTimeSynch returned no Ta0');
    const host = Math.floor(now() / 1000);
    const offsetS = ta0 - host;
    if (Math.abs(offsetS) <= MAX_OFFSET_S)
      return { result: `AMT's clock is ${offsetS} s from the host's: left alone`, details: { offsetS, corrected: false }, acted: false };
    const t = Math.floor(now() / 1000);
    const rv = field(await call(messages.TimeSynchronizationService.SetHighAccuracyTimeSynch(ta0, t, t)), 'SetHighAccuracyTimeSynch_OUTPUT', 'ReturnValue');
    if (rv !== '0') throw new Error(`SetHighAccuracyTimeSynch returned ${rv || 'nothing'}`);
    return { result: `AMT's clock was ${offsetS} s from the host's: set to the host's`, details: { offsetS, corrected: true }, acted: true };
  });
};
