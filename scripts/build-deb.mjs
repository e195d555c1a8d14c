// `npm run deb`: builds dist/lms-rx_<version>_<arch>.deb from the built tree with Debian's own
// tools (dpkg-deb, dpkg-shlibdeps), laid out as debhelper would lay it out:
//   /usr/bin/lms                          a wrapper that runs the bundle with the distribution's node
//   /usr/lib/lms-rx/                      the bundled program, and node_modules with only the native
//                                         packages the bundle leaves external (built for this arch)
//   /usr/lib/systemd/system/lms.service   the unit, /usr/lib/sysusers.d, udev rules.d
//   /usr/share/polkit-1/rules.d/50-lms-rx.rules (the host duties' power operations through logind)
//   /usr/share/man/man8/lms.8.gz, /usr/share/doc/lms-rx/{copyright,changelog.gz}
// The maintainer scripts are packaging/debian/{postinst,prerm,postrm}.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

// The changelog names the version it describes: a package.json bumped without it is a mistake.
const changelog = readFileSync('packaging/debian/changelog', 'utf8');
const logged = /^lms-rx \(([^)]+)\)/.exec(changelog)?.[1];
if (logged !== pkg.version) {
  console.error(`npm run deb: packaging/debian/changelog begins with ${logged ?? 'no entry'}, package.json says ${pkg.version}: add its entry first`);
  process.exit(1);
}
// Reproducible: every file's time is the changelog entry's (dpkg-deb clamps to SOURCE_DATE_EPOCH), as
// dpkg-buildpackage does, unless the builder sets one.
const entryDate = /^ -- .*>\s+(.+)$/m.exec(changelog)?.[1];
process.env.SOURCE_DATE_EPOCH ??= String(Math.floor(Date.parse(entryDate ?? '') / 1000));
if (!/^\d+$/.test(process.env.SOURCE_DATE_EPOCH)) throw new Error(`no date in the changelog's first entry: ${entryDate}`);
const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const root = 'dist/deb/root';
const lib = `${root}/usr/lib/lms-rx`;
rmSync('dist/deb', { recursive: true, force: true });

const put = (from, to, mode = 0o644) => {
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
  chmodSync(to, mode);
};
const write = (to, text, mode = 0o644) => {
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, text);
  chmodSync(to, mode);
};
// gzip -9n: no name and no time in the header, so the same input gives the same bytes.
const gz = (text) => gzipSync(text, { level: 9 });

