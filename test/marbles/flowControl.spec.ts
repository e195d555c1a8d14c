import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { addCredit, MIN_TAIL, nextChunkSize, shouldReturnCredit } from '../../src/index.js';

describe('flow control arithmetic', () => {
  it('never exceeds the window, the MTU payload or what is buffered', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), fc.integer({ min: 64, max: 8192 }), fc.nat({ max: 100_000 }), fc.boolean(), (window, mtu, buffered, credit) => {
        const n = nextChunkSize(window, mtu, buffered, credit);
        assert.ok(n >= 0 && n <= window && n <= mtu - 9 && n <= buffered);
      }),
    );
  });

  it('leaves no tail shorter than 5 bytes whenever the window allows it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 64, max: 100_000 }), fc.integer({ min: 64, max: 8192 }), fc.integer({ min: 1, max: 100_000 }), fc.boolean(), (window, mtu, buffered, credit) => {
        const n = nextChunkSize(window, mtu, buffered, credit);
        const tail = buffered - n;
        if (n > 0) assert.ok(tail === 0 || tail >= MIN_TAIL, `window ${window} mtu ${mtu} buffered ${buffered}: sent ${n}, left ${tail}`);
      }),
    );
  });

  it('waits for credit rather than spend a window sliver on a tiny message, but never deadlocks without credit in flight', () => {
    assert.equal(nextChunkSize(9, 4096, 10_000, true), 0);
    assert.equal(nextChunkSize(9, 4096, 10_000, false), 9);
    assert.equal(nextChunkSize(3, 4096, 4, false), 3, 'the tail rule yields when waiting could deadlock');
    assert.equal(nextChunkSize(3, 4096, 4, true), 0);
    assert.equal(nextChunkSize(2000, 4096, 10_000, true), 2000);
  });

  it('caps an overflowing WINDOW_ADJUST at 2^32-1 and says so', () => {
    assert.deepStrictEqual(addCredit(0xffff_fff0, 0x20), { window: 0xffff_ffff, overflow: true });
    assert.deepStrictEqual(addCredit(10, 20), { window: 30, overflow: false });
  });

  it('returns credit in batches of half the advertised window', () => {
    assert.equal(shouldReturnCredit(0, 16), false);
    assert.equal(shouldReturnCredit(7, 16), false);
    assert.equal(shouldReturnCredit(8, 16), true);
  });
});
