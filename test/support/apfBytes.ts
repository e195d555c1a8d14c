/**
 * An independent byte builder for test fixtures: it knows nothing of the codec, so a vector
 * built here checks the encoder and decoder rather than agreeing with them by construction.
 */
export type Part = Buffer | number[] | string;

export const u8 = (n: number): number[] => [n & 0xff];
export const u16 = (n: number): number[] => [(n >>> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
/** S(x): u32 BE length, then the ASCII bytes. */
export const str = (s: string): number[] => [...u32(s.length), ...Buffer.from(s, 'latin1')];
export const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

export const bytes = (...parts: Part[]): Buffer => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : typeof p === 'string' ? hex(p) : Buffer.from(p))));
