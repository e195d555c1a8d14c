/**
 * Memory given back once a burst of channels is over (issue #27): startLms calls releaseMemory
 * once, idleReleaseMs after the last channel closed, and not while it serves nothing.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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

  it("compacts V8's old space when it collects: pages that kept a few survivors are given back", async () => {
    // In a node of its own (--expose-gc, as the bin runs): fill old space, leave one object in 20
    // alive on every page, then collect as lms does. A collection that did not compact kept every page.
    const idleMemory = fileURLToPath(new URL('../../src/service/idleMemory.js', import.meta.url));
    const script = `
      const v8 = require('node:v8');
      const { collectGarbage } = await import(${JSON.stringify(idleMemory)});
      const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
      const keep = [];
      for (let i = 0; i < 200000; i++) keep.push({ i, s: 'x'.repeat(8) + i });
      gc(); gc();
      const before = old();
      for (let i = 0; i < keep.length; i++) if (i % 20 !== 0) keep[i] = null;
      const collected = collectGarbage();
      console.log(JSON.stringify({ collected, before, after: old(), kept: keep.filter(Boolean).length }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=commonjs', '-e', `(async () => {${script}})()`]);
    const r = JSON.parse(stdout) as { collected: boolean; before: number; after: number; kept: number };
    assert.equal(r.collected, true);
    assert.equal(r.kept, 10_000);
    assert.ok(r.before > 16 * 2 ** 20, `old space filled: ${r.before} bytes`);
    assert.ok(r.after < r.before / 2, `old space ${r.before} -> ${r.after} bytes: the survivors were not moved together`);
  });
});
