/** The man page lms(8) says what the CLI does (issue #18, man page): every command, flag and exit code. */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DOCTOR_HELP } from '../../src/cli/doctorCommand.js';
import { Exit } from '../../src/cli/exitCodes.js';
import { INFO_HELP } from '../../src/cli/infoCommand.js';
import { PROBE_HELP } from '../../src/cli/probeCommand.js';
import { RUN_HELP } from '../../src/cli/runArgs.js';
import { STATUS_HELP } from '../../src/cli/statusCommand.js';
import { EVENTS_HELP } from '../../src/cli/eventsCommand.js';

const PAGE = 'man/lms.8';
/** The page as man renders it, hyphens and all. */
const rendered = (): string =>
  execFileSync('man', ['-l', '-P', 'cat', PAGE], { env: { ...process.env, MANWIDTH: '200', LC_ALL: 'C.UTF-8' } })
    .toString()
    .replace(/‐/g, '-');
const flagsOf = (help: string): string[] => [...new Set(help.match(/--[a-z][a-z-]*/g) ?? [])];

describe('man page lms(8)', () => {
  before(function () {
    if (spawnSync('man', ['--version']).status === 0) return;
    if (process.env['CI']) throw new Error('man is missing (apt-get install man-db): the man page cannot be checked');
    console.log('      skipped: man is missing (apt-get install man-db)');
    this.skip();
  });

  it('is installed with the package (package.json "man"), and renders without warnings', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { man: string[]; files: string[] };
    assert.deepStrictEqual(pkg.man, [`./${PAGE}`]);
    assert.ok(pkg.files.includes('man'));
    const r = spawnSync('man', ['--warnings', '-l', '-P', 'cat', PAGE], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stderr, '');
  });

  it('names every command and every flag the CLI explains, and every exit code', () => {
    const page = rendered();
    for (const command of ['run', 'status', 'events', 'probe', 'info', 'doctor'])
      assert.match(page, new RegExp(`^\\s*lms ${command}\\b`, 'm'), `lms ${command}`);
    for (const flag of [RUN_HELP, STATUS_HELP, EVENTS_HELP, PROBE_HELP, INFO_HELP, DOCTOR_HELP].flatMap(flagsOf))
      assert.ok(page.includes(flag), `${flag} is not in the man page`);
    for (const code of Object.values(Exit))
      assert.match(page.slice(page.indexOf('EXIT STATUS')), new RegExp(`^\\s+${code}\\s{2,}\\S`, 'm'), `exit status ${code}`);
  });

  it('tells the AMT facts an administrator must know, and the messages of the README troubleshooting table', () => {
    const page = rendered().replace(/\s+/g, ' ');
    for (const fact of ['packet captures on the host do not show it', 'IPv6-only LAN', 'link aggregation', 'EADDRINUSE', 'ip_local_reserved_ports'])
      assert.ok(page.includes(fact), fact);
    const readme = readFileSync('README.md', 'utf8');
    const table = readme.slice(
      readme.indexOf('### Troubleshooting by message'),
      readme.indexOf('\n### ', readme.indexOf('### Troubleshooting by message') + 1),
    );
    const messages = [...table.matchAll(/^\| `([^`]+)`/gm)]
      .map((m) => m[1]!.split('...')[0]!.split('…')[0]!.trim())
      .filter((m) => m.length > 12 && !m.startsWith('lms '));
    assert.ok(messages.length >= 8);
    for (const m of messages) assert.ok(page.includes(m.replace(/\\\|/g, '|')), `the README's message "${m}" is not in the man page`);
  });
});
