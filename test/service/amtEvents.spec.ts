import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describeAmtAlert, parseAmtAlert } from 'lms-rx';
import { amtEventKeys, createAmtEventTally } from '../../src/service/amtEvents.js';

const AMT_REBOOT_ALERT = readFileSync('test/fixtures/amt-alert-iAMT0067-reboot.http');
const INTEL_KEYS = (JSON.parse(readFileSync('test/fixtures/intel-lms-alert-keys.json', 'utf8')) as { keys: string[] }).keys;
const alert = (messageId: string, args: string[] = []) => ({ messageId, arguments: args, time: new Date('2026-12-03T10:00:00Z'), receivedAt: new Date() });

describe("AMT's events in words (issue #28, item 3)", () => {
  it("has a sentence for every alert Intel LMS turns into an event (its CimToEventTranslator's keys)", () => {
    const ours = new Set(amtEventKeys());
    assert.deepEqual(
      INTEL_KEYS.filter((k) => !ours.has(k)),
      [],
    );
  });

  it("words AMT's own reboot alert by its id and first argument: a graceful reboot, category power, at AMT's time", () => {
    const e = describeAmtAlert(parseAmtAlert(AMT_REBOOT_ALERT)!);
    assert.equal(e.key, 'iAMT0067-1');
    assert.equal(e.category, 'power');
    assert.match(e.text, /graceful reboot/);
    assert.equal(e.known, true);
  });

  it('tells a KVM session starting from one ending, by the first argument', () => {
    assert.match(describeAmtAlert(alert('iAMT0052', ['1'])).text, /started a KVM session/);
    assert.match(describeAmtAlert(alert('iAMT0052', ['2'])).text, /KVM session ended/);
    assert.equal(describeAmtAlert(alert('iAMT0052', ['1'])).category, 'remote-control');
  });

  it("keys an id that needs no argument by the id alone, and names the agent AMT's watch saw", () => {
    const e = describeAmtAlert(alert('iAMT0003', ['backup-agent']));
    assert.equal(e.key, 'iAMT0003');
    assert.match(e.text, /backup-agent has stopped/);
  });

  it('reports an id it has no sentence for with the id and its arguments, not silently', () => {
    const e = describeAmtAlert(alert('iAMT0999', ['7', 'x']));
    assert.equal(e.known, false);
    assert.equal(e.category, 'other');
    assert.match(e.text, /iAMT0999 \(arguments "7", "x"\)/);
  });

  it('counts events by category and keeps the last ten, the newest last', () => {
    const tally = createAmtEventTally();
    for (let i = 0; i < 12; i++) tally.add(describeAmtAlert(alert('iAMT0064', [String((i % 3) + 1)])));
    tally.add(describeAmtAlert(alert('iAMT0052', ['1'])));
    const s = tally.snapshot();
    assert.equal(s.count, 13);
    assert.deepEqual(s.byCategory, { 'user-consent': 12, 'remote-control': 1 });
    assert.equal(s.recent.length, 10);
    assert.equal(s.recent.at(-1)?.key, 'iAMT0052-1');
  });
});
