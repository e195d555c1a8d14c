/** The host duties as an administrator sees them: `lms run` on the simulated ME, `lms status`. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lms, startDaemon, type Daemon } from '../support/daemon.js';
import { freePort } from '../support/harness.js';
import { useLogindDouble, type LogindDouble } from '../support/logindDouble.js';
import { NO_SYSTEM_BUS } from '../support/noSystemBus.js';
import { needWatchdogEmulator, startEmulatedWatchdog } from '../tools/watchdogEmulator.js';

interface Status {
  duties: Record<
    'hostFqdn' | 'timeSync' | 'powerOps' | 'ciraReconnect' | 'watchdog',
    { enabled: boolean; result?: string; error?: string; occasion?: string; details?: Record<string, unknown> }
  >;
  simulator: { hostFqdns: string[]; clockSkewS: number; powerStatesSupported: number[] };
}

describe('host duties through lms run and lms status', function () {
  this.timeout(30_000);
  let bus: LogindDouble | undefined;
  let d: Daemon | undefined;
  let restore: (() => Promise<void>) | undefined;
  // The daemon inherits the private bus through DBUS_SYSTEM_BUS_ADDRESS.
  before(async function () {
    ({ bus, restore } = await useLogindDouble(this));
  });
  after(async () => restore?.());
  afterEach(async () => {
    await d?.stop();
    d = undefined;
  });
  const status = async (): Promise<Status> => JSON.parse((await lms(['status', '--json', '--control-socket', d!.controlSocket])).stdout) as Status;
  /** Asks until `ok`: the daemon answers once its control socket is up, the duties a moment later. */
  const until = async (ok: (s: Status) => boolean): Promise<Status> => {
    await d!.waitFor(/"msg":"lms ready"/);
    for (let i = 0; i < 200; i++) {
      const s = await status();
      if (ok(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    return status();
  };

  it('shows, as npm start runs it (a skewed AMT clock), the FQDN sent, the clock corrected and the graceful states advertised', async () => {
    d = await startDaemon(['--simulate', '--sim-clock-skew', '300', '--sim-ports', `${await freePort()},${await freePort()}`]);
    const s = await until((x) => Boolean(x.duties?.hostFqdn.result && x.duties.timeSync.result && x.duties.powerOps.result));
    assert.match(s.duties.hostFqdn.result ?? '', /^sent .+ to AMT$/);
    assert.deepStrictEqual(s.simulator.hostFqdns, [s.duties.hostFqdn.details?.['fqdn']]);
    assert.match(s.duties.timeSync.result ?? '', /^AMT's clock was 300 s from the host's: set to the host's$/);
    assert.ok(Math.abs(s.simulator.clockSkewS) <= 1);
    assert.deepStrictEqual(s.simulator.powerStatesSupported, [2, 4, 7, 8, 10, 12, 14]);
    const text = (await lms(['status', '--control-socket', d.controlSocket])).stdout;
    assert.match(text, /^host FQDN: +sent /m);
    assert.match(text, /^AMT clock: +AMT's clock was 300 s/m);
    assert.match(text, /^graceful power: +AMT now advertises power states 2, 4, 7, 8, 10, 12, 14/m);
    assert.match(d.log(), /"msg":"AMT clock: AMT's clock was 300 s from the host's: set to the host's"/);
  });

  it('carries out --sim-fault graceful-reboot through logind, and shows it in lms status', async () => {
    d = await startDaemon(['--simulate', '--sim-ports', `${await freePort()},${await freePort()}`, '--sim-fault', 'graceful-reboot@1']);
    const s = await until((x) => ((x.duties?.powerOps.details?.['requests'] as unknown[] | undefined) ?? []).length > 0);
    const [r] = (s.duties.powerOps.details?.['requests'] ?? []) as { request: string; done: string }[];
    assert.deepStrictEqual(r, { ...r, request: 'reboot', done: 'reboot scheduled in 60 s, wall message set' });
    assert.ok(bus!.calls.some((c) => c.method === 'ScheduleShutdown' && c.args[0] === 'reboot'));
    assert.match((await lms(['status', '--control-socket', d.controlSocket])).stdout, /^ {2}remote reboot at .*: reboot scheduled in 60 s/m);
  });

  it('sets the clock over TLS on a TLS-only simulated AMT (--sim-profile tls), with a clock behind the host', async () => {
    const tls = await freePort();
    d = await startDaemon(['--simulate', '--sim-profile', 'tls', '--sim-ports', `${tls},${await freePort()}`, '--sim-clock-skew=-200']);
    const s = await until((x) => Boolean(x.duties?.timeSync.result ?? x.duties?.timeSync.error));
    assert.match(s.duties.timeSync.result ?? s.duties.timeSync.error ?? '', /^AMT's clock was -200 s from the host's: set to the host's$/);
  });

  it("gives lms no way to the machine's own system bus outside the double (what every test starts inherits)", async () => {
    await restore?.();
    restore = undefined;
    d = await startDaemon(['--simulate', '--sim-ports', `${await freePort()},${await freePort()}`]);
    await d.waitFor(/"msg":"lms ready"/);
    const env = readFileSync(`/proc/${d.proc.pid}/environ`, 'utf8').split('\0');
    assert.ok(env.includes(`DBUS_SYSTEM_BUS_ADDRESS=${NO_SYSTEM_BUS}`), 'the daemon inherits the bus that does not exist');
    const s = await until((x) => Boolean(x.duties?.powerOps.result));
    assert.deepStrictEqual(s.simulator.powerStatesSupported, [2, 8, 10, 12, 14], 'no logind: no sleep or hibernate advertised');
  });

  it('turns each duty off by flag and by the configuration file', async () => {
    d = await startDaemon([
      '--simulate',
      '--sim-ports',
      `${await freePort()},${await freePort()}`,
      '--no-host-fqdn',
      '--no-time-sync',
      '--no-power-ops',
      '--no-cira-reconnect',
    ]);
    await d.waitFor(/"msg":"lms ready"/);
    const s = await status();
    assert.deepStrictEqual(
      [s.duties.hostFqdn.enabled, s.duties.timeSync.enabled, s.duties.powerOps.enabled, s.duties.ciraReconnect.enabled],
      [false, false, false, false],
    );
    assert.deepStrictEqual(s.simulator.hostFqdns, []);
    assert.match((await lms(['status', '--control-socket', d.controlSocket])).stdout, /^host FQDN: +off$/m);
    await d.stop();
    const config = join(mkdtempSync(join(tmpdir(), 'lms-duties-')), 'lms.json');
    writeFileSync(config, JSON.stringify({ timeSync: false, ciraReconnect: false }));
    d = await startDaemon(['--simulate', '--sim-ports', `${await freePort()},${await freePort()}`, '--config', config]);
    const fromFile = await until((x) => Boolean(x.duties?.hostFqdn.result));
    assert.deepStrictEqual(
      [fromFile.duties.hostFqdn.enabled, fromFile.duties.timeSync.enabled, fromFile.duties.powerOps.enabled, fromFile.duties.ciraReconnect.enabled],
      [true, false, true, false],
    );
  });

  it("pings AMT's watchdog named by --watchdog-device, shows it in lms status, and stops it on SIGTERM; leaves the host's own alone on a simulated ME (issue #28, item 1)", async function () {
    needWatchdogEmulator(this);
    const wdt = await startEmulatedWatchdog();
    try {
      d = await startDaemon(['--simulate', '--sim-ports', `${await freePort()},${await freePort()}`, '--watchdog-device', wdt.path]);
      const s = await until((x) => Boolean(x.duties?.watchdog.result));
      assert.match(s.duties.watchdog.result ?? '', /^pinging .* \(iamt_wdt\) every 60 s, timeout 120 s$/);
      assert.deepStrictEqual(wdt.lines().slice(0, 3), ['open', 'getsupport', 'settimeout 120']);
      assert.match((await lms(['status', '--control-socket', d.controlSocket])).stdout, /^AMT watchdog: +pinging /m);
      await d.stop();
      d = undefined;
      assert.equal(await wdt.waitFor(/^release/), 'release stopped');
      assert.ok(wdt.lines().includes('write V'), 'the magic close before the close');
    } finally {
      await wdt.stop();
    }
    d = await startDaemon(['--simulate', '--sim-ports', `${await freePort()},${await freePort()}`]);
    await d.waitFor(/"msg":"lms ready"/);
    assert.deepStrictEqual((await status()).duties.watchdog, { enabled: false });
  });

  it('reopens the tunnel of a simulated AMT set up for CIRA (--sim-cira) when it drops (--sim-fault cira-drop), and shows it in lms status (issue #28, item 4)', async () => {
    d = await startDaemon([
      '--simulate',
      '--sim-ports',
      `${await freePort()},${await freePort()}`,
      '--sim-cira',
      '--sim-fault',
      'cira-drop@1',
      '--log-format',
      'json',
    ]);
    const s = await until((x) => x.duties?.ciraReconnect.occasion === 'tunnel closed');
    assert.match(s.duties.ciraReconnect.result ?? '', /asked it to reconnect/);
    assert.match(d.log(), /"msg":"CIRA reconnect: AMT was outside the enterprise and not connected to its MPS mps\.example\.internal: asked it to reconnect"/);
    // AMT's own word for both: the tunnel closed, then opened again.
    assert.match(d.log(), /"event":"iAMT0058-0".*"msg":"AMT: AMT's connection to its management server \(CIRA\) closed"/);
    assert.match(d.log(), /"event":"iAMT0058-1"/);
    assert.match((await lms(['status', '--control-socket', d.controlSocket])).stdout, /^CIRA reconnect: +AMT was outside/m);
  });
});
