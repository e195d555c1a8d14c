/**
 * HTTP Digest authentication (RFC 7616 with MD5 and qop=auth), as AMT's web server does it:
 * the realm is `Digest:<hex id>` and a request without valid credentials gets a 401 challenge.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** Splits `a="x", b=y` into a record; quoted values may contain commas. */
export const parseAuthParams = (header: string): Record<string, string> => {
  const params: Record<string, string> = {};
  const re = /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/gi;
  for (let m = re.exec(header); m; m = re.exec(header)) params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return params;
};

export interface DigestVerifier {
  /** The WWW-Authenticate header of a fresh challenge. */
  challenge(): string;
  /** True when `authorization` answers one of our challenges with the right password. */
  verify(method: string, authorization: string | undefined): boolean;
}

export const createDigestVerifier = (user: string, password: string, realm: string, maxNonces = 1024): DigestVerifier => {
  const nonces = new Set<string>();
  return {
    challenge() {
      const nonce = randomBytes(16).toString('hex');
      nonces.add(nonce);
      if (nonces.size > maxNonces) nonces.delete(nonces.values().next().value!);
      return `Digest realm="${realm}", nonce="${nonce}", stale="false", qop="auth"`;
    },
    verify(method, authorization) {
      if (!authorization || !/^digest\s/i.test(authorization)) return false;
      const p = parseAuthParams(authorization.replace(/^digest\s+/i, ''));
      if (p['username'] !== user || p['realm'] !== realm || !p['nonce'] || !nonces.has(p['nonce']) || !p['uri'] || !p['response']) return false;
      const ha1 = md5(`${user}:${realm}:${password}`);
      const ha2 = md5(`${method}:${p['uri']}`);
      const expected = p['qop'] ? md5(`${ha1}:${p['nonce']}:${p['nc'] ?? ''}:${p['cnonce'] ?? ''}:${p['qop']}:${ha2}`) : md5(`${ha1}:${p['nonce']}:${ha2}`);
      const given = Buffer.from(p['response'].toLowerCase());
      return given.length === expected.length && timingSafeEqual(given, Buffer.from(expected));
    },
  };
};
