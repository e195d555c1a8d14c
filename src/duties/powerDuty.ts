/**
 * Remote graceful power operations (Intel LMS's PowerOperationsService). Once forwarding is up, the
 * graceful states the host can carry out are added to CIM_PowerManagementCapabilities'
 * PowerStatesSupported (12 graceful off, 14 graceful reset; 4 sleep and 7 hibernate when logind can),
 * Put only when that changes it. A console's request arrives as AMT alert iAMT0067 with argument
 * 0 shutdown, 1 reboot, 2 sleep, 3 hibernate, and goes to logind: a wall message and a poweroff or
 * reboot in 60 s, or a suspend or hibernate now.
 */
import { WSManMessageCreator } from '@device-management-toolkit/wsman-messages/WSMan.js';
import type { AmtAlert } from '../service/amtAlert.js';
import type { Logger } from '../service/logger.js';
import type { AmtCall } from './amtWsman.js';
import { createDuty, type Duty, type DutyReport } from './duty.js';
import type { Logind } from './logind.js';

const POWER_DUTY = 'graceful power';
const GRACEFUL_ALERT = 'iAMT0067';
/** How long a remote shutdown or reboot waits, so that people at the host can save their work. */
export const SHUTDOWN_DELAY_MS = 60_000;

const CLASS = 'CIM_PowerManagementCapabilities';
const CIM = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/';
const ACTION = { get: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get', put: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Put' };
const REQUESTS = ['shutdown', 'reboot', 'sleep', 'hibernate'] as const;
export type PowerRequest = (typeof REQUESTS)[number];
export const WALL = {
  shutdown: 'The remote administrator has initiated a shutdown on this computer. Please save your work: it will power off in 60 seconds.',
  reboot: 'The remote administrator has initiated a reboot on this computer. Please save your work: it will restart in 60 seconds.',
} as const;

export interface PowerDuty extends Duty {
  /** An AMT alert; iAMT0067 is carried out, the others are not this duty's. */
  onAlert(alert: AmtAlert): Promise<void>;
}

export const powerDuty = (
  connect: (signal: AbortSignal) => Promise<AmtCall>,
  logind: () => Promise<Logind>,
  log: Logger,
  now: () => number = Date.now,
): PowerDuty => {
  const wsman = new WSManMessageCreator(CIM);
  const requests: { at: string; request: string; done: string }[] = [];
  const advertise = createDuty(POWER_DUTY, log, async (_occasion, signal) => {
    const call = await connect(signal);
    const caps = (await call(wsman.createXml(wsman.createHeader(ACTION.get, CLASS as never), wsman.createCommonBody.Get())))[CLASS] as
      | Record<string, unknown>
      | undefined;
    if (!caps) throw new Error(`AMT answered no ${CLASS}`);
    const current = ((caps['PowerStatesSupported'] as string[] | undefined) ?? []).map(Number);
    let can = { suspend: false, hibernate: false };
    try {
      const l = await logind();
      can = { suspend: (await l.canSuspend()) === 'yes', hibernate: (await l.canHibernate()) === 'yes' };
    } catch {
      // No logind: shutdown and reboot are still advertised; carrying them out will say why it cannot.
    }
    const wanted = [...new Set([...current, 12, 14, ...(can.suspend ? [4] : []), ...(can.hibernate ? [7] : [])])].sort((a, b) => a - b);
    if (wanted.length === current.length) return { result: `AMT advertises ${current.join(', ')} already`, details: { powerStates: current }, acted: false };
    const data = { ...caps, PowerStatesSupported: wanted };
    await call(wsman.createXml(wsman.createHeader(ACTION.put, CLASS as never), wsman.createCommonBody.CreateOrPut(CLASS as never, data)));
    return { result: `AMT now advertises power states ${wanted.join(', ')} (was ${current.join(', ')})`, details: { powerStates: wanted }, acted: true };
  });

  const carryOut = async (request: PowerRequest): Promise<string> => {
    const l = await logind();
    if (request === 'shutdown' || request === 'reboot') {
      await l.setWallMessage(WALL[request]);
      await l.scheduleShutdown(request === 'shutdown' ? 'poweroff' : 'reboot', now() + SHUTDOWN_DELAY_MS);
      return `${request === 'shutdown' ? 'poweroff' : 'reboot'} scheduled in 60 s, wall message set`;
    }
    await (request === 'sleep' ? l.suspend() : l.hibernate());
    return request === 'sleep' ? 'suspended' : 'hibernated';
  };

  return {
    name: POWER_DUTY,
    run: (occasion) => advertise.run(occasion),
    stop: () => advertise.stop(),
    report: (): DutyReport => ({ ...advertise.report(), ...(requests.length ? { details: { ...advertise.report().details, requests: [...requests] } } : {}) }),
    async onAlert(alert) {
      if (alert.messageId !== GRACEFUL_ALERT) return;
      const request = REQUESTS[Number(alert.arguments[0])];
      const at = new Date().toISOString();
      if (!request) {
        log.warn(
          { duty: POWER_DUTY, arguments: alert.arguments },
          `${POWER_DUTY}: ${GRACEFUL_ALERT} with argument ${alert.arguments[0] ?? 'none'}, which names no request (ignored)`,
        );
        return;
      }
      let done: string;
      try {
        done = await carryOut(request);
        log.info({ duty: POWER_DUTY, request }, `${POWER_DUTY}: remote ${request} requested: ${done}`);
      } catch (err) {
        done = `not done: ${err instanceof Error ? err.message : String(err)}`;
        log.warn({ duty: POWER_DUTY, request }, `${POWER_DUTY}: remote ${request} requested, ${done}`);
      }
      requests.push({ at, request, done });
      if (requests.length > 20) requests.shift();
    },
  };
};
