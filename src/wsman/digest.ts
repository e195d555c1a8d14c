/**
 * HTTP Digest authentication (RFC 7616, MD5, qop=auth) as AMT's web server speaks it, both sides:
 * the client answers a challenge; the simulated AMT (device/simulator/digestAuth.ts) checks it.
 */
import { createHash, randomBytes } from 'node:crypto';

export const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** Splits `a="x", b=y` into a record; quoted values may contain commas. */
export const parseAuthParams = (header: string): Record<string, string> => {
  const params: Record<string, string> = {};
  const re = /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/gi;
  for (let m = re.exec(header); m; m = re.exec(header)) params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return params;
};

/** What proves an account: its password, or HA1 = MD5(user:realm:password), which AMT keeps instead. */
export type DigestSecret = { readonly password: string } | { readonly ha1: string };

/** The response to a Digest challenge: HA1 = user:realm:password, HA2 = method:uri, with qop=auth when offered. */
export const digestResponse = (
  p: {
    user: string;
    realm: string;
    method: string;
    uri: string;
    nonce: string;
    nc?: string;
    cnonce?: string;
    qop?: string;
  } & DigestSecret,
): string => {
  const ha1 = 'ha1' in p ? p.ha1 : md5(`${p.user}:${p.realm}:${p.password}`);
  const ha2 = md5(`${p.method}:${p.uri}`);
  return p.qop ? md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
};

/** The Authorization header that answers `challenge` (a WWW-Authenticate: Digest ... header). */
export const digestAuthorization = (challenge: string, account: { user: string; password: string }, method: string, uri: string): string => {
  const c = parseAuthParams(challenge.replace(/^digest\s+/i, ''));
  const qop = c['qop']
    ?.split(',')
    .map((q) => q.trim())
    .includes('auth')
    ? 'auth'
    : undefined;
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const response = digestResponse({ ...account, realm: c['realm'] ?? '', method, uri, nonce: c['nonce'] ?? '', ...(qop ? { qop, nc, cnonce } : {}) });
  const fields = [`username="${account.user}"`, `realm="${c['realm'] ?? ''}"`, `nonce="${c['nonce'] ?? ''}"`, `uri="${uri}"`, `response="${response}"`];
  if (qop) fields.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  if (c['opaque'] !== undefined) fields.push(`opaque="${c['opaque']}"`);
  return `Digest ${fields.join(', ')}`;
};
