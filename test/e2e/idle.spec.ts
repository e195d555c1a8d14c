/**
 * An idle daemon costs nothing (issue #16): with the device connected and no client, it neither
 * polls nor runs a timer. Counted, not timed: every thread's context switches from /proc. The poll
 * reader this replaced made ~80 a second.
 *
 * What the count must not depend on is the scheduler and V8: a GC after start-up, and the memory
 * reducer's follow-ups a few seconds apart, wake a thread now and then (6-7 switches fell into one
 * 5 s window on a loaded machine). A poll or a timer wakes the daemon in every window. So the test
 * looks for one quiet window among several: a daemon that polls every second or faster has none.
 */
import { strict as assert } from 'node:assert';
import { contextSwitches } from '../../bench/procStats.js';
import { SimulatedMe } from 'lms-rx/simulator';
import { lms, startDaemon, type Daemon } from '../support/daemon.js';
import { freePort, head, ok200 } from '../support/harness.js';
import { needEmulator, startEmulatedMei, type EmulatedMei } from '../tools/meiEmulator.js';

/** A window: a timer of 1 s or faster makes at least 2 switches in it, however the windows fall. */
const WINDOW_MS = 2_000;
const QUIET = 1;
/** The most windows looked at: 12 s, past the memory reducer's follow-ups (8 s apart in V8). */
const WINDOWS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The host duties' first runs are start-up work, not idle cost: the FQDN at start, and the clock and
 * power states once the ME forwards the WS-Man port (`wsman`: the simulated ME's first port does;
 * the emulated ME here forwards neither 16992 nor 16993, so those two never run).
 */
const dutiesStarted = async (daemon: Daemon, wsman: boolean): Promise<void> => {
  const duties = wsman ? ['hostFqdn', 'timeSync', 'powerOps'] : ['hostFqdn'];
  for (let i = 0; i < 200; i++) {
    const r = await lms(['status', '--json', '--control-socket', daemon.controlSocket]);
    const s = r.code === 0 ? (JSON.parse(r.stdout) as { duties?: Record<string, { lastRunAt?: string }> }) : undefined;
    if (duties.every((d) => s?.duties?.[d]?.lastRunAt)) return;
    await sleep(50);
  }
  assert.fail(`the host duties ${duties.join(', ')} did not finish their first runs within 10 s`);
};

/** The fewest switches in one window, after a request has been served and the start-up work is done; stops at the first quiet one. */
const quietestWindow = async (daemon: Daemon, httpPort: number, wsman: boolean): Promise<{ fewest: number; counts: number[] }> => {
  assert.ok(ok200(await head(httpPort)));
  await dutiesStarted(daemon, wsman);
  const counts: number[] = [];
  let before = contextSwitches(daemon.proc.pid!);
  while (counts.length < WINDOWS && !counts.some((n) => n <= QUIET)) {
    await sleep(WINDOW_MS);
    const now = contextSwitches(daemon.proc.pid!);
    counts.push(now - before);
    before = now;
  }
  return { fewest: Math.min(...counts), counts };
};

describe('an idle daemon (issue #16)', function () {
  this.timeout(30_000);
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  it(`has a ${WINDOW_MS / 1000} s window with at most ${QUIET} context switch within ${(WINDOW_MS * WINDOWS) / 1000} s, on the simulated ME`, async () => {
    const httpPort = await freePort();
    daemon = await startDaemon(['--simulate', '--sim-ports', `${httpPort},${await freePort()}`]);
    await daemon.waitFor(/lms ready/);
    const { fewest, counts } = await quietestWindow(daemon, httpPort, true);
    assert.ok(fewest <= QUIET, `context switches in each ${WINDOW_MS} ms window: ${counts.join(', ')}`);
  });

  describe('on the emulated /dev/mei0', () => {
    let me: SimulatedMe;
    let emu: EmulatedMei;
    before(function () {
      needEmulator(this);
    });
    afterEach(async () => {
      await emu?.stop();
      me?.close();
    });

    it(`has a ${WINDOW_MS / 1000} s window with at most ${QUIET} context switch within ${(WINDOW_MS * WINDOWS) / 1000} s, with the device connected`, async () => {
      const httpPort = await freePort();
      const echoPort = await freePort();
      me = new SimulatedMe({ ports: [httpPort, echoPort], httpPorts: [httpPort] });
      emu = await startEmulatedMei(me);
      daemon = await startDaemon(['--device', emu.devicePath]);
      await daemon.waitFor(new RegExp(`"port":${echoPort},"ok":true`));
      const { fewest, counts } = await quietestWindow(daemon, httpPort, false);
      assert.ok(fewest <= QUIET, `context switches in each ${WINDOW_MS} ms window: ${counts.join(', ')}`);
    });
  });
});
