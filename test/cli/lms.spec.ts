import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import * as net from 'node:net';
import { join } from 'node:path';
import { curl, freePort, head } from '../support/harness.js';
import { CLI, lms, NODE_FLAGS, startDaemon, type Daemon } from '../support/daemon.js';

const simulate = async (extra: string[] = []): Promise<{ daemon: Daemon; httpPort: number; echoPort: number }> => {
  const httpPort = await freePort();
  const echoPort = await freePort();
  // The WS-Man duties open channels of their own; these specs count the clients' (duties: test/cli/duties.spec.ts).
  const daemon = await startDaemon([
    '--simulate',
    '--sim-ports',
    `${httpPort},${echoPort}`,
    '--no-time-sync',
    '--no-power-ops',
    '--no-cira-reconnect',
    '--no-shared-static-ip',
    ...extra,
  ]);
  await daemon.waitFor(new RegExp(`"port":${echoPort},"ok":true`));
  await daemon.waitFor(/lms ready/);
  return { daemon, httpPort, echoPort };
};

/** Is this port free on 127.0.0.1 (for the tests that need AMT's own port numbers)? */
const portFree = (port: number): Promise<boolean> =>
  new Promise((res) => {
    const s = net.createServer();
    s.once('error', () => res(false));
    s.listen({ host: '127.0.0.1', port }, () => s.close(() => res(true)));
  });

