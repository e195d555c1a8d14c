/**
 * HTTP Digest authentication (RFC 7616 with MD5 and qop=auth), as AMT's web server does it:
 * the realm is `Digest:<hex id>` and a request without valid credentials gets a 401 challenge.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { digestResponse, parseAuthParams, type DigestSecret } from '../../wsman/digest.js';

export type DigestAccount = { readonly user: string } & DigestSecret;

export interface DigestVerifier {
  /** The WWW-Authenticate header of a fresh challenge. */
  challenge(): string;
  /** True when `authorization` answers one of our challenges with the right password. */
  verify(method: string, authorization: string | undefined): boolean;
}

/** Accepts any of `accounts` (AMT's admin and its local system account), as they are at each request; `newNonce` makes each challenge's nonce. */
export const createDigestVerifier = (
  accounts: () => readonly DigestAccount[],
  realm: string,
  maxNonces = 1024,
  newNonce = (): string => randomBytes(16).toString('hex'),
): DigestVerifier => {
  const nonces = new Set<string>();
  return {
    challenge() {
      const nonce = newNonce();
      nonces.add(nonce);
      if (nonces.size > maxNonces) nonces.delete(nonces.values().next().value!);
      return `Digest realm="${realm}", nonce="${nonce}", stale="false", qop="auth"`;
    },
    verify(method, authorization) {
      if (!authorization || !/^digest\s/i.test(authorization)) return false;
      const p = parseAuthParams(authorization.replace(/^digest\s+/i, ''));
      const account = accounts().find((a) => a.user === p['username']);
      if (!account || p['realm'] !== realm || !p['nonce'] || !nonces.has(p['nonce']) || !p['uri'] || !p['response']) return false;
      const expected = digestResponse({
        ...account,
        realm,
        method,
        uri: p['uri'],
        nonce: p['nonce'],
        ...(p['qop'] ? { qop: p['qop'], nc: p['nc'] ?? '', cnonce: p['cnonce'] ?? '' } : {}),
      });
      const given = Buffer.from(p['response'].toLowerCase());
      return given.length === expected.length && timingSafeEqual(given, Buffer.from(expected));
    },
  };
};
