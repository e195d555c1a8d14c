/**
 * The upload ceiling that the simulated ME sets for any LMS: its AMT HTTP service alone, with no
 * APF, no lms and no sockets, fed the way the ME feeds it under its 4 KiB window and MTU: one
 * CHANNEL_DATA payload (4087 bytes) per event-loop turn into a POST /sha256. Also the same bytes in
 * 64 KiB pushes, which is how the service reads a plain TCP socket (the bench's baseline).
 *
 * Run by bench/run.ts as a child process (so its JIT and heap are its own); prints one JSON line:
 * { "mtuMBps", "mtuCpuPerMb", "socketChunkMBps" }.
 */
import { createAmtHttpServer } from '../src/device/simulator/amtHttpService.js';
import { ServiceSocket } from '../src/device/simulator/serviceSocket.js';

const MB = 1024 * 1024;
const PAYLOAD = 4096 - 9; // max_msg_length minus CHANNEL_DATA's header
const SIZE = Number(process.argv[2] ?? 50) * MB;
const http = createAmtHttpServer({ amtVersion: '16.1.30', user: 'admin', password: 'P@ssw0rd', realm: 'Digest:0' });
const body = Buffer.alloc(64 * 1024 + 9, 0x61);

/** One POST of SIZE bytes in pushes of `push` bytes, one push per turn; resolves when answered. */
const post = (push: number): Promise<void> =>
  new Promise((resolve) => {
    const socket = new ServiceSocket(
      {
        output: (data, done) => {
          if (data.toString('latin1').includes(` ${SIZE}\n`)) resolve();
          done();
        },
        consumed: () => undefined,
        closed: () => undefined,
      },
      16992,
    );
    http.emit('connection', socket);
    socket.feed(Buffer.from(`POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: ${SIZE}\r\n\r\n`));
    let sent = 0;
    const step = (): void => {
      if (sent >= SIZE) return;
      const k = Math.min(push, SIZE - sent);
      socket.feed(body.subarray(9, 9 + k)); // at the payload's offset in a message, as the ME sees it
      sent += k;
      setImmediate(step);
    };
    step();
  });

const measure = async (push: number): Promise<{ mbps: number; cpuPerMb: number }> => {
  await post(push); // warm-up
  const runs: { mbps: number; cpuPerMb: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await post(push);
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    runs.push({ mbps: SIZE / MB / s, cpuPerMb: (c.user + c.system) / 1e6 / (SIZE / MB) });
  }
  return runs.sort((a, b) => a.mbps - b.mbps)[1]!;
};

const mtu = await measure(PAYLOAD);
const chunk = await measure(64 * 1024);
process.stdout.write(`${JSON.stringify({ mtuMBps: mtu.mbps, mtuCpuPerMb: mtu.cpuPerMb, socketChunkMBps: chunk.mbps })}\n`);
