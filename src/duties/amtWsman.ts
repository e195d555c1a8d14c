/**
 * How a duty reaches AMT's WS-Man: the local system account from AMTHI (held for one run, in
 * memory only), over lms's own in-process channel to the port the ME forwards (the HTTP port, or
 * the TLS one where the ME forwards only that: AMT 19 and later). No TCP socket is involved, so
 * no other local program can stand in for AMT and be handed the account's Digest answers.
 */
import * as E from 'fp-ts/lib/Either.js';
import { AmthiCommand, decodeLocalSystemAccount, decodeU32, encodeAmthiRequest, localSystemAccountRequest, type LocalSystemAccount } from '../codecs/amthi.js';
import type { MeDevice } from '../device/transport.js';
import { callAmthi } from '../device/amthiClient.js';
import type { LmsService } from '../service/lmsService.js';
import { CALL_MS, wsmanCall, type WsmanBody, type WsmanTarget } from '../wsman/client.js';

export interface WsmanPorts {
  readonly http: number;
  readonly tls: number;
}

/** Calls WS-Man with AMT's own account, each call within its deadline and the run's signal. */
export type AmtCall = (xml: string) => Promise<WsmanBody>;

export const amtWsman = async (amthi: MeDevice, lms: Pick<LmsService, 'status' | 'connect'>, ports: WsmanPorts, signal?: AbortSignal): Promise<AmtCall> => {
  const forwarded = lms.status().session.forwards;
  const port = forwarded.includes(ports.http) ? ports.http : forwarded.includes(ports.tls) ? ports.tls : undefined;
  if (port === undefined) throw new Error(`the ME forwards neither ${ports.http} nor ${ports.tls}: no WS-Man to call`);
  const target: WsmanTarget = { port, tls: port !== ports.http, connect: () => lms.connect(port) };
  // Before activation AMT's WS-Man serves setup alone (and the account is for a tool that activates
  // it): a duty has nothing to do until then.
  const state = await callAmthi(amthi, encodeAmthiRequest(AmthiCommand.GetProvisioningState), AmthiCommand.GetProvisioningState, decodeU32);
  if (E.isRight(state) && state.right !== 2) throw new Error('AMT is not provisioned: its WS-Man serves only activation until it is');
  const account = await callAmthi(amthi, localSystemAccountRequest(), AmthiCommand.GetLocalSystemAccount, decodeLocalSystemAccount);
  // The reason, never the account.
  if (E.isLeft(account)) throw new Error(`no local system account from AMTHI: ${account.left}`);
  const creds: LocalSystemAccount = account.right;
  return (xml) => wsmanCall(target, creds, xml, { deadline: Date.now() + CALL_MS, ...(signal ? { signal } : {}) });
};

/** At most this many Pulls for one enumeration: AMT's lists are short, a peer that never ends one is cut off. */
const MAX_PULLS = 32;

/** Every instance of `className`: Enumerate, then Pull until AMT says the sequence ended. */
export const enumerateAll = async (
  call: AmtCall,
  messages: { Enumerate(): string; Pull(context: string): string },
  className: string,
): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  let context = String(((await call(messages.Enumerate()))['EnumerateResponse'] as Record<string, unknown> | undefined)?.['EnumerationContext'] ?? '');
  for (let i = 0; i < MAX_PULLS; i++) {
    if (!context) throw new Error(`AMT gave no enumeration context for ${className}`);
    const pull = ((await call(messages.Pull(context)))['PullResponse'] ?? {}) as Record<string, unknown>;
    const found = ((pull['Items'] ?? {}) as Record<string, unknown>)[className];
    for (const item of Array.isArray(found) ? found : found === undefined ? [] : [found]) items.push(item as Record<string, unknown>);
    if ('EndOfSequence' in pull) return items;
    context = String(pull['EnumerationContext'] ?? '');
  }
  throw new Error(`AMT did not end its list of ${className} within ${MAX_PULLS} pulls`);
};
