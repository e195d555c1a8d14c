import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { decodeApf, encodeApf, encodedLength, slabEncoder, channelClose, channelData, type ApfMessage } from 'lms-rx/apf';
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

  it('a slab encoder gives the same bytes as encodeApf, and no message it returned is overwritten by a later one', () => {
    fc.assert(
      fc.property(fc.array(apfMessage, { minLength: 1, maxLength: 40 }), fc.integer({ min: 64, max: 4096 }), (ms, slab) => {
        const encode = slabEncoder(slab);
        const out = ms.map(encode); // all kept alive while later ones are encoded
        for (const [i, m] of ms.entries()) assert.deepStrictEqual(out[i], encodeApf(m), `message ${i} (${m.type})`);
      }),
      { numRuns: 500 },
    );
  });

  it('a slab encoder packs small messages into one slab and gives a message larger than the slab its own buffer', () => {
    const encode = slabEncoder(64);
    const a = encode(channelClose(1));
    const b = encode(channelClose(2));
    assert.equal(a.buffer, b.buffer, 'one slab');
    assert.equal(b.byteOffset, a.byteOffset + a.length, 'adjacent');
    const big = encode(channelData(3, Buffer.alloc(100, 7)));
    assert.notEqual(big.buffer, a.buffer);
    assert.deepStrictEqual(big, encodeApf(channelData(3, Buffer.alloc(100, 7))));
  });
});