// ---- the program -------------------------------------------------------------------------------
// No source maps: they were 59% of the installed size (3.5 MB of TypeScript sources), and nothing
// enables them at run time (node needs --enable-source-maps). The comments that name them go too.
for (const f of readdirSync('dist/bundle').filter((n) => n.endsWith('.js')))
  write(`${lib}/${f}`, readFileSync(`dist/bundle/${f}`, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
// /usr/bin/lms runs it with node: a shebang on a file that is not executable is a script that is not one.
const program = readFileSync(`${lib}/lms.js`, 'utf8');
write(`${lib}/lms.js`, program.replace(/^#!.*\n/, ''));
write(`${lib}/package.json`, `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module' }, null, 2)}\n`);
// With the node flags the bundle's shebang gives it (scripts/bundle.mjs says why).
const nodeFlags = /^#!\/usr\/bin\/env -S node (.*)\n/.exec(program)?.[1] ?? '';
write(`${root}/usr/bin/lms`, `#!/bin/sh\nexec /usr/bin/node ${nodeFlags} /usr/lib/lms-rx/lms.js "$@"\n`, 0o755);

// The packages the bundle leaves external, with what they require at run time (no build-time
// header packages), from this checkout's node_modules: the native parts are built for `arch`.
const EXTERNAL = ['@2060.io/ffi-napi', '@2060.io/ref-napi', 'epoll'];
const BUILD_ONLY = new Set(['nan', 'node-addon-api', 'get-uv-event-loop-napi-h']);
const modules = new Map(); // package dir -> its path under node_modules
const resolveFrom = (name, from) => {
  for (let dir = from; ; dir = dirname(dir)) {
    const p = join(dir, 'node_modules', name);
    if (existsSync(p)) return p;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed (run npm ci)`);
  }
};
const collect = (name, from) => {
  if (BUILD_ONLY.has(name)) return;
  const dir = resolveFrom(name, from);
  if (modules.has(dir)) return;
  modules.set(dir, relative('node_modules', dir));
  const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const d of Object.keys(p.dependencies ?? {})) collect(d, dir);
};
for (const name of EXTERNAL) collect(name, process.cwd());

// The native addons, built again with Debian's hardening flags (dpkg-buildflags, hardening=+all:
// stack protector, _FORTIFY_SOURCE, relro and bindnow): npm ci builds them with node-gyp's own.
const flags = Object.fromEntries(
  ['CFLAGS', 'CXXFLAGS', 'CPPFLAGS', 'LDFLAGS'].map((v) => [
    v,
    execFileSync('dpkg-buildflags', ['--get', v], { encoding: 'utf8', env: { ...process.env, DEB_BUILD_MAINT_OPTIONS: 'hardening=+all' } }).trim(),
  ]),
);
execFileSync('npm', ['rebuild', ...EXTERNAL], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...flags } });

// What a package needs at run time: its JavaScript, its package.json and its built addon. Not
// its C sources, tests, examples, docs or the objects the build left beside the addon.
const keep = (rel, isDir) => {
  const parts = rel.split('/');
  const base = parts[parts.length - 1];
  if (base.startsWith('.')) return false; // .github, .nyc_output, .npmignore: the package's own tooling
  if (isDir) {
    // C sources (src/, deps/) fall away with the file rule below; a src/ of JavaScript (debug's) stays.
    if (parts.length === 1) return !['deps', 'test', 'tests', 'example', 'examples', 'docs', 'include', 'types', '.github', 'prebuilds'].includes(base);
    return parts[0] !== 'build' || rel === 'build/Release';
  }
  if (parts[0] === 'build') return rel.startsWith('build/Release/') && parts.length === 3 && base.endsWith('.node');
  return /\.(js|cjs|mjs|json|node)$/.test(base) && !/^(bin|build-test|appveyor)\b/.test(base) && base !== 'package-lock.json';
};
const copyPackage = (from, to, rel = '') => {
  for (const e of readdirSync(join(from, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.name === 'node_modules' || !keep(r, e.isDirectory())) continue;
    if (e.isDirectory()) copyPackage(from, to, r);
    // A script with a shebang is a command of the package's own (node-gyp-build's optional.js), not a module lms loads.
    else if (!readFileSync(join(from, r)).subarray(0, 2).equals(Buffer.from('#!'))) put(join(from, r), join(to, r), 0o644);
  }
};
for (const [dir, rel] of modules) copyPackage(dir, join(lib, 'node_modules', rel));
const addons = [];
const findAddons = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) findAddons(p);
    else if (e.name.endsWith('.node')) addons.push(p);
  }
};
findAddons(lib);
for (const a of addons) execFileSync('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', a]);

// ---- the system's parts --------------------------------------------------------------------------
const unit = readFileSync('packaging/systemd/lms.service', 'utf8')
  .replace('ExecStart=/usr/bin/env lms ', 'ExecStart=/usr/bin/lms ')
  .replace('[Unit]\n', '[Unit]\nDocumentation=man:lms(8)\n');
write(`${root}/usr/lib/systemd/system/lms.service`, unit);
put('packaging/sysusers/lms.conf', `${root}/usr/lib/sysusers.d/lms-rx.conf`);
put('packaging/udev/99-lms-mei.rules', `${root}/usr/lib/udev/rules.d/99-lms-mei.rules`);
put('packaging/polkit/50-lms-rx.rules', `${root}/usr/share/polkit-1/rules.d/50-lms-rx.rules`);
write(`${root}/usr/share/man/man8/lms.8.gz`, gz(readFileSync('man/lms.8')));
write(`${root}/usr/share/doc/lms-rx/changelog.gz`, gz(readFileSync('packaging/debian/changelog')));
put('packaging/debian/lintian-overrides', `${root}/usr/share/lintian/overrides/lms-rx`);

// The copyright file (DEP-5): lms-rx, then every package whose code the .deb carries, in the
// bundle (esbuild's metafile lists them) or in node_modules, with its own license text.
const packageOf = (path) => {
  const parts = path.split('node_modules/').pop().split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
};
const bundled = new Set(
  JSON.parse(readFileSync('dist/bundle-inputs.json', 'utf8'))
    .filter((p) => p.includes('node_modules/'))
    .map(packageOf),
);
const carried = new Map([...bundled].map((name) => [name, resolveFrom(name, process.cwd())]));
for (const [dir, rel] of modules) carried.set(packageOf(`node_modules/${rel}`), dir);
// A package that declares MIT or ISC in package.json without shipping the text gets the standard one.
const STANDARD = {
  MIT: (who) =>
    `Copyright (c) ${who}\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`,
  ISC: (who) =>
    `Copyright (c) ${who}\n\nPermission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted, provided that the above copyright notice and this permission notice appear in all copies.\n\nTHE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`,
};
const licenseText = (dir, license, author) => {
  // Of several (LICENSE.MIT and LICENSE.APACHE2), the one of the license package.json declares.
  const files = readdirSync(dir).filter((n) => /^licen[cs]e/i.test(n));
  const f = files.find((n) => n.toUpperCase().includes(String(license).toUpperCase())) ?? files[0];
  return f ? readFileSync(join(dir, f), 'utf8').trim() : STANDARD[license]?.(author);
};
const stanzas = [
  `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: lms-rx\nSource: ${pkg.homepage ?? 'https://github.com/lms-rx/lms-rx'}\n`,
  'Files: *\nCopyright: the lms-rx authors\nLicense: Apache-2.0\n On Debian systems, the full text of the Apache License 2.0 is in\n /usr/share/common-licenses/Apache-2.0.\n',
];
for (const [name, dir] of [...carried].sort(([a], [b]) => a.localeCompare(b))) {
  const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const license = typeof p.license === 'string' ? p.license : (p.license?.type ?? 'unknown');
  // Apache-2.0 is in /usr/share/common-licenses: the copyright file refers to it (Debian Policy 12.5).
  const author = typeof p.author === 'string' ? p.author : (p.author?.name ?? `the ${name} authors`);
  // A license file that is the Apache License itself (`from` ships it beside MIT) is referred to as well.
  const found = license === 'Apache-2.0' ? undefined : licenseText(dir, license, author)?.replace(/\r/g, '');
  const apache = found !== undefined && /Apache License\s+Version 2\.0, January 2004/.test(found);
  const text = apache ? undefined : found;
  if (!text && license !== 'Apache-2.0' && !found) throw new Error(`${name} ships no license text, and ${license} has no standard one here`);
  const body = text
    ? text
        .split('\n')
        .map((l) => (l.trim() === '' ? ' .' : ` ${l}`))
        .join('\n')
    : ' On Debian systems, the full text of the Apache License 2.0 is in\n /usr/share/common-licenses/Apache-2.0.';
  const where = bundled.has(name) ? 'usr/lib/lms-rx/*.js' : `usr/lib/lms-rx/node_modules/${name}/*`;
  stanzas.push(
    `Comment: ${name} ${p.version}${bundled.has(name) ? ', bundled into lms.js' : ''}\nFiles: ${where}\nCopyright: ${author}\nLicense: ${apache ? 'Apache-2.0' : license}\n${body}\n`,
  );
}
write(`${root}/usr/share/doc/lms-rx/copyright`, stanzas.join('\n'));

// ---- control ---------------------------------------------------------------------------------------
// dpkg-shlibdeps wants a debian/control beside it: it runs in a scratch tree.
const scratch = 'dist/deb/shlibs';
write(`${scratch}/debian/control`, 'Source: lms-rx\n\nPackage: lms-rx\nArchitecture: any\n');
const shlibs = execFileSync('dpkg-shlibdeps', ['-O', '--warnings=0', ...addons.map((a) => relative(scratch, a))], {
  cwd: scratch,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'ignore'],
})
  .trim()
  .replace(/^shlibs:Depends=/, '');
// epoll's addon is built against V8's own API, not N-API: it loads only in a node of the ABI it was
// built for, which Debian's nodejs carries in the name of its library (libnode115 for Node 20), and
// which one major version of Node keeps. So the package asks for that library and that major, once
// each: dpkg-shlibdeps names libnode too when an addon links it.
const nodeMajor = Number(process.versions.node.split('.')[0]);
const depends = [...new Set([`libnode${process.versions.modules}`, ...shlibs.split(/,\s*/).filter(Boolean)])].join(', ');
const sizeKb = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce(
    (n, e) => n + (e.isDirectory() ? sizeKb(join(dir, e.name)) : Math.ceil(statSync(join(dir, e.name)).size / 1024)),
    0,
  );
const control = readFileSync('packaging/debian/control.in', 'utf8')
  .replace('@VERSION@', pkg.version)
  .replace('@ARCH@', arch)
  .replace('@SIZE@', String(sizeKb(root)))
  .replace('@NEXT_MAJOR@', String(nodeMajor + 1))
  .replace('@SHLIBS@', depends);
const md5sums = [];
const sum = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sum(p);
    else md5sums.push(`${createHash('md5').update(readFileSync(p)).digest('hex')}  ${relative(root, p)}`);
  }
};
sum(join(root, 'usr'));
write(`${root}/DEBIAN/control`, control);
write(`${root}/DEBIAN/md5sums`, `${md5sums.join('\n')}\n`);
for (const s of ['postinst', 'prerm', 'postrm']) put(`packaging/debian/${s}`, `${root}/DEBIAN/${s}`, 0o755);
// Directories 0755 whatever the umask; files keep the modes set above.
const dirs = (dir) => {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) dirs(join(dir, e.name));
};
dirs(root);

const out = `dist/${pkg.name}_${pkg.version}_${arch}.deb`;
execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, out], { stdio: ['ignore', 'ignore', 'inherit'] });
console.log(out);
