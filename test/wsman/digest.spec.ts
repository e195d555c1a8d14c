/**
 * HTTP Digest against the RFCs' own worked examples, the client and the simulated AMT's verifier
 * each on its own: they share digestResponse, so agreeing with each other proves nothing (issue
 * #23, item 6). Expected values are the RFCs', computed here by no code of the project.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createDigestVerifier } from '../../src/device/simulator/digestAuth.js';
import { digestAuthorization, digestResponse, parseAuthParams } from '../../src/wsman/digest.js';

/** RFC 7616 §3.9.1, the MD5 example. */
const RFC7616 = {
  user: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: '00000001',
  qop: 'auth',
  response: '8ca523f5e9506fed4657c9700eebdbec',
};
const CHALLENGE = `Digest realm="${RFC7616.realm}", qop="auth, auth-int", algorithm=MD5, nonce="${RFC7616.nonce}", opaque="${RFC7616.opaque}"`;
const AUTHORIZATION =
  `Digest username="${RFC7616.user}", realm="${RFC7616.realm}", uri="${RFC7616.uri}", algorithm=MD5, nonce="${RFC7616.nonce}", ` +
  `nc=${RFC7616.nc}, cnonce="${RFC7616.cnonce}", qop=${RFC7616.qop}, response="${RFC7616.response}", opaque="${RFC7616.opaque}"`;
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('HTTP Digest (RFC 7616, RFC 2617)', () => {
  it("computes the RFCs' responses: RFC 7616 §3.9.1 (MD5, qop=auth) and RFC 2617 §3.5", () => {
    assert.equal(digestResponse(RFC7616), RFC7616.response);
    const rfc2617 = {
      user: 'Mufasa',
      password: 'Circle Of Life',
      realm: 'testrealm@host.com',
      method: 'GET',
      uri: '/dir/index.html',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      nc: '00000001',
      cnonce: '0a4f113b',
      qop: 'auth',
    };
    assert.equal(digestResponse(rfc2617), '6629fae49393a05397450978507c4ef1');
  });

  it("answers RFC 7616's challenge with qop=auth, a count and a client nonce, echoing the opaque, and a response the RFC's formula gives", () => {
    const header = digestAuthorization(CHALLENGE, { user: RFC7616.user, password: RFC7616.password }, RFC7616.method, RFC7616.uri);
    assert.match(header, /^Digest /);
    const p = parseAuthParams(header.slice('Digest '.length));
    assert.deepStrictEqual(
      [p['username'], p['realm'], p['nonce'], p['uri'], p['qop'], p['nc'], p['opaque']],
      [RFC7616.user, RFC7616.realm, RFC7616.nonce, RFC7616.uri, 'auth', '00000001', RFC7616.opaque],
    );
    assert.ok((p['cnonce'] ?? '').length >= 8, 'a client nonce');
    const ha1 = md5(`${RFC7616.user}:${RFC7616.realm}:${RFC7616.password}`);
    const ha2 = md5(`${RFC7616.method}:${RFC7616.uri}`);
    assert.equal(p['response'], md5(`${ha1}:${RFC7616.nonce}:00000001:${p['cnonce']}:auth:${ha2}`));
  });

  it("accepts, as AMT's verifier, the RFC's own Authorization for its nonce, and refuses it altered or for a nonce it never gave", () => {
    const verifier = createDigestVerifier(
      () => [{ user: RFC7616.user, password: RFC7616.password }],
      RFC7616.realm,
      16,
      () => RFC7616.nonce,
    );
    assert.equal(verifier.verify('GET', AUTHORIZATION), false, 'a nonce this verifier never gave');
    assert.match(verifier.challenge(), new RegExp(`nonce="${RFC7616.nonce.replace(/\//g, '\\/')}".*qop="auth"`));
    assert.equal(verifier.verify('GET', AUTHORIZATION), true);
    assert.equal(verifier.verify('POST', AUTHORIZATION), false, 'another method');
    assert.equal(verifier.verify('GET', AUTHORIZATION.replace(RFC7616.response, `${RFC7616.response.slice(0, -1)}0`)), false, 'another response');
    assert.equal(verifier.verify('GET', AUTHORIZATION.replace('Mufasa', 'Simba')), false, 'another user');
  });
});
