/**
 * Memory given back once a burst of channels is over (issue #27): startLms calls releaseMemory
 * once, idleReleaseMs after the last channel closed, and not while it serves nothing.
 */
import { strict as assert } from 'node:assert';
import { head, startPair, until, type Pair } from '../support/harness.js';

describe('memory given back when lms goes idle', () => {
  let pair: Pair;
  afterEach(async () => {
    await pair?.stop();
  });

  it('releases once after a burst of requests, and not before the first', async () => {
    let released = 0;
    pair = await startPair({}, { releaseMemory: () => void released++, idleReleaseMs: 100 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(released, 0, 'a daemon that served nothing has nothing to give back');
    for (let i = 0; i < 5; i++) await head(pair.httpPort);
    await until('memory given back', () => released > 0);
    await new Promise((r) => setTimeout(r, 300)); // no channel closed since: no second release
    assert.equal(released, 1);
  });

  it('collects the V8 heap once per burst before trimming, where node exposes gc (the bin runs with --expose-gc)', async () => {
    // V8 left its heap and the Buffers it held unshrunk after the bench's soak; only a full collection gave them back.
    const g = globalThis as { gc?: () => void };
    const saved = g.gc;
    let collections = 0;
    g.gc = () => void collections++;
    try {
      pair = await startPair({}, { idleReleaseMs: 100 });
      for (let i = 0; i < 5; i++) await head(pair.httpPort);
      await until('heap collected', () => collections > 0);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(collections, 1);
    } finally {
      if (saved) g.gc = saved;
      else delete g.gc;
    }
  });
});
