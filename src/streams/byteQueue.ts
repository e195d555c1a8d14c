/**
 * A FIFO of byte chunks that hands out exactly `n` bytes at a time. Chunks are kept by
 * reference; `take` copies only when the bytes it returns straddle two chunks.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Removes and returns the first `n` bytes (n <= length). */
  take(n: number): Buffer {
    if (n > this.size) throw new RangeError(`take(${n}) from ${this.size} bytes`);
    this.size -= n;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) this.dropHead();
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.head, n - at);
      c.copy(out, at, this.head, this.head + k);
      at += k;
      this.head += k;
      if (this.head === c.length) this.dropHead();
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.size = 0;
  }

  private dropHead(): void {
    this.chunks.shift();
    this.head = 0;
  }
}
