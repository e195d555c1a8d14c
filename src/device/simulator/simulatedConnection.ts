/**
 * One connection to the simulated LME client, as a MeConnection: whole messages each way, reads
 * on a later turn (as device reads come), EFBIG over the MTU and ENODEV once gone, as the driver.
 */
import { Subject } from 'rxjs';
import { DeviceError, type MeConnection } from '../transport.js';

/** What the connection tells the ME behind it. */
export interface ConnectionPeer {
  /** A whole message the host wrote. */
  receive(bytes: Buffer): void;
  /** The host wrote more than max_msg_length. */
  mtuViolation(size: number): void;
  /** The host closed the connection. */
  closed(connection: SimulatedConnection): void;
}

export class SimulatedConnection implements MeConnection {
  readonly messages$ = new Subject<Buffer>();
  closed = false;
  private queue: Buffer[] = [];
  private scheduled = false;

  constructor(
    private readonly me: ConnectionPeer,
    readonly maxMsgLength: number,
    readonly protocolVersion: number,
  ) {}

  /** A message for the host; it is read on a later turn, with the others of this turn. */
  deliver(bytes: Buffer): void {
    if (this.closed) return;
    this.queue.push(bytes);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.queue;
      this.queue = [];
      for (const b of batch) if (!this.closed) this.messages$.next(b);
    });
  }

  /** The ME went away (a reset): reads end with `error`. */
  fail(error: DeviceError): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.messages$.error(error);
  }

  write(message: Buffer): Promise<void> {
    try {
      this.writeNow(message);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  writeNow(message: Buffer): void {
    if (this.closed) throw new DeviceError('ENODEV', 'the simulated ME connection is gone');
    if (message.length > this.maxMsgLength) {
      this.me.mtuViolation(message.length);
      throw new DeviceError('EFBIG', `message of ${message.length} bytes exceeds max_msg_length ${this.maxMsgLength}`);
    }
    this.me.receive(message);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.messages$.complete();
    this.me.closed(this);
  }
}
