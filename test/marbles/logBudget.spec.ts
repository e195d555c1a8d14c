import { strict as assert } from 'node:assert';
import { createLogBudget } from '../../src/service/logBudget.js';

describe('log budget', () => {
  it('lets the first lines of each second through and reports the rest once the next second begins', () => {
    const b = createLogBudget(3);
    const t = 10_000;
    assert.deepStrictEqual(
      [1, 2, 3, 4, 5].map((i) => b.take(t + i)),
      [true, true, true, false, false],
    );
    assert.equal(b.suppressed(t + 500), 0, 'nothing to report within the same second');
    // The first second began with the first line, at t + 1.
    assert.equal(b.suppressed(t + 1000), 0);
    assert.equal(b.suppressed(t + 1001), 2);
    assert.equal(b.suppressed(t + 1002), 0, 'reported once');
    assert.equal(b.take(t + 1003), true);
  });
});
