/**
 * Deterministic test data: byte i of every download is PATTERN[i % PATTERN.length]. The period
 * is prime, so no power-of-two chunking lines up with it and a shifted or dropped chunk shows.
 */
const PERIOD = 65_521;
const PATTERN = (() => {
  const b = Buffer.allocUnsafe(PERIOD);
  let x = 0x2545f491;
  for (let i = 0; i < PERIOD; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
})();

/** `length` bytes of the pattern starting at stream offset `offset`. */
export const patternBytes = (offset: number, length: number): Buffer => {
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  let i = offset % PERIOD;
  while (at < length) {
    const n = Math.min(PERIOD - i, length - at);
    PATTERN.copy(out, at, i, i + n);
    at += n;
    i = 0;
  }
  return out;
};
