/**
 * The interface every path to the ME implements: the real /dev/mei0 and the simulated ME.
 * A connection carries whole messages (one MEI read or write each) and says how big they may be.
 */
import type { Observable } from 'rxjs';

/** errno-style codes, so the pipeline reacts the same to the device and to the simulator. */
export type DeviceErrorCode =
  | 'ENOENT' // no device node: driver not loaded, or no ME
  | 'EACCES' // permission denied on the node
  | 'ENOTTY' // no such ME client, or not an MEI device
  | 'EBUSY' // client busy: retry with backoff
  | 'ENODEV' // ME reset / link reset / client disconnected: reconnect
  | 'EFBIG' // message over max_msg_length: a bug in the sender
  | 'EPROTO' // the client is too old, or answered nonsense
  | 'ECLOSED'; // the connection was closed by us

/** A device failure with its errno name; `permanent` when reconnecting cannot help. */
export class DeviceError extends Error {
  constructor(
    readonly code: DeviceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DeviceError';
  }

  /** Errors after which connecting again cannot help. */
  get permanent(): boolean {
    return this.code === 'ENOENT' || this.code === 'EACCES' || this.code === 'ENOTTY' || this.code === 'EPROTO';
  }
}

/** A connection to an ME client: whole messages read as an observable, written one at a time. */
export interface MeConnection {
  /** The largest message either side may send (the connect ioctl's max_msg_length). */
  readonly maxMsgLength: number;
  /** The ME client's protocol version (the connect ioctl's protocol_version). */
  readonly protocolVersion: number;
  /** Whole messages from the ME. Errors with a DeviceError (ENODEV) when the link is lost. */
  readonly messages$: Observable<Buffer>;
  /** Sends one whole message; resolves once the device accepted it. */
  write(message: Buffer): Promise<void>;
  /**
   * Optional: sends one whole message before returning, throwing a DeviceError where `write`
   * would reject. Offered by a transport whose writes complete at once (the simulated ME), so the
   * sender spends no promise per message.
   */
  writeNow?(message: Buffer): void;
  /** Releases the connection promptly, even with a read pending. */
  close(): void;
}

/** Something that connects to the ME's LME client: /dev/mei0, or the simulated ME. */
export interface MeDevice {
  /** Opens the device and connects to the LME client. Rejects with a DeviceError. */
  connect(): Promise<MeConnection>;
  /** For logs: which device this is. */
  readonly description: string;
}
