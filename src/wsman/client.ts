/**
 * A small WS-Man client for AMT on loopback: it posts a SOAP envelope (built with Intel's
 * @device-management-toolkit/wsman-messages) to /wsman through lms's own forwarding, answers the
 * Digest challenge with AMT's local system account, and returns the parsed Body (fast-xml-parser,
 * namespace prefixes removed). TLS (16993) accepts the ME's self-signed certificate, on loopback
 * only. The account is held by the caller and appears in no error, log line or status.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { XMLParser } from 'fast-xml-parser';
import { digestAuthorization } from './digest.js';

export interface WsmanTarget {
  readonly port: number;
  readonly tls: boolean;
  /** 127.0.0.1 or ::1: nothing else is asked, so a self-signed certificate is accepted. */
  readonly host?: '127.0.0.1' | '::1';
}

export type WsmanBody = Record<string, unknown>;

export class WsmanError extends Error {}

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, parseTagValue: false, isArray: (name) => name === 'PowerStatesSupported' });

const post = (t: WsmanTarget, xml: string, authorization?: string): Promise<{ status: number; challenge?: string; body: string }> =>
  new Promise((resolve, reject) => {
    const options = {
      host: t.host ?? '127.0.0.1',
      port: t.port,
      path: '/wsman',
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', 'Content-Length': Buffer.byteLength(xml), ...(authorization ? { Authorization: authorization } : {}) },
      timeout: 15_000,
    } as const;
    const req = t.tls ? https.request({ ...options, rejectUnauthorized: false }) : http.request(options);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers['www-authenticate'] ? { challenge: String(res.headers['www-authenticate']) } : {}), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new WsmanError(`no answer from AMT on port ${t.port} within 15 s`)));
    req.on('error', (err) => reject(err instanceof WsmanError ? err : new WsmanError(`AMT on port ${t.port}: ${err.message}`)));
    req.end(xml);
  });

/** Posts `xml` and returns the envelope's Body; a SOAP fault or an HTTP error is a WsmanError. */
export const wsmanCall = async (t: WsmanTarget, account: { readonly user: string; readonly password: string }, xml: string): Promise<WsmanBody> => {
  const first = await post(t, xml);
  let reply = first;
  if (first.status === 401) {
    if (!first.challenge?.toLowerCase().startsWith('digest')) throw new WsmanError('AMT asked for an authentication other than Digest');
    reply = await post(t, xml, digestAuthorization(first.challenge, account, 'POST', '/wsman'));
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
