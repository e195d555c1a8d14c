import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const has = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

// The whole cycle (lintian, install, remove, purge in a trixie root) is `npm run deb:check`, run
// by .ci/run: it needs root and Debian's mirror. This checks what `npm run deb` builds, in seconds.
describe('the Debian package (npm run deb)', function () {
  this.timeout(60_000);
  let deb: string;
  let files: string[];
  const field = (name: string): string => execFileSync('dpkg-deb', ['-f', deb, name], { encoding: 'utf8' }).trim();

  before(async function () {
    if (!has('dpkg-deb') || !has('dpkg-shlibdeps')) this.skip(); // not a Debian system: nothing to build with
    await run(process.execPath, ['scripts/build-deb.mjs']);
    deb = `dist/${readdirSync('dist').find((f) => /^lms-rx_.*\.deb$/.test(f))}`;
    files = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).pop()!.replace(/^\./, ''));
  });

  it('installs the program, its unit, user, udev rule and man page where Debian keeps them', () => {
    for (const f of [
      '/usr/bin/lms',
      '/usr/lib/lms-rx/lms.js',
      '/usr/lib/systemd/system/lms.service',
      '/usr/lib/sysusers.d/lms-rx.conf',
      '/usr/lib/udev/rules.d/99-lms-mei.rules',
      '/usr/share/polkit-1/rules.d/50-lms-rx.rules',
      '/usr/share/man/man8/lms.8.gz',
      '/usr/share/doc/lms-rx/copyright',
      '/usr/share/doc/lms-rx/changelog.gz',
    ])
      assert.ok(files.includes(f), `${f} is in the package`);
    for (const addon of ['epoll.node', 'ffi_bindings.node', 'binding.node'])
      assert.ok(
        files.some((f) => f.endsWith(`/build/Release/${addon}`)),
        addon,
      );
    assert.ok(!files.some((f) => /\/(src|deps|test)\/.*\.(c|cc|h|gyp)$|\.md$|\/obj\.target\//.test(f)), 'no C sources, docs or build objects');
    // Nothing enables source maps at run time: none are shipped (issue #26, item 5), nor a sysctl file (item 8).
    assert.deepStrictEqual(
      files.filter((f) => f.endsWith('.map') || f.includes('sysctl')),
      [],
    );
  });

  it("depends on the distribution's nodejs at the version lms needs and on the ABI its epoll addon was built for", () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    const depends = field('Depends');
    assert.match(depends, new RegExp(`nodejs \\(>= ${pkg.engines.node.replace('>=', '').replace('.', '\\.')}\\)`));
    assert.match(depends, new RegExp(`libnode${process.versions.modules}\\b`));
    assert.equal(depends.match(/libnode\d+/g)?.length, 1, `libnode once: ${depends}`);
    // The epoll addon loads only in the Node major it was built for (issue #26, item 4).
    assert.match(depends, new RegExp(`nodejs \\(<< ${Number(process.versions.node.split('.')[0]) + 1}\\)`));
    assert.equal(field('Conflicts'), 'lms', "Intel's own package ships /usr/bin/lms and lms.service too");
    assert.match(depends, /libc6 \(>= /);
  });

  it('runs the unit from /usr/bin/lms, ships no source map comment, keeps the accounts on purge, and maintainer scripts that parse', async () => {
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    execFileSync('dpkg-deb', ['-R', deb, dir]);
    assert.match(readFileSync(`${dir}/usr/lib/systemd/system/lms.service`, 'utf8'), /^ExecStart=\/usr\/bin\/lms run /m);
    for (const f of readdirSync(`${dir}/usr/lib/lms-rx`).filter((n) => n.endsWith('.js')))
      assert.doesNotMatch(readFileSync(`${dir}/usr/lib/lms-rx/${f}`, 'utf8'), /sourceMappingURL/, f);
    // Purge keeps the system accounts, as Debian does (issue #26, item 2); remove masks nothing (item 8).
    const postrm = readFileSync(`${dir}/DEBIAN/postrm`, 'utf8');
    assert.doesNotMatch(postrm, /userdel|groupdel|deb-systemd-helper mask/);
    for (const s of ['postinst', 'prerm', 'postrm']) await run('sh', ['-n', `${dir}/DEBIAN/${s}`]);
    // Each step copes without systemd as PID 1: starting and stopping are guarded by /run/systemd/system.
    const postinst = readFileSync(`${dir}/DEBIAN/postinst`, 'utf8');
    assert.match(postinst, /if \[ -d \/run\/systemd\/system \]; then[\s\S]*deb-systemd-invoke/);
    assert.match(postinst, /if \[ -e \/dev\/mei0 \]; then[\s\S]*deb-systemd-invoke/, 'no start without the device: it would wait for it');
    execFileSync('rm', ['-rf', dir]);
  });
});
