/**
 * lms.connect: a channel opened inside the process (how the host duties reach AMT, issue #22 item
 * 1) is a channel like any other: bytes both ways through the ME, shown in status with its
 * in-process peer, and its slot given back when the stream goes.
 */
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { startPair, until, type Pair } from '../support/harness.js';

describe('an in-process channel (lms.connect)', () => {
  let pair: Pair;
  afterEach(async () => {
    await pair?.stop();
  });

  it('carries bytes both ways through the ME, shows as peer 127.0.0.1:0, and frees its slot when destroyed', async () => {
    pair = await startPair();
    const c = pair.lms.connect(pair.echoPort);
    c.write('hello through the ME');
    const [echoed] = (await once(c, 'data')) as [Buffer];
    assert.equal(echoed.toString(), 'hello through the ME');
    const [ch] = pair.lms.status().channels;
    assert.deepStrictEqual([ch?.peer, ch?.local.port, ch?.bytesToMe], [{ address: '127.0.0.1', port: 0 }, pair.echoPort, 20]);
    c.destroy();
    await until('the channel closed', () => pair.lms.status().channels.length === 0);
    assert.ok(
      pair.events.some((e) => e.type === 'channel-closed'),
      'the ME was sent CLOSE and answered it',
    );
  });

  it('ends its stream when the ME closes the channel', async () => {
    pair = await startPair();
    const c = pair.lms.connect(pair.echoPort);
    c.write('x');
    await once(c, 'data');
    c.end(); // our FIN: the session CLOSEs the channel once the ME has answered everything
    c.resume();
    await once(c, 'end');
    await until('the channel closed', () => pair.lms.status().channels.length === 0);
  });
});
