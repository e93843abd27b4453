// Figures by skin-tone third for the eval: a per-row value (IoU, or 1/0 for
// a head found) averaged within each ITA third of a set. Pure functions.
import type { Point } from '../pipeline/types.js';
import { ITA_THIRDS, itaThirds, type ItaThird } from './ita.js';

/** A disc of pixels (1 inside) in a w x h image: the skin sample of a head with no truth mask. */
export function headDiscMask(w: number, h: number, c: Point, r: number): Uint8Array {
  const m = new Uint8Array(w * h);
  const y0 = Math.max(0, Math.floor(c.y - r));
  const y1 = Math.min(h - 1, Math.ceil(c.y + r));
  const x0 = Math.max(0, Math.floor(c.x - r));
  const x1 = Math.min(w - 1, Math.ceil(c.x + r));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) if ((x + 0.5 - c.x) ** 2 + (y + 0.5 - c.y) ** 2 <= r * r) m[y * w + x] = 1;
  }
  return m;
}

export type ItaSummary = Record<`${ItaThird}${'' | 'N' | 'Ita'}`, number> & Partial<Record<`${ItaThird}${'People' | 'Top'}`, number>> & { gap: number };

/**
 * Mean `value` per ITA third, the number in each, the highest ITA in each
 * third (its upper bound), and gap = lighter - darker mean. Rows that name
 * their `person` (a set with several photos per person) also give, per
 * third, how many people it holds and the share of its rows from the
 * commonest one: a third of one or two people measures those people (their
 * hair, their session's lighting) as much as a skin tone. Null when there
 * are fewer than 3 rows with a tone.
 */
export function itaSummary(rows: readonly { ita: number; value: number; person?: string | null }[]): ItaSummary | null {
  const thirds = itaThirds(rows.map((r) => r.ita));
  if (thirds.filter((t) => t !== null).length < 3) return null;
  const out = {} as Record<string, number>;
  for (const t of ITA_THIRDS) {
    const mine = rows.filter((_, i) => thirds[i] === t);
    out[t] = mine.reduce((a, r) => a + r.value, 0) / mine.length;
    out[`${t}N`] = mine.length;
    out[`${t}Ita`] = Math.max(...mine.map((r) => r.ita));
    const counts = new Map<string, number>();
    for (const r of mine) if (r.person != null) counts.set(r.person, (counts.get(r.person) ?? 0) + 1);
    if (counts.size) {
      out[`${t}People`] = counts.size;
      out[`${t}Top`] = Math.max(...counts.values()) / mine.length;
    }
  }
  out.gap = out.lighter - out.darker;
  return out as ItaSummary;
}
