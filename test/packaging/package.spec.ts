import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('the package', function () {
  this.timeout(30_000);

  it('is importable by its own name, with startLms at the root and the protocol parts under their subpaths', async () => {
    const probe =
      "Promise.all(['lms-rx', 'lms-rx/apf', 'lms-rx/session', 'lms-rx/simulator', 'lms-rx/heci'].map((p) => import(p))).then(([root, apf, session, sim, heci]) => {" +
      " const w = apf.encodeApf({ type: 'channel-close', recipient: 7 }); const d = apf.decodeApf(w);" +
      " console.log(JSON.stringify([w.toString('hex'), d._tag, d.right.recipient, typeof root.startLms, typeof root.MeiDevice, typeof session.runSession, typeof sim.SimulatedMe, typeof heci.encodeAmthiRequest, 'encodeApf' in root, Object.keys(root).length])); })";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe]);
    const [hex, tag, recipient, startLms, mei, runSession, simulated, amthi, codecAtRoot, rootNames] = JSON.parse(stdout);
    assert.deepStrictEqual(
      [hex, tag, recipient, startLms, mei, runSession, simulated, amthi, codecAtRoot],
      ['6100000007', 'Right', 7, 'function', 'function', 'function', 'function', 'function', false],
    );
    assert.ok(rootNames <= 12, `the root exports ${rootNames} values: a few, not every internal`);
  });

  it('names in the README every value each entry exports, and exports nothing it does not name (issue #23, item 4)', async () => {
    const probe =
      "Promise.all(['lms-rx', 'lms-rx/apf', 'lms-rx/session', 'lms-rx/simulator', 'lms-rx/heci'].map(async (p) => [p, Object.keys(await import(p))]))" +
      '.then((e) => console.log(JSON.stringify(e)))';
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe]);
    const readme = readFileSync('README.md', 'utf8');
    for (const [entry, names] of JSON.parse(stdout) as [string, string[]][]) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${entry}\` |`));
      assert.ok(row, `no README row for ${entry}`);
      const named = new Set([...row.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)[`(]/g)].map((m) => m[1]));
      assert.deepStrictEqual(
        names.filter((n) => !named.has(n)),
        [],
        `${entry} exports names its README row does not give`,
      );
    }
  });

  it('gives every subpath in exports its own type declarations', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    for (const [path, entry] of Object.entries(pkg.exports as Record<string, { types: string; default: string }>)) {
      assert.ok(statSync(entry.types).isFile(), `${path}: ${entry.types}`);
      assert.ok(statSync(entry.default).isFile(), `${path}: ${entry.default}`);
    }
  });

  it('names the lms command in bin, and the README, the CLI and package.json agree on the two set-up commands', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    assert.equal(pkg.name, 'lms-rx');
    assert.equal(pkg.bin.lms, 'dist/bundle/lms.js');
    // By its shebang, as the installed bin runs, so npm start has the node flags it ships with.
    assert.match(pkg.scripts.start, new RegExp(`&& ${pkg.bin.lms.replace(/\./g, '\\.')} run --simulate( |$)`), 'npm start runs the bin on the simulated ME');
    const readme = readFileSync('README.md', 'utf8');
    assert.ok(readme.includes('npm ci && npm start') && readme.includes('npm ci && npm test'));
    assert.match(readFileSync('.ci/run', 'utf8'), /^npm ci && npm test$/m);
  });

  it('packs the bundled lms command, with the native epoll binding left to node_modules', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    const { stdout } = await run('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], { maxBuffer: 16 << 20 });
    const packed = new Set((JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path));
    assert.ok(packed.has(pkg.bin.lms), `${pkg.bin.lms} is packed`);
    assert.ok(statSync(pkg.bin.lms).mode & 0o100, 'the bin is executable');
    assert.ok(pkg.dependencies.epoll, 'epoll is a dependency, installed (and built) with the package');
    const loader = [...packed].find((p) => p.startsWith('dist/bundle/') && p.endsWith('.js') && readFileSync(p, 'utf8').includes('("epoll")'));
    assert.ok(loader, 'a bundle chunk loads epoll from node_modules rather than inlining it');
    assert.ok(packed.has('dist/src/index.js'), 'the library entry is packed unbundled');
  });
});
