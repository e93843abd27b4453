/** Small numeric helpers shared by every layer (one definition, so they cannot drift apart). */

/** v limited to [lo, hi]. NaN stays NaN, so a bad input is not silently turned into a bound. */
export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** v rounded to `digits` decimals, for figures in JSON, logs and reports. */
export function roundTo(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * Math.round(v), the same integer for every |v| < 2^52 (+0 where Math.round
 * gives -0), for per-pixel loops: V8 (Node 20) runs Math.round several
 * times slower than Math.floor. v + 0.5 can round up onto the next integer
 * (0.49999999999999994 + 0.5 is 1): k - 0.5 > v catches that, exactly.
 */
export function roundHalfUp(v: number): number {
  const k = Math.floor(v + 0.5);
  return k - 0.5 > v ? k - 1 : k;
}
