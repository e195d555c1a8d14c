/**
 * An idle daemon costs nothing (issue #16): with the device connected and no client, it neither
 * polls nor runs a timer. Counted, not timed: every thread's context switches over 5 s, from
 * /proc, so the test holds on a noisy machine. The poll reader this replaced made ~80 a second.
 */
import { strict as assert } from 'node:assert';
import { idleCost } from '../../bench/procStats.js';
import { SimulatedMe } from '../../src/device/simulator/simulatedMe.js';
import { startDaemon, type Daemon } from '../support/daemon.js';
import { freePort, head, ok200 } from '../support/harness.js';
import { needEmulator, startEmulatedMei, type EmulatedMei } from '../tools/meiEmulator.js';

const IDLE_MS = 5_000;
/** A handful: the odd GC or V8 platform task; a periodic timer of 1 s alone would make 5. */
const MAX_SWITCHES = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Switches during IDLE_MS, after a request has been served and a second has passed (start-up work done). */
const idleSwitches = async (daemon: Daemon, httpPort: number): Promise<number> => {
  assert.ok(ok200(await head(httpPort)));
  await sleep(1000);
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
    const n = await idleSwitches(daemon, httpPort);
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
      const n = await idleSwitches(daemon, httpPort);
      assert.ok(n <= MAX_SWITCHES, `${n} context switches in ${IDLE_MS} ms idle`);
    });
  });
});
