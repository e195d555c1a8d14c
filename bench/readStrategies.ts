/**
 * `npm run bench:read`: the MEI read strategies measured on the emulated /dev/mei0 (root + FUSE).
 *   poll-worker      O_NONBLOCK readSync in a worker, interruptible sleeps between empty reads
 *   threadpool       async fs.read on a blocking fd (one libuv pool thread per pending read)
 *   blocking-worker  readSync on a blocking fd in a worker
 * For each: download and upload MB/s and HEAD latency through the LMS (back to back, and the first
 * request after 1.2 s idle), idle CPU, and how long the device
 * takes to let go after close() while a read is pending (what SIGTERM and reconnects depend on).
 */
import { headLatency, httpGet, httpPost } from './clients.js';
import { median, percentile as pct, selfCpu as cpu } from './procStats.js';
import { MeiDevice, type ReadStrategy } from '../src/device/meiDevice.js';
import { SimulatedMe } from '../src/device/simulator/simulatedMe.js';
import { startLms } from '../src/service/lmsService.js';
import { freePort } from '../test/support/harness.js';
import { emulatorUnavailable, startEmulatedMei } from '../test/tools/meiEmulator.js';

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const measure = async (strategy: ReadStrategy) => {
  const port = await freePort();
  const echo = await freePort();
  const me = new SimulatedMe({ ports: [port, echo], httpPorts: [port] });
  const emu = await startEmulatedMei(me);
  try {
    const lms = startLms({ device: new MeiDevice({ path: emu.devicePath, readStrategy: strategy }) });
    await lms.ready(echo);
    await httpGet(port, `/data/${5 * MB}`);
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await httpGet(port, `/data/${20 * MB}`);
      rates.push(20 / ((performance.now() - t0) / 1000));
    }
    const up: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await httpPost(port, 10 * MB);
      up.push(10 / ((performance.now() - t0) / 1000));
    }
    const lat: number[] = [];
    for (let i = 0; i < 200; i++) lat.push(await headLatency(port));
    const afterIdle: number[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(1200);
      afterIdle.push(await headLatency(port));
    }
    await sleep(1500); // past the reader's busy period
    const c0 = cpu();
    await sleep(2000);
    const idleCpuPct = ((cpu() - c0) / 2) * 100;
    // Stop with a read pending (the session is idle, so the reader waits for the ME): how long
    // until the device is let go, which a restart or a reconnect needs (the LME takes one client).
    const t0 = performance.now();
    await lms.stop();
    let releaseMs: number | string = 'pinned (> 3 s: until the next message or an ME reset)';
    for (let t = 0; t < 3000; t += 1) {
      if (emu.connections() === 0) {
        releaseMs = performance.now() - t0;
        break;
      }
      await sleep(1);
    }
    return { strategy, downloadMBps: median(rates), uploadMBps: median(up), headP50us: pct(lat, 50), headP99us: pct(lat, 99), headAfterIdleUs: median(afterIdle), idleCpuPct, releaseMs };
  } finally {
    await emu.stop(); // resets every handle: a pinned read returns ENODEV and lets go
    me.close();
  }
};

const main = async (): Promise<void> => {
  const why = emulatorUnavailable();
  if (why) {
    console.log(`read strategies not measured: ${why}`);
    return;
  }
  const only = process.argv[2] as ReadStrategy | undefined;
  const rows = [];
  for (const s of only ? [only] : (['poll-worker', 'threadpool', 'blocking-worker'] as const)) {
    const row = await measure(s);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  console.table(rows);
};

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
