/**
 * A bounds-checked cursor over one APF message. Reads past the end record the first failure and
 * return a neutral value; `finish` turns the outcome into an Either, so decoders read straight
 * through their field table and never throw.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Uint32 } from './brands.js';
import type { ApfDecodeError } from './errors.js';

/** Names, methods and addresses are short ASCII; MPS caps them at 2048 too. */
const MAX_NAME_LENGTH = 2048;

const EMPTY = Buffer.alloc(0);

export class Reader {
  private pos = 1; // after the type byte
  private failure: ApfDecodeError | undefined;

  constructor(
    private readonly buf: Buffer,
    private readonly message: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, field: string): boolean {
    if (this.failure) return false;
    if (n <= this.remaining) return true;
    this.failure = { kind: 'truncated', message: this.message, field, offset: this.pos, needed: n, available: this.remaining };
    return false;
  }

  fail(field: string, value: number, limit: string): void {
    this.failure ??= { kind: 'out-of-range', message: this.message, field, value, limit };
  }

  u8(field: string): number {
    return this.need(1, field) ? this.buf[this.pos++]! : 0;
  }

  u16(field: string): number {
    if (!this.need(2, field)) return 0;
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): Uint32 {
    if (!this.need(4, field)) return 0 as Uint32;
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v as Uint32;
  }

  /** A u8 that must be 0 or 1. */
  bool(field: string): boolean {
    const v = this.u8(field);
    if (v > 1) this.fail(field, v, '0 or 1');
    return v === 1;
  }

  /** `n` bytes as a view into the message (no copy). */
  bytes(n: number, field: string): Buffer {
    if (!this.need(n, field)) return EMPTY;
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** S(x): a u32 length, then that many bytes, as a view. */
  lengthPrefixed(field: string): Buffer {
    const n = this.u32(`${field} length`);
    return this.bytes(n, field);
  }

  /**
   * S(x) as text. latin1 maps each byte to one code unit, so any bytes survive a round trip;
   * the content is ASCII in practice. Length capped at MAX_NAME_LENGTH.
   */
  string(field: string): string {
    const n = this.u32(`${field} length`);
    if (n > MAX_NAME_LENGTH) {
      this.fail(`${field} length`, n, `at most ${MAX_NAME_LENGTH}`);
      return '';
    }
    return this.bytes(n, field).toString('latin1');
  }

  /** Everything left, as a view. */
  rest(): Buffer {
    return this.bytes(this.remaining, 'rest');
  }

  finish<T>(value: T): E.Either<ApfDecodeError, T> {
    if (this.failure) return E.left(this.failure);
    if (this.pos !== this.buf.length) return E.left({ kind: 'trailing-bytes', message: this.message, expected: this.pos, actual: this.buf.length });
    return E.right(value);
  }
}
