/**
 * The MEI reader thread. It reads the device, opened O_NONBLOCK, with readSync: one whole message
 * per read into a buffer of max_msg_length. When nothing is queued it sleeps on an Atomics.wait
 * that `close()` can cut short, so it never sits in a blocking read that would pin the process,
 * and it keeps the libuv pool free for sockets and timers. Sleeps grow from 50 µs to 2 ms while
 * the device is busy, to 25 ms once it has been idle for a second (fewer wake-ups on an idle
 * host), and start again from the bottom after each message.
 */
import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

interface ReaderData {
  readonly fd: number;
  readonly size: number;
  /** [0]: 1 = stop */
  readonly control: SharedArrayBuffer;
}

export type ReaderMessage = { readonly data: Uint8Array } | { readonly error: string; readonly code: string } | { readonly stopped: true };

const { fd, size, control } = workerData as ReaderData;
const flags = new Int32Array(control);
const buf = Buffer.allocUnsafe(size);
const MIN_SLEEP = 0.05;
const BUSY_MAX_SLEEP = 2;
const IDLE_MAX_SLEEP = 25;
const IDLE_AFTER_MS = 1000;
let sleep = MIN_SLEEP;
let lastMessage = Date.now();

const post = (m: ReaderMessage, transfer?: ArrayBuffer[]): void => parentPort!.postMessage(m, transfer);

for (;;) {
  if (Atomics.load(flags, 0) === 1) {
    post({ stopped: true });
    break;
  }
  let n: number;
  try {
    n = readSync(fd, buf, 0, size, null);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
      Atomics.wait(flags, 0, 0, sleep);
      sleep = Math.min(Date.now() - lastMessage > IDLE_AFTER_MS ? IDLE_MAX_SLEEP : BUSY_MAX_SLEEP, sleep * 2);
      continue;
    }
    if (code === 'EINTR') continue;
    post({ error: (err as Error).message, code });
    break;
  }
  sleep = MIN_SLEEP;
  lastMessage = Date.now();
  if (n === 0) {
    post({ error: 'the device returned end of file', code: 'ENODEV' });
    break;
  }
  const out = new Uint8Array(n);
  out.set(buf.subarray(0, n));
  post({ data: out }, [out.buffer as ArrayBuffer]);
}
