/**
 * One ME-side service connection: a Duplex handed to the http server (or an echo), fed with the
 * channel's bytes. It reports bytes the service has consumed (the ME's credit to return) and
 * the service's output, whose callback the ME holds while its send buffer is full.
 */
import { Duplex } from 'node:stream';

export interface ServiceHooks {
  output(data: Buffer, done: () => void): void;
  consumed(bytes: number): void;
  /** The service ended or dropped its side. */
  closed(): void;
}

export class ServiceSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly remoteFamily = 'IPv4';
  readonly localAddress = '127.0.0.1';
  readonly encrypted = false;
  private pushed = 0;
  private reported = 0;
  private hooks: ServiceHooks | undefined;

  constructor(
    hooks: ServiceHooks,
    readonly localPort: number,
  ) {
    super({ allowHalfOpen: true });
    this.hooks = hooks;
    // APF has no half-close: a service that ended its side has closed the channel, so the socket is
    // done once its last bytes are out. The http server frees a connection's parser (which holds the
    // socket) only on 'close': left open, every request kept about 7 KB for good.
    this.once('finish', () => this.destroy());
  }

  /** Bytes from the channel. */
  feed(data: Buffer): void {
    this.pushed += data.length;
    this.push(data);
    // A flowing consumer has taken the bytes during push(); a paused one is caught by _read.
    this.reportConsumed();
  }

  /** Detach from the ME before tearing down, so no hook fires for a channel that is gone. */
  detach(): void {
    this.hooks = undefined;
    this.destroy();
  }

  private reportConsumed(): void {
    const consumed = this.pushed - this.readableLength - this.reported;
    if (consumed > 0 && this.hooks) {
      this.reported += consumed;
      this.hooks.consumed(consumed);
    }
  }

  override _read(): void {
    this.reportConsumed();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.hooks) return callback();
    this.hooks.output(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    const hooks = this.hooks;
    this.hooks = undefined; // the channel is closed: nothing more to report, the destroy after included
    hooks?.closed();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const hooks = this.hooks;
    this.hooks = undefined;
    hooks?.closed();
    callback(error);
  }

  // The parts of net.Socket that the http server calls.
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}
