/**
 * The upload ceiling that the simulated ME sets for any LMS: its AMT HTTP service alone, with no
 * APF, no lms and no sockets, fed the way the ME feeds it under its 4 KiB window and MTU: one
 * CHANNEL_DATA payload (4087 bytes) per event-loop turn into a POST /sha256.
 *
 * Run by bench/run.ts as a child process (so its JIT and heap are its own), beside the other
 * paths so that each measurement pairs with the baseline transfer next to it: every line
 * `<bytes>` on stdin is answered with one JSON line { "mbps", "cpuPerMb" } for one POST.
 */
import { createInterface } from 'node:readline';
import { benchAmtWeb } from './amtWeb.js';
import { createAmtHttpServer } from '../src/device/simulator/amtHttpService.js';
import { ServiceSocket } from '../src/device/simulator/serviceSocket.js';

const MB = 1024 * 1024;
const PAYLOAD = 4096 - 9; // max_msg_length minus CHANNEL_DATA's header
const http = createAmtHttpServer(benchAmtWeb());
const body = Buffer.alloc(PAYLOAD + 9, 0x61);

/** One POST of `size` bytes, one payload per turn; resolves when answered. */
const post = (size: number): Promise<void> =>
  new Promise((resolve) => {
    const socket = new ServiceSocket(
      {
        output: (data, done) => {
          if (data.toString('latin1').includes(` ${size}\n`)) resolve();
          done();
        },
        consumed: () => undefined,
        closed: () => undefined,
      },
      16992,
    );
    http.emit('connection', socket);
    socket.feed(Buffer.from(`POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`));
    let sent = 0;
    const step = (): void => {
      if (sent >= size) return;
      const k = Math.min(PAYLOAD, size - sent);
      socket.feed(body.subarray(9, 9 + k)); // at the payload's offset in a message, as the ME sees it
      sent += k;
      setImmediate(step);
    };
    step();
  });

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const size = Number(line);
  queue = queue.then(async () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await post(size);
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    process.stdout.write(`${JSON.stringify({ mbps: size / MB / s, cpuPerMb: (c.user + c.system) / 1e6 / (size / MB) })}\n`);
  });
});
