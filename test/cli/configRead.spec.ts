/**
 * The configuration file is read with a bound (issue #23, item 6): a file that says it is small
 * and is not (a /proc file reports size 0 however much it yields) is read to one byte past the
 * limit and refused, never read whole. Counted by the bytes this process read (/proc/self/io), not
 * timed.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { loadConfigFile, MAX_CONFIG_BYTES, reloadConfigFile } from '../../src/cli/config.js';

/** A regular file of size 0 that yields megabytes: the kernel's symbol table. */
const ENDLESS = '/proc/kallsyms';
const bytesRead = (): number => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

describe('the configuration file read (issue #23, item 6)', () => {
  before(function () {
    if (!existsSync(ENDLESS)) {
      console.log(`      skipped: no ${ENDLESS}, a regular file that reports size 0 and yields megabytes, on this kernel`);
      this.skip();
    }
  });

  it(`stops at ${MAX_CONFIG_BYTES + 1} bytes of a file that reports size 0 and is larger, at start and on reload`, async () => {
    let before = bytesRead();
    assert.throws(() => loadConfigFile(ENDLESS), new RegExp(`grew past ${MAX_CONFIG_BYTES} bytes while being read`));
    // The limit, one byte more, and the reads of /proc/self/io itself.
    assert.ok(bytesRead() - before < MAX_CONFIG_BYTES + 8192, `read ${bytesRead() - before} bytes`);
    before = bytesRead();
    await assert.rejects(reloadConfigFile(ENDLESS), new RegExp(`grew past ${MAX_CONFIG_BYTES} bytes while being read`));
    assert.ok(bytesRead() - before < MAX_CONFIG_BYTES + 8192, `read ${bytesRead() - before} bytes on reload`);
  });
});
