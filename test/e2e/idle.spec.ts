/**
 * An idle daemon costs nothing (issue #16): with the device connected and no client, it neither
 * polls nor runs a timer. Counted, not timed: every thread's context switches over 5 s, from
 * /proc, so the test holds on a noisy machine. The poll reader this replaced made ~80 a second.
 */
import { strict as assert } from 'node:assert';
import { idleCost } from '../../bench/procStats.js';
import { SimulatedMe } from '../../src/device/simulator/simulatedMe.js';
import { lms, startDaemon, type Daemon } from '../support/daemon.js';
import { freePort, head, ok200 } from '../support/harness.js';
import { needEmulator, startEmulatedMei, type EmulatedMei } from '../tools/meiEmulator.js';

const IDLE_MS = 5_000;
/** A handful: the odd GC or V8 platform task; a periodic timer of 1 s alone would make 5. */
const MAX_SWITCHES = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Idle starts this long after the last work: V8 finishes the GC of a burst within it (as bench/run.ts). */
const SETTLE_MS = 2_000;

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

/** Switches during IDLE_MS, after a request has been served and the start-up work is done. */
const idleSwitches = async (daemon: Daemon, httpPort: number, wsman: boolean): Promise<number> => {
  assert.ok(ok200(await head(httpPort)));
  await dutiesStarted(daemon, wsman);
  await sleep(SETTLE_MS);
  const { wakeupsPerSecond } = await idleCost(daemon.proc.pid!, IDLE_MS);
  return Math.round((wakeupsPerSecond * IDLE_MS) / 1000);
};

describe('an idle daemon (issue #16)', function () {
  this.timeout(30_000);
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  it(`context-switches at most ${MAX_SWITCHES} times in ${IDLE_MS / 1000} s on the simulated ME`, async () => {
    const httpPort = await freePort();
    daemon = await startDaemon(['--simulate', '--sim-ports', `${httpPort},${await freePort()}`]);
    await daemon.waitFor(/lms ready/);
    const n = await idleSwitches(daemon, httpPort, true);
    assert.ok(n <= MAX_SWITCHES, `${n} context switches in ${IDLE_MS} ms idle`);
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

    it(`context-switches at most ${MAX_SWITCHES} times in ${IDLE_MS / 1000} s with the device connected`, async () => {
      const httpPort = await freePort();
      const echoPort = await freePort();
      me = new SimulatedMe({ ports: [httpPort, echoPort], httpPorts: [httpPort] });
      emu = await startEmulatedMei(me);
      daemon = await startDaemon(['--device', emu.devicePath]);
      await daemon.waitFor(new RegExp(`"port":${echoPort},"ok":true`));
      const n = await idleSwitches(daemon, httpPort, false);
      assert.ok(n <= MAX_SWITCHES, `${n} context switches in ${IDLE_MS} ms idle`);
    });
  });
});
