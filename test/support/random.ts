/** A small deterministic PRNG (xorshift32), so a failing fuzz case names a seed that reproduces it. */
export const xorshift = (seed: number): ((n: number) => number) => {
  let x = seed >>> 0 || 1;
  return (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
};
