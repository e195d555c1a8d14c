/**
 * The real path to the ME: /dev/meiN (mei.md). Open O_RDWR|O_NONBLOCK, connect the LME client
 * with IOCTL_MEI_CONNECT_CLIENT (FFI, once), then whole messages through fs: reads in a worker
 * (meiReader.ts), writes one at a time from the main thread. errno becomes a DeviceError whose
 * message tells an administrator what to do.
 */
import { closeSync, constants, fstatSync, openSync, read as fsRead, write as fsWrite } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Subject } from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import { decodeConnectClientResponse, encodeConnectClientRequest, IOCTL_MEI_CONNECT_CLIENT, MeClient, MIN_LME_PROTOCOL_VERSION } from '../codecs/mei.js';
import { DeviceError, type MeConnection, type MeDevice } from './transport.js';
import { ioctl } from './ioctl.js';
import type { ReaderMessage } from './meiReader.js';
import { ReaderControl, type ReaderIdle } from './readerControl.js';

/**
 * How messages are read. 'poll-worker' (the default): O_NONBLOCK reads in a worker thread that
 * sleeps on an interruptible wait between empty reads. The other two exist to be measured against
 * it (bench/readStrategies.ts): 'threadpool', an async fs.read on a blocking fd, holds one libuv
 * pool thread and pins the process while a read is pending; 'blocking-worker', readSync on a
 * blocking fd in a worker, cannot be stopped until a message arrives.
 */
export type ReadStrategy = 'poll-worker' | 'threadpool' | 'blocking-worker';

export interface MeiDeviceOptions {
  readonly path: string;
  readonly readStrategy?: ReadStrategy;
  readonly client?: string;
  readonly minProtocolVersion?: number;
  /** Told once when the path is not a character device (an emulated /dev/mei0). */
  readonly onNote?: (note: string) => void;
  /** When the poll reader counts the device idle, and its longest sleep then (1 s and 25 ms); tests stretch them. */
  readonly readerIdle?: ReaderIdle;
}

const ERRNO: Record<number, string> = { 2: 'ENOENT', 4: 'EINTR', 13: 'EACCES', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL', 25: 'ENOTTY', 27: 'EFBIG', 95: 'EOPNOTSUPP' };

const openError = (path: string, err: NodeJS.ErrnoException): DeviceError => {
  switch (err.code) {
    case 'ENOENT':
      return new DeviceError('ENOENT', `no MEI device at ${path}: is the mei_me kernel driver loaded (lsmod | grep mei; modprobe mei_me), and is this an Intel AMT platform? Use --simulate to run without one.`);
    case 'EACCES':
    case 'EPERM':
      return new DeviceError('EACCES', `permission denied on ${path}: run lms as root, or give its group access with the udev rule packaging/udev/99-lms-mei.rules (KERNEL=="mei[0-9]*", GROUP="lms", MODE="0660")`);
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
      return new DeviceError('ENOTTY', `${path}: the ME has no ${CLIENT_NAMES[client] ?? client} client (AMT absent or disabled in the BIOS), or ${path} is not an MEI device (ioctl answered ENOTTY)`);
    case 'EBUSY':
      return new DeviceError('EBUSY', `${path}: the LME client is busy (another LMS may hold it: systemctl status lms)`);
    case 'ENODEV':
      return new DeviceError('ENODEV', `${path}: the ME is resetting (connect answered ENODEV)`);
    default:
      return new DeviceError('EPROTO', `${path}: IOCTL_MEI_CONNECT_CLIENT failed with ${code}`);
  }
};

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
      const strategy = this.options.readStrategy ?? 'poll-worker';
      fd = openSync(path, constants.O_RDWR | (strategy === 'poll-worker' ? constants.O_NONBLOCK : 0));
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
        throw new DeviceError('EPROTO', `${path}: the ${CLIENT_NAMES[client] ?? client} client speaks protocol version ${reply.right.protocolVersion}; lms needs ${min} or later (a firmware update is required)`);
      return new MeiConnection(fd, path, reply.right.maxMsgLength, reply.right.protocolVersion, this.options.readStrategy ?? 'poll-worker', this.options.readerIdle);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
}

const WRITE_RETRY_MS = 1;
const WRITE_RETRY_LIMIT = 5_000; // the driver holds a write while the ME has no credit: give up after ~5 s

