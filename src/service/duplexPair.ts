/**
 * Two connected in-memory duplex streams: what one writes, the other reads, with backpressure (a
 * write is acknowledged only once the other side has room) and half-close (end on one is EOF on
 * the other). Node 22 has stream.duplexPair; Node 20, which lms supports, does not.
 */
import { Duplex } from 'node:stream';

class PairSide extends Duplex {
  peer!: PairSide;
  /** The callback of a write the peer had no room for, called when the peer reads again. */
  private blocked: (() => void) | undefined;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.peer.destroyed) return done(new Error('the other side is gone'));
    if (this.peer.push(chunk)) done();
    else this.peer.blocked = done;
  }

  override _read(): void {
    const done = this.blocked;
    this.blocked = undefined;
    done?.();
  }

  override _final(done: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const blocked = this.blocked;
    this.blocked = undefined;
    blocked?.();
    // A socket that goes away goes away for both ends, as a TCP reset would.
    if (!this.peer.destroyed) this.peer.destroy();
    done(error);
  }
}

export const duplexPair = (): [Duplex, Duplex] => {
  const a = new PairSide();
  const b = new PairSide();
  a.peer = b;
  b.peer = a;
  return [a, b];
};