describe('lms command line', function () {
  this.timeout(30_000);
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
  });

  describe('help and usage errors', () => {
    it('lists its commands and exit codes with --help, and exits 2 without a command', async () => {
      const help = await lms(['--help']);
      assert.equal(help.code, 0);
      for (const word of ['run', 'status', 'probe', 'Exit codes']) assert.match(help.stdout, new RegExp(word));
      assert.equal((await lms([])).code, 2);
      const unknown = await lms(['frobnicate']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown command "frobnicate"/);
    });

    it('runs as the installed bin does, by its shebang, with the node flags it ships with (issue #27)', async () => {
      // npm links the bin and the unit starts it through env: the shebang is what gives it its V8 flags.
      assert.deepEqual(NODE_FLAGS, ['--max-semi-space-size=2', '--v8-pool-size=1', '--expose-gc']);
      const dir = mkdtempSync(join(tmpdir(), 'lms-bin-'));
      const httpPort = await freePort();
      const child = spawn(CLI, ['run', '--simulate', '--sim-ports', `${httpPort},${await freePort()}`, '--control-socket', join(dir, 'lms.sock')], {
        stdio: 'ignore',
      });
      try {
        for (
          let i = 0;
          i < 200 &&
          !(await head(httpPort).then(
            () => true,
            () => false,
          ));
          i++
        )
          await new Promise((r) => setTimeout(r, 50));
        const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
        for (const f of NODE_FLAGS) assert.ok(argv.includes(f), `started as: ${argv.join(' ')}`);
      } finally {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('explains every run option with run --help', async () => {
      const r = await lms(['run', '--help']);
      assert.equal(r.code, 0);
      for (const flag of [
        '--device',
        '--simulate',
        '--reserve-ports',
        '--bind',
        '--window',
        '--max-channels',
        '--log-level',
        '--config',
        '--user',
        '--metrics-port',
      ])
        assert.match(r.stdout, new RegExp(`${flag}\\b`), `${flag} is not explained`);
    });

    it('refuses a bad value and a bad configuration file with exit 2, naming the culprit', async () => {
      const window = await lms(['run', '--simulate', '--window', 'lots']);
      assert.equal(window.code, 2);
      assert.match(window.stderr, /--window needs a whole number from 1 to 4294967295/);
      const both = await lms(['run', '--simulate', '--device', '/dev/mei0']);
      assert.equal(both.code, 2);
      const simOnDevice = await lms(['run', '--device', '/dev/mei0', '--sim-ports', '1,2']);
      assert.equal(simOnDevice.code, 2);
      assert.match(simOnDevice.stderr, /need the simulated ME/);
      const windowOnDevice = await lms(['run', '--device', '/dev/mei0', '--sim-window', '65536']);
      assert.equal(windowOnDevice.code, 2);
      assert.match(windowOnDevice.stderr, /need the simulated ME/);
      const hugeWindow = await lms(['run', '--simulate', '--sim-window', String(2 ** 32)]);
      assert.equal(hugeWindow.code, 2);
      assert.match(hugeWindow.stderr, /--sim-window needs a whole number from 1 to 4294967295, not "4294967296"/);
      const dir = mkdtempSync(join(tmpdir(), 'lms-config-'));
      after(() => rmSync(dir, { recursive: true, force: true }));
      const config = join(dir, 'lms.json');
      writeFileSync(config, JSON.stringify({ simulate: true, windwo: 4096 }));
      const typo = await lms(['run', '--config', config]);
      assert.equal(typo.code, 2);
      assert.match(typo.stderr, /unknown setting\(s\) windwo/);
      writeFileSync(config, JSON.stringify({ simulate: true, bind: ['192.168.1.1'] }));
      const bind = await lms(['run', '--config', config]);
      assert.equal(bind.code, 2);
      assert.match(bind.stderr, /bind/);
    });
  });

  describe('status', () => {
    it('reports the running daemon over an owner-only control socket, as text and as JSON', async () => {
      const s = await simulate();
      daemon = s.daemon;
      assert.equal(statSync(daemon.controlSocket).mode & 0o777, 0o600);
      await head(s.httpPort);
      const json = await lms(['status', '--json', '--control-socket', daemon.controlSocket]);
      assert.equal(json.code, 0, json.stderr);
      const status = JSON.parse(json.stdout);
      assert.equal(status.session.phase, 'ready');
      assert.deepStrictEqual(status.session.forwards.sort(), [s.httpPort, s.echoPort].sort());
      assert.equal(status.meVersion.uuid, '4c4c4544-0042-3510-8052-b3c04f4a4d32');
      assert.equal(status.counters.channelsOpened, 1);
      const text = await lms(['status', '--control-socket', daemon.controlSocket]);
      assert.match(text.stdout, /^session: +ready$/m);
      assert.match(text.stdout, /^ME version: +1\.0, UUID 4c4c4544/m);
    });

    it('names the local user behind each channel, with the slots each user holds and has waiting (issue #25)', async () => {
      const s = await simulate();
      daemon = s.daemon;
      const me = process.getuid!();
      const name = userInfo().username;
      const client = net.connect({ host: '127.0.0.1', port: s.echoPort });
      try {
        // An echo channel stays open: its bytes come back once the channel carries them.
        await new Promise<void>((resolve) => {
          client.on('connect', () => client.write('x'));
          client.once('data', () => resolve());
        });
        const status = JSON.parse((await lms(['status', '--json', '--control-socket', daemon.controlSocket])).stdout);
        const mine = status.channels.find((c: { peer: { port: number } }) => c.peer.port === client.localPort);
        assert.equal(mine?.owner, me, JSON.stringify(status.channels));
        assert.deepStrictEqual(status.users, [{ owner: me, user: name, holding: 1, waiting: 0 }]);
        const text = (await lms(['status', '--control-socket', daemon.controlSocket])).stdout;
        assert.ok(text.includes(`\nuser ${name} (uid ${me}): holds 1 of the ME's slots, 0 waiting\n`), text);
        assert.ok(text.includes(`127.0.0.1:${client.localPort} -> ${s.echoPort}  ${name} (uid ${me})  `), text);
      } finally {
        client.destroy();
      }
    });

    it('exits 4 when no daemon answers', async () => {
      const r = await lms(['status', '--control-socket', '/tmp/no-such-lms.sock']);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /is lms running\?/);
    });
  });

  describe('signals and logs', () => {
    it('logs one line per channel open and close with ids, bytes and duration, and no payload below trace', async () => {
      const s = await simulate();
      daemon = s.daemon;
      await head(s.httpPort);
      await daemon.waitFor(/"msg":"channel closed"/);
      const lines = daemon
        .log()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      const open = lines.find((l) => l.msg === 'channel open');
      const closed = lines.find((l) => l.msg === 'channel closed');
      assert.ok(open && open.channel === 1 && open.meChannel === 0 && open.port === s.httpPort);
      assert.equal(open.meWindow, 4096, "the simulated ME's default window");
      assert.ok(closed && closed.channel === 1 && closed.bytesToMe > 0 && closed.bytesFromMe > 0 && typeof closed.durationMs === 'number');
      assert.ok(!daemon.log().includes('"data":'), 'payload bytes were logged at info level');
    });

    it('has the simulated ME advertise the window given by --sim-window, and uploads go through in it', async () => {
      const s = await simulate(['--sim-window', '16384']);
      daemon = s.daemon;
      const body = Buffer.alloc(200_000, 0x5a);
      const sha = await new Promise<string>((res, rej) => {
        const c = net.connect({ host: '127.0.0.1', port: s.httpPort });
        let text = '';
        c.on('data', (d) => (text += d.toString('latin1')));
        c.on('end', () => res(text.slice(text.indexOf('\r\n\r\n') + 4).trim()));
        c.on('error', rej);
        c.write(`POST /sha256 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`);
        c.write(body);
      });
      assert.equal(sha, `${createHash('sha256').update(body).digest('hex')} ${body.length}`);
      await daemon.waitFor(/"msg":"channel open"/);
      const open = daemon
        .log()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === 'channel open');
      assert.equal(open.meWindow, 16384);
    });

    it('closes channels in order on SIGTERM (CLOSE sent, socket ended) and exits 0 within the bound', async () => {
      const s = await simulate();
      daemon = s.daemon;
      const client = net.connect({ host: '127.0.0.1', port: s.echoPort });
      await new Promise((r) => client.once('connect', r));
      client.write('hello');
      await new Promise((r) => client.once('data', r));
      const ended = new Promise<string>((r) => {
        client.once('end', () => r('end'));
        client.once('error', (e) => r(`error ${e.message}`));
      });
      const { code, ms } = await daemon.stop('SIGTERM');
      assert.equal(await ended, 'end', 'the client saw a reset rather than an orderly end');
      assert.equal(code, 0);
      assert.ok(ms < 5000, `stopping took ${ms} ms`);
      assert.match(daemon.log(), /"reason":"shutdown"/);
      daemon = undefined;
    });

    it('reloads its configuration file on SIGHUP and keeps running on a bad one', async () => {
      const httpPort = await freePort();
      const echoPort = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'lms-config-'));
      after(() => rmSync(dir, { recursive: true, force: true }));
      const config = join(dir, 'lms.json');
      writeFileSync(config, JSON.stringify({ simulate: true, logLevel: 'info' }));
      daemon = await startDaemon(['--config', config, '--sim-ports', `${httpPort},${echoPort}`]);
      await daemon.waitFor(/lms ready/);
      writeFileSync(config, JSON.stringify({ simulate: true, logLevel: 'debug' }));
      daemon.proc.kill('SIGHUP');
      await daemon.waitFor(/configuration reloaded.*|"logLevel":"debug"/);
      writeFileSync(config, '{ not json');
      daemon.proc.kill('SIGHUP');
      await daemon.waitFor(/keeping the running configuration/);
      assert.match((await head(httpPort)).toString(), /^HTTP\/1\.1 200/);
    });

    it('logs an ME event (direct-tcpip to port 0) as one structured line at notice, with its sentence and registry key', async () => {
      const s = await simulate(['--sim-fault', 'notify@0.2']);
      daemon = s.daemon;
      await daemon.waitFor(/"msg":"AMT: the local agent has expired/);
      const line = daemon
        .log()
        .split('\n')
        .find((l) => l.includes('"event":"iAMT0005"'))!;
      const e = JSON.parse(line);
      assert.equal(e.level, 35);
      assert.equal(e.category, 'agent');
      assert.ok(!Number.isNaN(Date.parse(e.time)));
    });
  });

  describe('least privilege', () => {
    it('drops from root to the configured user and group, keeping no capabilities, and still serves', async function () {
      if (process.getuid?.() !== 0) {
        console.log('      skipped: the privilege drop needs the test to run as root');
        return this.skip();
      }
      const s = await simulate(['--user', 'nobody', '--group', 'nogroup']);
      daemon = s.daemon;
      await daemon.waitFor(/dropped root privileges/);
      const status = readFileSync(`/proc/${daemon.proc.pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
      assert.match(status, /^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
      assert.match(status, /^Groups:\s+65534\s*$/m);
      assert.match(status, /^CapEff:\s+0+$/m);
      assert.match(status, /^CapPrm:\s+0+$/m);
      assert.match((await head(s.httpPort)).toString(), /^HTTP\/1\.1 200/);
    });
  });

  describe('metrics', () => {
    it('serves Prometheus metrics on loopback when asked', async () => {
      const metricsPort = await freePort();
      const s = await simulate(['--metrics-port', String(metricsPort)]);
      daemon = s.daemon;
      await head(s.httpPort);
      await daemon.waitFor(/"msg":"channel closed"/);
      const r = await curl([`http://127.0.0.1:${metricsPort}/metrics`]);
      const text = r.stdout.toString();
      assert.match(text, /^lms_session_ready 1$/m);
      assert.match(text, /^lms_channels_opened_total 1$/m);
      assert.match(text, /^lms_bytes_from_me_total [1-9]\d*$/m);
      const v6 = await curl(['-g', `http://[::1]:${metricsPort}/metrics`]);
      assert.notEqual(v6.code, 0, 'metrics must listen on 127.0.0.1 only');
    });
  });

  describe('probe', () => {
    it('reads the AMT version from the Server header on 16992, and reports TLS when only 16993 answers', async function () {
      if (!(await portFree(16992)) || !(await portFree(16993))) {
        console.log('      skipped: ports 16992/16993 are in use on this machine');
        return this.skip();
      }
      daemon = await startDaemon(['--simulate', '--sim-ports', `16992,${await freePort()}`]);
      await daemon.waitFor(/"port":16992,"ok":true/);
      const plain = await lms(['probe']);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /^127\.0\.0\.1: Intel AMT 16\.1\.30 \(port 16992/);
      await daemon.stop();
      daemon = await startDaemon(['--simulate', '--sim-ports', `16993,${await freePort()}`]);
      await daemon.waitFor(/"port":16993,"ok":true/);
      const tls = await lms(['probe', '--json']);
      assert.equal(tls.code, 0);
      assert.deepStrictEqual(JSON.parse(tls.stdout), { host: '127.0.0.1', amt: true, port: 16993, tls: true, detail: 'TLS enabled or unprovisioned' });
      await daemon.stop();
      daemon = undefined;
      const none = await lms(['probe']);
      assert.equal(none.code, 5);
    });
  });
});
