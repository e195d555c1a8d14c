/**
 * The CIRA reconnect (Intel LMS's FWCIRAWorkaroundService). Some AMT firmware does not reopen its
 * tunnel to the management presence server (MPS) once it dropped, although a periodic policy says
 * it should keep one for ever. The host's agent then asks AMT, over AMTHI, to open a user-initiated
 * connection, when AMT is outside the enterprise, not connected, and has a link.
 *
 * Intel LMS loads the service only where it can matter: AMT provisioned, a periodic policy rule
 * with an endless tunnel and a user-initiated rule. lms checks the same once forwarding is up and
 * whenever AMT says its provisioning changed, and keeps its timer only while they hold.
 */
import * as E from 'fp-ts/lib/Either.js';
import { AMT } from '@device-management-toolkit/wsman-messages';
import {
  AMT_STATUS_DATA_MISSING,
  AMT_STATUS_NOT_READY,
  AmthiCommand,
  decodeLanSettings,
  decodeRemoteAccessStatus,
  decodeU32,
  describeAmthiError,
  encodeAmthiRequest,
  lanInterfaceRequest,
  RemoteAccessNetwork,
} from '../codecs/amthi.js';
import { callAmthi } from '../device/amthiClient.js';
import type { MeDevice } from '../device/transport.js';
import type { Logger } from '../service/logger.js';
import { enumerateAll, type AmtCall } from './amtWsman.js';
import { createWatchingDuty, type WatchingDuty } from './duty.js';

export const CIRA_DUTY = 'CIRA reconnect';
/** AMT's alert that remote access changed: argument 0 its tunnel closed (checked at once), 1 it opened. */
export const CIRA_ALERT = 'iAMT0058';
export const CIRA_CLOSED = '0';
/** AMT's alert that its provisioning changed (any argument): the policy is read again. */
export const PROVISIONING_ALERT = 'iAMT0055';
/** The occasions on which the policy is read again; the others only check the connection. */
const POLICY_OCCASIONS = new Set(['forwarding up', 'provisioning changed']);

/** Why the reconnect cannot matter on this AMT, or undefined when it can (Intel LMS's Configurator checks). */
const policyProblem = async (amthi: MeDevice, connect: () => Promise<AmtCall>): Promise<string | undefined> => {
  const state = await callAmthi(amthi, encodeAmthiRequest(AmthiCommand.GetProvisioningState), AmthiCommand.GetProvisioningState, decodeU32);
  if (E.isLeft(state)) throw new Error(`GET_PROVISIONING_STATE: ${state.left}`);
  if (state.right !== 2) return 'AMT is not provisioned';
  const rules = await enumerateAll(await connect(), new AMT.Messages().RemoteAccessPolicyRule, 'AMT_RemoteAccessPolicyRule');
  const has = (trigger: number, forEver = false): boolean =>
    rules.some((r) => Number(r['Trigger']) === trigger && (!forEver || Number(r['TunnelLifeTime']) === 0));
  if (!has(2, true)) return 'AMT has no periodic remote access policy that keeps its tunnel for ever';
  if (!has(0)) return 'AMT has no user-initiated remote access policy';
  return undefined;
};

/** OPEN_USER_INITIATED_CONNECTION's answers that Intel LMS counts as done: AMT not ready yet, or data missing. */
const TOLERATED = new Set(
  [AMT_STATUS_NOT_READY, AMT_STATUS_DATA_MISSING].map((status) =>
    describeAmthiError({ kind: 'status', command: AmthiCommand.OpenUserInitiatedConnection, status }),
  ),
);

/** Watching while AMT's policy makes the reconnect matter: `onWatching` starts or stops its timer. */
export const ciraDuty = (
  amthi: MeDevice,
  connect: (signal: AbortSignal) => Promise<AmtCall>,
  log: Logger,
  onWatching: (watching: boolean) => void,
): WatchingDuty =>
  createWatchingDuty(CIRA_DUTY, log, onWatching, async (occasion, signal, watch, watching) => {
    if (watching === undefined || POLICY_OCCASIONS.has(occasion)) {
      const problem = await policyProblem(amthi, () => connect(signal));
      watch(problem === undefined);
      if (problem)
        return { result: `not needed: ${problem}; read again when forwarding comes up or provisioning changes`, details: { watching: false }, acted: false };
    }
    const status = await callAmthi(
      amthi,
      encodeAmthiRequest(AmthiCommand.GetRemoteAccessConnectionStatus),
      AmthiCommand.GetRemoteAccessConnectionStatus,
      decodeRemoteAccessStatus,
    );
    if (E.isLeft(status)) throw new Error(`GET_REMOTE_ACCESS_CONNECTION_STATUS: ${status.left}`);
    const s = status.right;
    const details = {
      watching: true,
      network: RemoteAccessNetwork[s.network],
      connection: ['not connected', 'connecting', 'connected'][s.connection],
      mps: s.mpsHostname,
    };
    if (s.connection === 2) return { result: `AMT is connected to its MPS ${s.mpsHostname}`, details, acted: false };
    if (s.network !== 2) return { result: `AMT is ${RemoteAccessNetwork[s.network]}: it needs no tunnel`, details, acted: false };
    // A link on either interface, asked one at a time (AMTHI may take one connection at a time):
    // wired first, wireless only without it; a platform without wireless answers with a failure status.
    const linkUp = async (i: 0 | 1): Promise<boolean> => {
      const l = await callAmthi(amthi, lanInterfaceRequest(i), AmthiCommand.GetLanInterfaceSettings, decodeLanSettings);
      return E.isRight(l) && l.right.linkUp;
    };
    if (!(await linkUp(0)) && !(await linkUp(1)))
      return { result: 'AMT is outside the enterprise without a network link: nothing to connect over', details, acted: false };
    const open = await callAmthi(amthi, encodeAmthiRequest(AmthiCommand.OpenUserInitiatedConnection), AmthiCommand.OpenUserInitiatedConnection, (b) =>
      E.right(b),
    );
    if (E.isLeft(open) && !TOLERATED.has(open.left)) throw new Error(`AMT is outside the enterprise and not connected, and refused to reconnect: ${open.left}`);
    return { result: `AMT was outside the enterprise and not connected to its MPS ${s.mpsHostname}: asked it to reconnect`, details, acted: true };
  });
