/**
 * The host's FQDN reaches AMT (Intel LMS's HostChangesNotificationService): at start and then
 * hourly, and only when it changed, SET_HOST_FQDN over AMTHI. AMT uses it for its own name in
 * shared-FQDN setups and for TLS certificate names.
 */
import * as E from 'fp-ts/lib/Either.js';
import { AmthiCommand, hostFqdnRequest } from '../codecs/amthi.js';
import type { MeDevice } from '../device/transport.js';
import { callAmthi } from '../device/amthiClient.js';
import type { Logger } from '../service/logger.js';
import { createDuty, type Duty } from './duty.js';

export const FQDN_DUTY = 'host FQDN';

export const fqdnDuty = (amthi: MeDevice, resolve: () => Promise<string>, log: Logger): Duty => {
  let sent: string | undefined;
  return createDuty(FQDN_DUTY, log, async () => {
    const fqdn = await resolve();
    if (fqdn === sent) return { result: `${fqdn}, unchanged since it was sent`, details: { fqdn }, acted: false };
    const r = await callAmthi(amthi, hostFqdnRequest(fqdn), AmthiCommand.SetHostFqdn, (b) => E.right(b));
    if (E.isLeft(r)) throw new Error(`SET_HOST_FQDN ${fqdn}: ${r.left}`);
    sent = fqdn;
    return { result: `sent ${fqdn} to AMT`, details: { fqdn }, acted: true };
  });
};
