/**
 * The real path to the ME: /dev/meiN (docs/mei.md). Open O_RDWR|O_NONBLOCK, connect the LME client
 * with IOCTL_MEI_CONNECT_CLIENT (FFI, once), then whole messages on readiness: when the kernel
 * says the fd is readable (readiness.ts), every queued message is read at once, on the main
 * thread, until EAGAIN; a write goes straight to the driver and waits for writability only when
 * the driver has no room (EAGAIN). Nothing sleeps, polls or runs a timer: an idle connection wakes
 * nobody. errno becomes a DeviceError whose message tells an administrator what to do.
 */
import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { Subject } from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import { decodeConnectClientResponse, encodeConnectClientRequest, IOCTL_MEI_CONNECT_CLIENT, MeClient, MIN_LME_PROTOCOL_VERSION } from '../codecs/mei.js';
import { DeviceError, type MeConnection, type MeDevice } from './transport.js';
import { ioctl } from './ioctl.js';
import { watchFd, type FdWatch, type Readiness } from './readiness.js';

/** Where the device node is, which ME client to connect (LME unless told), and the oldest client protocol version accepted. */
export interface MeiDeviceOptions {
  readonly path: string;
  readonly client?: string;
  readonly minProtocolVersion?: number;
  /** Told once when the path is not a character device (an emulated /dev/mei0). */
  readonly onNote?: (note: string) => void;
}

const ERRNO: Record<number, string> = {
  2: 'ENOENT',
  4: 'EINTR',
  13: 'EACCES',
  16: 'EBUSY',
  19: 'ENODEV',
  22: 'EINVAL',
  25: 'ENOTTY',
  27: 'EFBIG',
  95: 'EOPNOTSUPP',
};

const openError = (path: string, err: NodeJS.ErrnoException): DeviceError => {
  switch (err.code) {
    case 'ENOENT':
      return new DeviceError(
        'ENOENT',
        `no MEI device at ${path}: is the mei_me kernel driver loaded (lsmod | grep mei; modprobe mei_me), and is this an Intel AMT platform? Use --simulate to run without one.`,
      );
    case 'EACCES':
    case 'EPERM':
      return new DeviceError(
        'EACCES',
        `permission denied on ${path}: run lms as root, or as user lms with the udev rule packaging/udev/99-lms-mei.rules (OWNER="lms", MODE="0600")`,
      );
    case 'ENODEV':
    case 'ENXIO':
      return new DeviceError('ENODEV', `${path} is there but the ME is not answering (${err.code}): it may be resetting`);
    default:
      return new DeviceError('ENOENT', `cannot open ${path}: ${err.message}`);
  }
};

const CLIENT_NAMES: Record<string, string> = { [MeClient.Lme]: 'LME', [MeClient.Amthi]: 'AMTHI', [MeClient.Mkhi]: 'MKHI' };

const connectError = (path: string, errno: number, client: string): DeviceError => {
  const code = ERRNO[errno] ?? `errno ${errno}`;
  switch (code) {
    case 'ENOTTY':
      return new DeviceError(
        'ENOTTY',
        `${path}: the ME has no ${CLIENT_NAMES[client] ?? client} client (AMT absent or disabled in the BIOS), or ${path} is not an MEI device (ioctl answered ENOTTY)`,
      );
    case 'EBUSY':
      return new DeviceError('EBUSY', `${path}: the LME client is busy (another LMS may hold it: systemctl status lms)`);
    case 'ENODEV':
      return new DeviceError('ENODEV', `${path}: the ME is resetting (connect answered ENODEV)`);
    default:
      return new DeviceError('EPROTO', `${path}: IOCTL_MEI_CONNECT_CLIENT failed with ${code}`);
  }
};

/** The ME's LME client through the MEI driver (`/dev/mei0`): the connect ioctl through the FFI, non-blocking reads and writes on epoll readiness. */
export class MeiDevice implements MeDevice {
  readonly description: string;
  private noted = false;

  constructor(private readonly options: MeiDeviceOptions) {
    this.description = `MEI device ${options.path}`;
  }

  async connect(): Promise<MeConnection> {
    const { path } = this.options;
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    } catch (err) {
      throw openError(path, err as NodeJS.ErrnoException);
    }
    try {
      if (!fstatSync(fd).isCharacterDevice() && !this.noted) {
        this.noted = true;
        this.options.onNote?.(`${path} is not a character device; using it as an emulated MEI device`);
      }
      const client = this.options.client ?? MeClient.Lme;
      const request = encodeConnectClientRequest(client);
      if (E.isLeft(request)) throw new DeviceError('EPROTO', request.left);
      const buf = request.right;
      const r = ioctl(fd, IOCTL_MEI_CONNECT_CLIENT, buf);
      if (!r.ok) throw connectError(path, r.errno, client);
      const reply = decodeConnectClientResponse(buf);
      if (E.isLeft(reply)) throw new DeviceError('EPROTO', `${path}: ${reply.left}`);
      const min = this.options.minProtocolVersion ?? MIN_LME_PROTOCOL_VERSION;
      if (reply.right.protocolVersion < min)
        throw new DeviceError(
          'EPROTO',
          `${path}: the ${CLIENT_NAMES[client] ?? client} client speaks protocol version ${reply.right.protocolVersion}; lms needs ${min} or later (a firmware update is required)`,
        );
      return new MeiConnection(fd, path, reply.right.maxMsgLength, reply.right.protocolVersion);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
}

/**
 * Messages read in one go before the event loop gets a turn, so an ME that floods does not starve
 * sockets and timers; the rest is read on the next turn (setImmediate), since an edge-triggered
 * watch does not report data that was already there.
 */
const READS_PER_TURN = 64;

/**
 * One read, whose EAGAIN (how every drain ends, several times a request) is thrown without a
 * stack: Node throws it as an Error, and V8 walks the deoptimisation data of every optimised frame
 * to capture one. Measured here from ten frames deep: 10.5–12 µs a throw with the stack, 3.9 µs
 * without. Only the read goes stackless: the session runs on after it with the limit restored.
 */
const readMessage = (fd: number, buf: Buffer): number => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return readSync(fd, buf, 0, buf.length, null);
  } finally {
    Error.stackTraceLimit = limit;
  }
};

