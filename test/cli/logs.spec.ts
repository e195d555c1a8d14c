/** How `lms run` logs, as a person, a collector and journald read it (issue #18, logs). */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, lms } from '../support/daemon.js';
import { freePort } from '../support/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a simulated daemon with its stdout on a file until `pattern` shows, then stops it; returns
 * its lines. `journal`: JOURNAL_STREAM names that file's device:inode, as systemd does for a
 * service whose output goes to the journal; 'other': it names something else (inherited).
 */
const runLogged = async (args: string[], journal: 'yes' | 'other' | 'no', pattern: RegExp): Promise<string[]> => {
  const dir = mkdtempSync(join(tmpdir(), 'lms-logs-'));
  const file = join(dir, 'out');
  const fd = openSync(file, 'w');
  const st = fstatSync(fd);
  const env = { ...process.env };
  delete env['JOURNAL_STREAM'];
  if (journal === 'yes') env['JOURNAL_STREAM'] = `${st.dev}:${st.ino}`;
  if (journal === 'other') env['JOURNAL_STREAM'] = `${st.dev}:${st.ino + 1}`;
  const ports = `${await freePort()},${await freePort()}`;
  const p = spawn(process.execPath, [CLI, 'run', '--simulate', '--sim-ports', ports, '--control-socket', join(dir, 'lms.sock'), ...args], {
    stdio: ['ignore', fd, fd],
    env,
  });
  try {
    for (let i = 0; i < 250 && !pattern.test(readFileSync(file, 'utf8')); i++) await sleep(20);
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
    return readFileSync(file, 'utf8').trimEnd().split('\n');
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
};

describe('lms run logs', function () {
  this.timeout(20_000);

  it('writes readable lines with --log-format text: time, level, message, then the fields', async () => {
    const lines = await runLogged(['--log-format', 'text'], 'no', /lms ready/);
    const ready = lines.find((l) => l.includes('lms ready'));
    assert.match(ready ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}lms ready .*status=\S+/);
    assert.ok(
      lines.every((l) => !l.startsWith('{')),
      'a JSON line in text output',
    );
    assert.match(lines.at(-1)!, /INFO {2}lms stopped$/);
  });

  it('writes one JSON object a line by default when its output is not a terminal, and with --log-format json', async () => {
    for (const args of [[], ['--log-format', 'json']]) {
      const lines = await runLogged(args, 'no', /lms ready/);
      for (const l of lines) assert.equal(typeof (JSON.parse(l) as { msg: string }).msg, 'string');
    }
  });

  it('prefixes each line with its syslog priority when its output is the journal, and leaves the time to journald', async () => {
    const lines = await runLogged(['--sim-fault', 'notify@0.3'], 'yes', /AMT: the local agent/);
    assert.ok(
      lines.every((l) => /^<[2-7]>/.test(l)),
      `a line without a priority: ${lines.find((l) => !/^<[2-7]>/.test(l))}`,
    );
    assert.ok(
      lines.some((l) => /^<6>INFO {2}lms ready/.test(l)),
      'info is priority 6, and the line is text',
    );
    assert.ok(
      lines.some((l) => /^<4>WARN {2}injecting simulated fault notify/.test(l)),
      'warn is priority 4',
    );
    assert.ok(
      lines.some((l) => /^<5>NOTICE AMT: the local agent has expired/.test(l)),
      "AMT's event is notice, priority 5 (journalctl -p notice)",
    );
    assert.ok(
      lines.every((l) => !/^<\d>\d{4}-/.test(l)),
      'journald stamps the time itself',
    );
    const json = await runLogged(['--log-format', 'json'], 'yes', /lms ready/);
    assert.ok(json.every((l) => /^<[2-7]>\{/.test(l)));
  });

  it('takes JOURNAL_STREAM for the journal only when it names its own stdout (a variable inherited from elsewhere is ignored)', async () => {
    const lines = await runLogged([], 'other', /lms ready/);
    assert.ok(lines.every((l) => l.startsWith('{')));
  });

  it('refuses an unknown --log-format', async () => {
    const r = await lms(['run', '--simulate', '--log-format', 'xml']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--log-format xml: use text, json or auto/);
  });
});
