import { strict as assert } from 'node:assert';
import { head, ok200, startPair, type Pair } from '../support/harness.js';

describe('a session that throws (issue #14)', () => {
  let pair: Pair;
  afterEach(async () => {
    await pair?.stop();
  });

  it('logs the bug, drops the connections and serves the next client from a fresh session, instead of looking ready and serving nothing', async () => {
    const errors: string[] = [];
    let armed = true;
    const quiet = () => undefined;
    // A logger that throws once inside an effect: the session's run dies with it, as any bug would.
    const logger = {
      error: (_: unknown, m: string) => void errors.push(m),
      warn: quiet,
      info: (_: unknown, m: string) => {
        if (armed && m === 'channel open') {
          armed = false;
          throw new Error('a bug in an effect');
        }
      },
      debug: quiet,
      trace: quiet,
    };
    pair = await startPair({}, { logger });
    await head(pair.httpPort).catch(() => Buffer.alloc(0)); // the connection the bug takes down
    assert.equal(pair.lms.status().counters.sessionFailures, 1);
    assert.ok(
      errors.some((m) => /session failed \(a bug\)/.test(m)),
      errors.join('\n'),
    );
    await pair.lms.ready(pair.httpPort);
    assert.ok(ok200(await head(pair.httpPort)), 'not served after the session failed');
    assert.equal(pair.lms.status().session.phase, 'ready');
  });
});