class MeiConnection implements MeConnection {
  readonly messages$ = new Subject<Buffer>();
  private readonly worker: Worker | undefined;
  private readonly control = new SharedArrayBuffer(ReaderControl.cells * 4);
  private readonly flags = new Int32Array(this.control);
  private closed = false;
  private fdClosed = false;

  constructor(
    private readonly fd: number,
    private readonly path: string,
    readonly maxMsgLength: number,
    readonly protocolVersion: number,
    strategy: ReadStrategy,
    idle: ReaderIdle | undefined,
  ) {
    if (strategy === 'threadpool') {
      this.readInPool();
      return;
    }
    this.worker = new Worker(new URL('./meiReader.js', import.meta.url), { workerData: { fd, size: maxMsgLength, control: this.control, ...(idle ? { idle } : {}) } });
    this.worker.on('message', (m: ReaderMessage) => {
      if ('data' in m) return void (this.closed || this.messages$.next(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)));
      if ('error' in m) this.readFailed(m.code, m.error);
    });
    this.worker.on('error', (err) => this.fail(new DeviceError('ENODEV', `${path}: reader failed: ${err.message}`)));
    this.worker.on('exit', () => this.closeFd());
  }

  private readFailed(code: string, message: string): void {
    this.fail(code === 'ENODEV' ? new DeviceError('ENODEV', `${this.path}: ME reset or link reset (read: ENODEV)`) : new DeviceError('ENODEV', `${this.path}: read failed: ${message}`));
  }

  /** The 'threadpool' candidate: one async fs.read after another; the fd closes after the last one returns. */
  private readInPool(): void {
    const buf = Buffer.allocUnsafe(this.maxMsgLength);
    fsRead(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (this.closed) return this.closeFd();
      if (err) return err.code === 'EINTR' ? this.readInPool() : this.readFailed(err.code ?? 'EIO', err.message);
      if (n === 0) return this.readFailed('ENODEV', 'end of file');
      this.messages$.next(Buffer.from(buf.subarray(0, n)));
      this.readInPool();
    });
  }

  write(message: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new DeviceError('ENODEV', `${this.path} is closed`));
    if (message.length > this.maxMsgLength)
      return Promise.reject(new DeviceError('EFBIG', `message of ${message.length} bytes exceeds max_msg_length ${this.maxMsgLength}`));
    return new Promise((resolve, reject) => {
      let tries = 0;
      const attempt = (): void => {
        if (this.closed) return reject(new DeviceError('ENODEV', `${this.path} is closed`));
        fsWrite(this.fd, message, 0, message.length, null, (err) => {
          if (!err) {
            this.wakeReader();
            return resolve();
          }
          const code = err.code;
          if ((code === 'EAGAIN' || code === 'EINTR') && tries++ < WRITE_RETRY_LIMIT) return void setTimeout(attempt, WRITE_RETRY_MS);
          if (code === 'EFBIG') return reject(new DeviceError('EFBIG', `${this.path}: the driver refused ${message.length} bytes (EFBIG)`));
          const e = new DeviceError('ENODEV', `${this.path}: write failed (${code ?? err.message}): ME reset or link reset`);
          this.fail(e);
          reject(e);
        });
      };
      attempt();
    });
  }

  private fail(error: DeviceError): void {
    if (this.closed) return;
    this.stop();
    this.messages$.error(error);
  }

  /**
   * A reply is coming: the reader sleeps short from now on, and one in a longer sleep is woken at
   * once (one in a sleep of a few hundred µs is not worth a futex call).
   */
  private wakeReader(): void {
    Atomics.add(this.flags, ReaderControl.Wake, 1);
    if (Atomics.load(this.flags, ReaderControl.Sleeping) === 1) Atomics.notify(this.flags, ReaderControl.Wake);
  }

  /** Stops the reader: the poll worker is never in a blocking read, and the bump ends its sleep. */
  private stop(): void {
    this.closed = true;
    Atomics.store(this.flags, ReaderControl.Stop, 1);
    Atomics.add(this.flags, ReaderControl.Wake, 1);
    Atomics.notify(this.flags, ReaderControl.Wake);
  }

  /** For measurements: resolves once the reader has let go of the device (or never, when it cannot). */
  released(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => (this.fdClosed ? resolve() : void setTimeout(check, 1).unref());
      check();
    });
  }

  private closeFd(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.messages$.complete();
  }
}
