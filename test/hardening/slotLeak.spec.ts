import { strict as assert } from 'node:assert';
import { patternBytes } from '../../src/device/simulator/patternBytes.js';
import { curl, head, ok200, sha256, startPair, until, type Pair } from '../support/harness.js';
import { holdSlots, pipelineAndClose } from './slotAttack.js';

const MB = 1024 * 1024;
/** npm run soak raises this. */
const ROUNDS = Number(process.env['LMS_SLOT_ATTACK_ROUNDS'] ?? 3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const within = <T>(ms: number, p: Promise<T>, fallback: T): Promise<T> => Promise.race([p, sleep(ms).then(() => fallback)]);
/** A reclaim policy short enough for a test, on the pair's HTTP port (or on none). */
const reclaiming =
  (on = true) =>
  ({ httpPort }: { httpPort: number }) => ({ reclaim: { ports: on ? [httpPort] : [], idleMs: 300, answerMs: 1000 } });

describe('slot attacks by local clients (issue #14)', function () {
  this.timeout(60_000 + ROUNDS * 15_000);
  let pair: Pair;
  afterEach(async () => {
    await pair?.stop();
  });

  it('frees every ME slot at once after eight clients pipeline requests, read nothing and close', async () => {
    pair = await startPair();
    await Promise.all(Array.from({ length: 8 }, () => pipelineAndClose(pair.httpPort, 4 * MB)));
    const reply = await within(5000, head(pair.httpPort), Buffer.alloc(0));
    assert.ok(ok200(reply), `no reply within 5 s after the attack (${pair.me.openChannels()} ME slots open)`);
    for (let i = 0; i < 100 && pair.me.openChannels() > 0; i++) await sleep(20);
    assert.equal(pair.me.openChannels(), 0, 'ME slots still open with no TCP connection left');
    const r = await curl([`http://127.0.0.1:${pair.httpPort}/data/${2 * MB}`]);
    assert.equal(sha256(r.stdout), sha256(patternBytes(0, 2 * MB)));
  });

  it('leaves eight idle connections their slots on a port outside the reclaim policy', async () => {
    pair = await startPair({}, reclaiming(false));
    const hogs = holdSlots(pair.httpPort, 8, Date.now() + 1500);
    await until('the hogs hold every slot', () => pair.lms.status().channels.length === 8);
    assert.equal(await within(1000, head(pair.httpPort).then(ok200), false), false, 'served although every slot was held');
    assert.equal(await hogs, 0, 'lms closed a connection outside the policy');
    assert.equal(pair.lms.status().counters.reclaimed, 0);
  });

  it('serves a client that waits behind eight idle connections by reclaiming one, with an event and a count', async () => {
    pair = await startPair({}, reclaiming());
    const idle = holdSlots(pair.httpPort, 8, Date.now() + 2500);
    await until('the idle connections hold every slot', () => pair.lms.status().channels.length === 8);
    const served = ok200(await within(2000, head(pair.httpPort), Buffer.alloc(0)));
    await idle;
    assert.ok(served, 'not served while idle connections hold the slots');
    assert.ok(pair.lms.status().counters.reclaimed >= 1);
    assert.ok(pair.events.some((e) => e.type === 'channel-reclaimed' && e.why === 'idle' && e.port === pair.httpPort && e.quietMs >= 300));
  });

  it(`withstands ${ROUNDS} rounds of pipeline-and-close, idle and slowloris clients while a well-behaved client gets every byte`, async () => {
    pair = await startPair({}, reclaiming());
    let downloads = 0;
    let stop = false;
    const body = 3 * MB;
    const expected = sha256(patternBytes(0, body));
    const failures: string[] = [];
    const wellBehaved = (async () => {
      while (!stop) {
        const r = await curl([`http://127.0.0.1:${pair.httpPort}/data/${body}`]);
        if (r.code !== 0) failures.push(`curl exit ${r.code}: ${r.stderr}`);
        else if (sha256(r.stdout) !== expected) failures.push(`wrong bytes (${r.stdout.length})`);
        else downloads++;
      }
    })();
    let before = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const end = Date.now() + 4000;
        const attacks = [
          ...Array.from({ length: 8 }, () => pipelineAndClose(pair.httpPort, 4 * MB)),
          holdSlots(pair.httpPort, 8, end),
          holdSlots(pair.httpPort, 20, end, 100),
        ];
        await until('the attackers hold every slot', () => pair.lms.status().channels.length === 8);
        const served = ok200(await within(3000, head(pair.httpPort), Buffer.alloc(0)));
        await Promise.all(attacks);
        assert.ok(served, `round ${round + 1}: no reply within 3 s under attack`);
        for (let i = 0; i < 150 && pair.me.openChannels() > 1; i++) await sleep(20);
        assert.ok(pair.me.openChannels() <= 1, `round ${round + 1}: ${pair.me.openChannels()} ME slots open after the attackers left`);
      }
      before = downloads;
      await sleep(1000);
    } finally {
      stop = true; // the client's loop ends with the test, passed or failed
      await wellBehaved;
    }
    assert.deepStrictEqual(failures, []);
    assert.ok(downloads > before, 'the well-behaved client made no progress after the attacks');
    assert.ok(pair.lms.status().counters.reclaimed > 0);
    const s = pair.me.stats;
    assert.deepStrictEqual([s.doubleClose, s.unknownChannel, s.windowViolations], [0, 0, 0]);
  });
});
