/**
 * Branded numbers for APF fields. A `Uint32` is proven to fit the wire's u32, so encoders never
 * meet a value `writeUInt32BE` would reject. Decoders may cast: the byte width already proves it.
 */
import * as t from 'io-ts';

/** The brand that marks a number proven to fit a u32. */
export interface Uint32Brand {
  readonly Uint32: unique symbol;
}

/** The largest u32: an APF window, id or length never exceeds it. */
export const MAX_U32 = 0xffff_ffff;

/** An io-ts codec (and type) for a whole number that fits the wire's u32. */
export const Uint32 = t.brand(t.number, (n): n is t.Branded<number, Uint32Brand> => Number.isInteger(n) && n >= 0 && n <= MAX_U32, 'Uint32');
export type Uint32 = t.TypeOf<typeof Uint32>;

/** A channel number, as chosen by the side that allocated it (host or ME). */
export type ChannelId = Uint32;

/** Smart constructor for literals and arithmetic results; a bad value is a programmer error. */
export const u32 = (n: number): Uint32 => {
  if (!Uint32.is(n)) throw new RangeError(`not a u32: ${n}`);
  return n;
};
