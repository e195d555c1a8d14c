import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from '../support/harness.js';
import { lms, startDaemon, type Daemon } from '../support/daemon.js';

const run = promisify(execFile);

describe("the README's example: a tool activates the simulated AMT (issue #24)", function () {
  this.timeout(30_000);
  let d: Daemon | undefined;
  afterEach(async () => {
    await d?.stop();
    d = undefined;
  });

  it('runs examples/activate.mjs against `lms run --simulate --sim-provisioning pre`, and AMT then reports itself provisioned to the new admin', async () => {
    const port = await freePort();
    d = await startDaemon(['--simulate', '--sim-ports', String(port), '--sim-provisioning', 'pre', '--log-format', 'json']);
    await d.waitFor(/"msg":"session ready"/);
    const line = d
      .log()
      .split('\n')
      .find((l) => l.includes('"msg":"simulated AMT'))!;
    const { localSystemAccount } = JSON.parse(line) as { localSystemAccount: string };
    const { stdout } = await run(process.execPath, ['examples/activate.mjs', String(port), localSystemAccount, 'N3w!Passw0rd']);
    assert.match(stdout, /control mode 0/);
    assert.match(stdout, /Setup: ReturnValue 0/);
    assert.match(stdout, /provisioning state 2, AMT answers the new admin/);
    // A second activation is refused: AMT is provisioned now.
    const again = await run(process.execPath, ['examples/activate.mjs', String(port), localSystemAccount, 'N3w!Passw0rd']);
    assert.match(again.stdout, /Setup: ReturnValue 2/);
  });

  it('refuses a wrong --sim-provisioning, --sim-amt-version and a --sim-state that is not one', async () => {
    for (const [args, why] of [
      [['--sim-provisioning', 'half'], /use pre, ccm or acm/],
      [['--sim-amt-version', 'nineteen'], /major\.minor/],
    ] as const) {
      const r = await lms(['run', '--simulate', ...args]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, why);
    }
    const r = await lms([
      'run',
      '--simulate',
      '--sim-ports',
      String(await freePort()),
      '--sim-state',
      'package.json',
      '--control-socket',
      '/tmp/lms-sim-state-test.sock',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--sim-state package\.json: not a simulated AMT's state/);
  });
});