interface PendingWrite {
  readonly message: Buffer;
  readonly resolve: () => void;
  readonly reject: (err: DeviceError) => void;
}

class MeiConnection implements MeConnection {
  readonly messages$ = new Subject<Buffer>();
  private readonly buf: Buffer;
  private readonly watch: FdWatch;
  /** Writes the driver had no room for, oldest first; they go out when the fd is writable. */
  private readonly waiting: PendingWrite[] = [];
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly path: string,
    readonly maxMsgLength: number,
    readonly protocolVersion: number,
  ) {
    this.buf = Buffer.allocUnsafe(maxMsgLength);
    this.watch = watchFd(fd, (r, err) => this.onReady(r, err));
  }

  private onReady(r: Readiness, err?: Error): void {
    if (err) return this.fail(new DeviceError('ENODEV', `${this.path}: waiting for the device failed: ${err.message}`));
    if (r.readable || r.broken) this.readQueued();
    if (this.closed) return;
    if (r.broken) return this.fail(new DeviceError('ENODEV', `${this.path}: ME reset or link reset (poll: POLLERR)`));
    if (r.writable) this.writeWaiting();
  }

  /** Every queued message until EAGAIN, READS_PER_TURN a turn; a read error ends the connection. */
  private readQueued(): void {
    for (let i = 0; !this.closed; i++) {
      if (i === READS_PER_TURN) return void setImmediate(() => this.readQueued());
      let n: number;
      try {
        n = readMessage(this.fd, this.buf);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return;
        if (code === 'EINTR') continue;
        return this.fail(
          code === 'ENODEV'
            ? new DeviceError('ENODEV', `${this.path}: ME reset or link reset (read: ENODEV)`)
            : new DeviceError('ENODEV', `${this.path}: read failed: ${(e as Error).message}`),
        );
      }
      if (n === 0) return this.fail(new DeviceError('ENODEV', `${this.path}: read failed: end of file`));
      this.messages$.next(Buffer.from(this.buf.subarray(0, n))); // the buffer is read into again
    }
  }

  /** One write to the driver: true when it took the message, false when it has no room now. */
  private tryWrite(message: Buffer): boolean {
    for (;;) {
      try {
        writeSync(this.fd, message, 0, message.length, null);
        return true;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EINTR') continue;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return false;
        if (code === 'EFBIG') throw new DeviceError('EFBIG', `${this.path}: the driver refused ${message.length} bytes (EFBIG)`);
        const err = new DeviceError('ENODEV', `${this.path}: write failed (${code ?? (e as Error).message}): ME reset or link reset`);
        this.fail(err);
        throw err;
      }
    }
  }

  private writeWaiting(): void {
    while (this.waiting.length > 0 && !this.closed) {
      const w = this.waiting[0]!;
      let took: boolean;
      try {
        took = this.tryWrite(w.message);
      } catch (err) {
        if (this.closed) return; // the failure rejected every waiting write, this one included
        this.waiting.shift();
        w.reject(err as DeviceError); // EFBIG: this message only
        continue;
      }
      if (!took) return;
      this.waiting.shift();
      w.resolve();
    }
    this.watch.wantWritable(false);
  }

  write(message: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new DeviceError('ENODEV', `${this.path} is closed`));
    if (message.length > this.maxMsgLength)
      return Promise.reject(new DeviceError('EFBIG', `message of ${message.length} bytes exceeds max_msg_length ${this.maxMsgLength}`));
    // Straight to the driver, unless earlier writes wait for room (order is kept).
    if (this.waiting.length === 0) {
      try {
        if (this.tryWrite(message)) return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ message, resolve, reject });
      this.watch.wantWritable(true);
    });
  }

  private fail(error: DeviceError): void {
    if (this.closed) return;
    this.release(error);
    this.messages$.error(error);
  }

  /** Nothing blocks on the fd, so it can be let go at once, whatever is half-read or pending. */
  private release(error: DeviceError): void {
    this.closed = true;
    this.watch.close();
    for (const w of this.waiting.splice(0)) w.reject(error);
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }

  close(): void {
    if (this.closed) return;
    this.release(new DeviceError('ECLOSED', `${this.path} is closed`));
    this.messages$.complete();
  }
}
