import { strict as assert } from 'node:assert';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { decodeApf, encodeApf, Opcode } from 'lms-rx/apf';
import { apfMessage } from '../support/arbitraries.js';
import { xorshift } from '../support/random.js';

const OPCODES = Object.values(Opcode) as number[];

describe('APF decoder fuzz', () => {
  it('decodes 100,000 random and mutated buffers to Right or Left without throwing, and every Right re-encodes exactly', () => {
    const seed = 0x5eed;
    const rnd = xorshift(seed);
    const samples = fc.sample(apfMessage, { numRuns: 500, seed }).map(encodeApf);
    let rights = 0;
    let lefts = 0;
    for (let i = 0; i < 100_000; i++) {
      let buf: Buffer;
      if (i % 2 === 0) {
        // Random bytes, with a known opcode most of the time so decoders get past the dispatch.
        buf = Buffer.alloc(rnd(120));
        for (let j = 0; j < buf.length; j++) buf[j] = rnd(256);
        if (buf.length > 0 && rnd(4) !== 0) buf[0] = OPCODES[rnd(OPCODES.length)]!;
      } else {
        // A valid message, mutated: flipped bytes, a cut, or an extension.
        buf = Buffer.from(samples[rnd(samples.length)]!);
        const kind = rnd(3);
        if (kind === 0) for (let k = 0; k <= rnd(4); k++) if (buf.length) buf[rnd(buf.length)] ^= 1 << rnd(8);
        if (kind === 1) buf = buf.subarray(0, rnd(buf.length + 1));
        if (kind === 2) buf = Buffer.concat([buf, Buffer.alloc(1 + rnd(8), rnd(256))]);
      }
      let result;
      try {
        result = decodeApf(buf);
      } catch (err) {
        assert.fail(`decodeApf threw on ${buf.toString('hex')} (seed ${seed}, case ${i}): ${String(err)}`);
      }
      if (E.isRight(result)) {
        rights++;
        assert.deepStrictEqual(encodeApf(result.right), buf, `re-encoding differs for ${buf.toString('hex')}`);
      } else lefts++;
    }
    // Both outcomes must actually occur, or the generator is not exercising the decoder.
    assert.ok(rights > 1000 && lefts > 1000, `rights ${rights}, lefts ${lefts}`);
  });
});
