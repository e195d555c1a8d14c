/**
 * A client that resets its connection before lms accepts it (issue #22, item 7): an RST storm
 * logged "peer  is not a loopback address" and counted refusals. Such a connection has no peer
 * left to refuse: it is dropped, counted apart, and the daemon serves the next client.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { head, ok200, startPair, type Pair } from '../support/harness.js';

describe('a connection reset by its client before lms accepts it (issue #22, item 7)', () => {
  let pair: Pair;
  afterEach(async () => {
    await pair?.stop();
  });

  it('is counted as gone before accept, not refused, and says nothing about loopback', async () => {
    const warnings: string[] = [];
    const quiet = (): void => undefined;
    pair = await startPair({}, { logger: { error: quiet, warn: (_: unknown, m: string) => void warnings.push(m), info: quiet, debug: quiet, trace: quiet } });
    // The client connects and resets while this process's event loop is blocked in execFileSync: the
    // kernel completes the handshake from the backlog, so lms accepts a connection that is already reset.
    const client = `const s = require('net').connect(${pair.httpPort}, '127.0.0.1', () => s.resetAndDestroy()); s.on('close', () => process.exit(0));`;
    for (let i = 0; i < 3; i++) execFileSync(process.execPath, ['-e', client]);
    assert.ok(ok200(await head(pair.httpPort)), 'the next client is served');
    const c = pair.lms.status().counters;
    assert.equal(c.goneBeforeAccept, 3);
    assert.equal(c.refused, 0);
    assert.ok(!pair.events.some((e) => e.type === 'connection-refused'));
    assert.deepStrictEqual(
      warnings.filter((w) => /loopback|refused/.test(w)),
      [],
    );
  });
});
