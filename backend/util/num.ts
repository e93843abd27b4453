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
