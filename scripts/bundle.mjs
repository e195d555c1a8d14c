// Bundles the `lms` command (the daemon and its CLI) from tsc's output into dist/bundle/.
//
// Why: a Node process pays memory for every module it loads, and loading rxjs, io-ts and fp-ts
// through their package indexes parses far more than lms uses. The bundle keeps one copy of
// what is reached and costs about 12 MB less idle RSS than the module tree (npm run bench,
// "idle RSS"). The library (`import 'lms-rx'`) stays unbundled, so its users' own bundlers can
// tree-shake it.
//
// - Code loaded on demand (the MEI device, the simulated ME, metrics) stays in chunks of its own
//   (`splitting`), so a daemon on /dev/mei0 never loads the simulator, and the reverse.
// - The native packages (FFI, epoll) stay external; they are found in node_modules as before.
// - Not minified, so stack traces in logs name real functions; a source map sits beside each file.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const outdir = 'dist/bundle';
rmSync(outdir, { recursive: true, force: true }); // chunk names are content hashes: drop the old ones

// The ES module builds of rxjs, fp-ts and io-ts instead of their CommonJS ones (which Node's
// "node" export condition would pick): they tree-shake, and calls into them are direct rather than
// through CommonJS interop getters on every access. Idle RSS 55 -> 53 MB.
const esmBuilds = {
  name: 'esm-builds',
  setup(b) {
    const pkg = (p) => resolve('node_modules', p);
    b.onResolve({ filter: /^rxjs$/ }, () => ({ path: pkg('rxjs/dist/esm/index.js') }));
    b.onResolve({ filter: /^io-ts$/ }, () => ({ path: pkg('io-ts/es6/index.js') }));
    b.onResolve({ filter: /^fp-ts\/lib\// }, (a) => ({ path: pkg(`fp-ts/es6/${a.path.slice('fp-ts/lib/'.length)}`) }));
  },
};

const result = await build({
  plugins: [esmBuilds],
  metafile: true, // which packages the bundle holds: the Debian package's copyright file names them
  entryPoints: { lms: 'dist/src/cli/main.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // abstract-socket: dbus-native's for an abstract-namespace bus address, which the system bus is not.
  external: ['@2060.io/ffi-napi', '@2060.io/ref-napi', 'epoll', 'abstract-socket'],
  // CommonJS dependencies (pino and its helpers, prom-client) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __lmsRequire } from 'node:module'; const require = __lmsRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
// V8 sized for a small daemon (issue #27, measured with bench/README.md's soak): young-generation
// halves of 2 MB instead of up to 16, and one V8 helper thread instead of one per core;
// --expose-gc lets service/idleMemory.ts collect once after a burst, before malloc_trim. The
// shebang carries them (env -S), so every start of the bin has them; the Debian wrapper and the
// benchmarks read them from here.
const NODE_FLAGS = '--max-semi-space-size=2 --v8-pool-size=1 --expose-gc';
const main = `${outdir}/lms.js`;
writeFileSync(main, readFileSync(main, 'utf8').replace(/^#!.*\n/, `#!/usr/bin/env -S node ${NODE_FLAGS}\n`));
chmodSync(main, 0o755);
writeFileSync('dist/bundle-inputs.json', JSON.stringify(Object.keys(result.metafile.inputs)));
