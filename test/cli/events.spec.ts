import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { IPS } from '@device-management-toolkit/wsman-messages';
import { wsmanCall } from '../../src/wsman/client.js';
import { freePort } from '../support/harness.js';
import { CLI, lms, startDaemon, type Daemon } from '../support/daemon.js';

/** `lms events` as a user runs it: its lines as they come, and its exit code. */
const follow = (args: string[]) => {
  const proc = spawn(process.execPath, [CLI, 'events', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return {
    proc,
    out: () => out,
    err: () => err,
    exited,
    async waitFor(pattern: RegExp, ms = 10_000) {
      for (let t = 0; t < ms && !pattern.test(out); t += 20) await new Promise((r) => setTimeout(r, 20));
      if (!pattern.test(out)) throw new Error(`no ${pattern} from lms events within ${ms} ms:\n${out}\n${err}`);
    },
  };
};

describe("lms events: AMT's events as a person reads them (issue #28, item 3)", function () {
  this.timeout(30_000);
  let d: Daemon | undefined;
  afterEach(async () => {
    await d?.stop();
    d = undefined;
  });

  it('streams a console asking for user consent to `lms events --json`, logs it at notice, counts it in status, and ends when the daemon stops', async () => {
    const port = await freePort();
    d = await startDaemon(['--simulate', '--sim-ports', String(port), '--log-format', 'json']);
    await d.waitFor(/"msg":"session ready"/);
    const admin = (
      JSON.parse(
        d
          .log()
          .split('\n')
          .find((l) => l.includes('"msg":"simulated AMT'))!,
      ) as { admin: string }
    ).admin;
    const [user, password] = [admin.slice(0, admin.indexOf(':')), admin.slice(admin.indexOf(':') + 1)];
    const events = follow(['--json', '--control-socket', d.controlSocket]);
    const text = follow(['--control-socket', d.controlSocket]);
    // Both are subscribed once the daemon has two connections on its socket: wait for them.
    for (let i = 0; i < 100 && (await lms(['status', '--json', '--control-socket', d.controlSocket])).code !== 0; i++);
    await new Promise((r) => setTimeout(r, 300));

    // A console starts the consent dialogue on the forwarded WS-Man port, as a remote console would.
    const target = { port, tls: false, connect: () => net.connect(port, '127.0.0.1') };
    const answer = await wsmanCall(target, { user, password }, new IPS.Messages().OptInService.StartOptIn());
    assert.equal(String((answer['StartOptIn_OUTPUT'] as Record<string, unknown>)['ReturnValue']), '0');

    await events.waitFor(/iAMT0064-3/);
    const line = JSON.parse(events.out().trim().split('\n')[0]!) as Record<string, unknown>;
    assert.deepEqual(
      { key: line['key'], messageId: line['messageId'], category: line['category'], known: line['known'] },
      { key: 'iAMT0064-3', messageId: 'iAMT0064', category: 'user-consent', known: true },
    );
    assert.match(String(line['text']), /asked for user consent/);
    await text.waitFor(/user-consent\s+a remote console asked for user consent.*\(iAMT0064-3\)/);

    // The journal's notice level (35 in pino's numbers; syslog's 5).
    await d.waitFor(/"level":35.*"msg":"AMT: a remote console asked for user consent/);

    const status = await lms(['status', '--json', '--control-socket', d.controlSocket]);
    const s = JSON.parse(status.stdout) as { amtEvents: { count: number; byCategory: Record<string, number>; recent: { key: string }[] } };
    assert.equal(s.amtEvents.byCategory['user-consent'], 1);
    assert.equal(s.amtEvents.recent.at(-1)?.key, 'iAMT0064-3');
    assert.match((await lms(['status', '--control-socket', d.controlSocket])).stdout, /AMT events: +\d+ \(.*user-consent 1/);

    await d.stop();
    d = undefined;
    assert.equal(await events.exited, 4);
    assert.match(events.err(), /the daemon on .* stopped/);
  });

  it('says the daemon is not running, with exit code 4, when no socket answers', async () => {
    const r = await lms(['events', '--control-socket', '/tmp/lms-events-nobody.sock']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /lms events: no events from \/tmp\/lms-events-nobody\.sock: is lms running/);
  });
});
