/**
 * The MEI reader thread. It reads the device, opened O_NONBLOCK, with readSync: one whole message
 * per read into a buffer of max_msg_length. When nothing is queued it sleeps on an Atomics.wait
 * that `close()` can cut short, so it never sits in a blocking read that would pin the process,
 * and it keeps the libuv pool free for sockets and timers. Sleeps grow from 50 µs to 2 ms while
 * the device is busy, to 25 ms once it has been idle for a second (fewer wake-ups on an idle
 * host), and start again from the bottom after each message.
 *
 * A write to the device means a reply is on its way: it ends a sleep longer than 0.2 ms, sleeps
 * start from the bottom again, and the device counts as busy. Without that, the first request
 * after an idle second waited out the 25 ms sleeps: HEAD through the emulated device took
 * 15-29 ms after 1.5 s idle, against 2-4 ms back to back; now 4-6 ms.
 */
import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { ReaderControl, type ReaderIdle } from './readerControl.js';

interface ReaderData {
  readonly fd: number;
  readonly size: number;
  /** Int32 cells, indexed by ReaderControl. */
  readonly control: SharedArrayBuffer;
  readonly idle?: ReaderIdle;
}

export type ReaderMessage = { readonly data: Uint8Array } | { readonly error: string; readonly code: string } | { readonly stopped: true };

const { fd, size, control, idle: idleRegime } = workerData as ReaderData;
const flags = new Int32Array(control);
const buf = Buffer.allocUnsafe(size);
const MIN_SLEEP = 0.05;
const BUSY_MAX_SLEEP = 2;
const IDLE_MAX_SLEEP = idleRegime?.sleepMs ?? 25;
const IDLE_AFTER_MS = idleRegime?.afterMs ?? 1000;
/** A sleep longer than this is cut short by a write; a shorter one is not worth the writer's futex call. */
const WAKE_ABOVE = 0.2;
let sleep = MIN_SLEEP;
/** The last message or write: for a second after it the device counts as busy (short sleeps). */
let lastActivity = Date.now();

const post = (m: ReaderMessage, transfer?: ArrayBuffer[]): void => parentPort!.postMessage(m, transfer);

let seenWake = Atomics.load(flags, ReaderControl.Wake);

for (;;) {
  if (Atomics.load(flags, ReaderControl.Stop) === 1) {
    post({ stopped: true });
    break;
  }
  // A write since the last look means a reply is on its way: sleep short again. Taken before the
  // read, so a write between the read and the sleep makes the sleep return at once.
  const wake = Atomics.load(flags, ReaderControl.Wake);
  if (wake !== seenWake) {
    seenWake = wake;
    sleep = MIN_SLEEP;
    lastActivity = Date.now();
  }
  let n: number;
  try {
    n = readSync(fd, buf, 0, size, null);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
      const long = sleep > WAKE_ABOVE;
      if (long) Atomics.store(flags, ReaderControl.Sleeping, 1); // a write now notifies us
      Atomics.wait(flags, ReaderControl.Wake, wake, sleep); // a write's bump resets the sleep at the top
      if (long) Atomics.store(flags, ReaderControl.Sleeping, 0);
      sleep = Math.min(Date.now() - lastActivity > IDLE_AFTER_MS ? IDLE_MAX_SLEEP : BUSY_MAX_SLEEP, sleep * 2);
      continue;
    }
    if (code === 'EINTR') continue;
    post({ error: (err as Error).message, code });
    break;
  }
  sleep = MIN_SLEEP;
  lastActivity = Date.now();
  if (n === 0) {
    post({ error: 'the device returned end of file', code: 'ENODEV' });
    break;
  }
  const out = new Uint8Array(n);
  out.set(buf.subarray(0, n));
  post({ data: out }, [out.buffer as ArrayBuffer]);
}
