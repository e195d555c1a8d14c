/**
 * How a duty reaches AMT's WS-Man: the local system account from AMTHI (held for one run, in
 * memory only), and the loopback port lms forwards: the HTTP port, or the TLS one where the ME
 * forwards only that (AMT 19 and later).
 */
import * as E from 'fp-ts/lib/Either.js';
import { AmthiCommand, decodeLocalSystemAccount, localSystemAccountRequest, type LocalSystemAccount } from '../codecs/amthi.js';
import type { MeDevice } from '../device/transport.js';
import { callAmthi } from '../service/amtInfo.js';
import { wsmanCall, type WsmanBody, type WsmanTarget } from '../wsman/client.js';

export interface WsmanPorts {
  readonly http: number;
  readonly tls: number;
}

/** Calls WS-Man with AMT's own account; `forwarded` says which ports the session forwards now. */
export type AmtCall = (xml: string) => Promise<WsmanBody>;

export const amtWsman = async (amthi: MeDevice, forwarded: readonly number[], ports: WsmanPorts): Promise<AmtCall> => {
  const target: WsmanTarget | undefined = forwarded.includes(ports.http) ? { port: ports.http, tls: false } : forwarded.includes(ports.tls) ? { port: ports.tls, tls: true } : undefined;
  if (!target) throw new Error(`the ME forwards neither ${ports.http} nor ${ports.tls}: no WS-Man to call`);
  const account = await callAmthi(amthi, localSystemAccountRequest(), AmthiCommand.GetLocalSystemAccount, decodeLocalSystemAccount);
  // The reason, never the account: a provisioned AMT answers it; one not provisioned refuses.
  if (E.isLeft(account)) throw new Error(`no local system account from AMTHI (is AMT provisioned?): ${account.left}`);
  const creds: LocalSystemAccount = account.right;
  return (xml) => wsmanCall(target, creds, xml);
};
