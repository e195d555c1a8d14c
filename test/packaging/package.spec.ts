import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('the package', function () {
  this.timeout(30_000);

  it('is importable by its own name, with decodeApf and encodeApf among its exports', async () => {
    const probe =
      "import('lms-rx').then((m) => { const w = m.encodeApf({ type: 'channel-close', recipient: 7 });" +
      " const d = m.decodeApf(w); console.log(JSON.stringify([w.toString('hex'), d._tag, d.right.recipient, typeof m.startLms, typeof m.SimulatedMe])); })";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe]);
    assert.deepStrictEqual(JSON.parse(stdout), ['6100000007', 'Right', 7, 'function', 'function']);
  });

  it('names the lms command in bin, and the README, the CLI and package.json agree on the two set-up commands', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    assert.equal(pkg.name, 'lms-rx');
    assert.equal(pkg.bin.lms, 'dist/src/cli/main.js');
    assert.match(pkg.scripts.start, /main\.js run --simulate$/);
    const readme = readFileSync('README.md', 'utf8');
    assert.ok(readme.includes('npm ci && npm start') && readme.includes('npm ci && npm test'));
    assert.match(readFileSync('.ci/run', 'utf8'), /^npm ci && npm test$/m);
  });
});
