import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { decodeApf, encodeApf, encodedLength, type ApfMessage } from '../../src/index.js';
import { apfMessage } from '../support/arbitraries.js';

describe('APF codec properties', () => {
  it('decodes every encoded message back to itself, for every message type', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(apfMessage, (m) => {
        seen.add(m.type);
        const wire = encodeApf(m);
        assert.equal(wire.length, encodedLength(m));
        assert.deepStrictEqual(decodeApf(wire), E.right(m));
      }),
      { numRuns: 5000 },
    );
    assert.equal(seen.size, 20, `types covered: ${[...seen].join(', ')}`);
  });

  it('re-encodes every decoded message to its input byte for byte', () => {
    fc.assert(
      fc.property(apfMessage, (m) => {
        const wire = encodeApf(m);
        const again = decodeApf(wire);
        assert.ok(E.isRight(again));
        assert.deepStrictEqual(encodeApf(again.right), wire);
      }),
      { numRuns: 2000 },
    );
  });

  it('is a Left for every strict prefix of a message whose length is fixed by its fields', () => {
    // Messages ending in a raw tail (unknown names) and the one-byte REQUEST_SUCCESS have valid prefixes.
    const fixed = (m: ApfMessage): boolean =>
      !(m.type === 'request-success') &&
      !(m.type === 'global-request' && m.request === 'unknown') &&
      !(m.type === 'channel-open' && m.channelType === 'unknown') &&
      !(m.type === 'userauth-request' && m.method === 'unknown');
    fc.assert(
      fc.property(apfMessage.filter(fixed), fc.nat(), (m, cut) => {
        const wire = encodeApf(m);
        assert.ok(E.isLeft(decodeApf(wire.subarray(0, cut % wire.length))));
      }),
      { numRuns: 3000 },
    );
  });
});
