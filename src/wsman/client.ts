/**
 * A small WS-Man client for AMT: it posts a SOAP envelope (built with Intel's
 * @device-management-toolkit/wsman-messages) to /wsman over a connection the caller gives (lms's
 * own in-process channel, so no other local program can stand in for AMT), answers the Digest
 * challenge with AMT's local system account, and returns the parsed Body (fast-xml-parser,
 * namespace prefixes removed). TLS (16993) accepts the ME's self-signed certificate: the
 * connection goes to the ME itself. The account appears in no error, log line or status.
 *
 * Every call is bounded: one deadline for the whole exchange (both round trips), however slowly
 * the bytes come, and a cap on the answer's size, so that a hostile or broken peer can hold
 * neither memory nor a channel.
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { XMLParser } from 'fast-xml-parser';
import { digestAuthorization } from './digest.js';

export interface WsmanTarget {
  /** The forwarded port (for messages and the Host header). */
  readonly port: number;
  readonly tls: boolean;
  /** A fresh connection to AMT's port, one per request. */
  readonly connect: () => Duplex;
}

export interface WsmanLimits {
  /** The whole call, both round trips, ends by then (ms since the epoch). */
  readonly deadline: number;
  /** Ends the call at once (a duty run past its own deadline). */
  readonly signal?: AbortSignal;
}

export type WsmanBody = Record<string, unknown>;

export class WsmanError extends Error {}

/**
 * The largest answer read. AMT's answers to the calls lms makes (a Get of a service, a method's
 * output, an Enumerate/Pull of a few instances) are 1 to 10 KiB; a Pull of a large class (the
 * event log, certificates) stays under 100 KiB. Anything past 256 KiB is not AMT.
 */
export const MAX_ANSWER_BYTES = 256 * 1024;
/** The deadline of one call when the caller names none: two round trips to the ME take milliseconds. */
export const CALL_MS = 15_000;

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, parseTagValue: false, isArray: (name) => name === 'PowerStatesSupported' });

const post = (t: WsmanTarget, limits: WsmanLimits, xml: string, authorization?: string): Promise<{ status: number; challenge?: string; body: string }> =>
  new Promise((resolve, reject) => {
    const left = limits.deadline - Date.now();
    if (left <= 0) return reject(new WsmanError(`no answer from AMT on port ${t.port} before the call's deadline`));
    const stopped = (): WsmanError => new WsmanError(`the call to AMT on port ${t.port} was stopped: ${String(limits.signal?.reason)}`);
    if (limits.signal?.aborted) return reject(stopped());
    const req = http.request({
      host: '127.0.0.1',
      port: t.port,
      path: '/wsman',
      method: 'POST',
      // No agent: an agent (agent: false makes a fresh one) would open a TCP connection of its own
      // to host:port and ignore createConnection, which is the hole this client exists to close.
      headers: {
        'Content-Type': 'application/soap+xml; charset=utf-8',
        'Content-Length': Buffer.byteLength(xml),
        ...(authorization ? { Authorization: authorization } : {}),
      },
      createConnection: () => (t.tls ? tls.connect({ socket: t.connect(), rejectUnauthorized: false }) : t.connect()),
    });
    const fail = (err: WsmanError): void => void req.destroy(err);
    const deadline = setTimeout(() => fail(new WsmanError(`no answer from AMT on port ${t.port} within ${Math.round((left + 999) / 1000)} s`)), left);
    const onAbort = (): void => fail(stopped());
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      clearTimeout(deadline);
      limits.signal?.removeEventListener('abort', onAbort);
    };
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > MAX_ANSWER_BYTES)
        return fail(
          new WsmanError(`AMT's answer on port ${t.port} would be ${declared} bytes, over the ${MAX_ANSWER_BYTES / 1024} KiB any AMT answer fits in`),
        );
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES)
          return fail(new WsmanError(`AMT's answer on port ${t.port} passed ${MAX_ANSWER_BYTES / 1024} KiB, more than any AMT answer: not read further`));
        chunks.push(c);
      });
      res.on('end', () => {
        done();
        resolve({
          status: res.statusCode ?? 0,
          ...(res.headers['www-authenticate'] ? { challenge: String(res.headers['www-authenticate']) } : {}),
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', () => undefined); // the request's error says it
    });
    req.on('error', (err) => {
      done();
      reject(err instanceof WsmanError ? err : new WsmanError(`AMT on port ${t.port}: ${err.message}`));
    });
    req.end(xml);
  });

/** Posts `xml` and returns the envelope's Body; a SOAP fault, an HTTP error, the deadline or the cap is a WsmanError. */
export const wsmanCall = async (
  t: WsmanTarget,
  account: { readonly user: string; readonly password: string },
  xml: string,
  limits: WsmanLimits = { deadline: Date.now() + CALL_MS },
): Promise<WsmanBody> => {
  const first = await post(t, limits, xml);
  let reply = first;
  if (first.status === 401) {
    if (!first.challenge?.toLowerCase().startsWith('digest')) throw new WsmanError('AMT asked for an authentication other than Digest');
    reply = await post(t, limits, xml, digestAuthorization(first.challenge, account, 'POST', '/wsman'));
    if (reply.status === 401) throw new WsmanError("AMT refused the local system account's credentials (401)");
  }
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(reply.body) as Record<string, unknown>;
  } catch {
    throw new WsmanError(`AMT answered ${reply.status} with a body that is not XML`);
  }
  const body = ((doc['Envelope'] as Record<string, unknown> | undefined)?.['Body'] ?? {}) as WsmanBody;
  const fault = body['Fault'] as Record<string, Record<string, unknown>> | undefined;
  if (fault) throw new WsmanError(`AMT answered a SOAP fault: ${String((fault['Reason']?.['Text'] as unknown) ?? 'no reason given')}`);
  if (reply.status !== 200) throw new WsmanError(`AMT answered HTTP ${reply.status}`);
  return body;
};
