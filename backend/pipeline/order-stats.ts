// Order statistics without a full sort. Pure.

/**
 * The k-th smallest value of `a` (0-based): the value a numeric sort would
 * put at index k, found in linear expected time (Wirth's selection). Reorders
 * `a` in place. NaN-free input only.
 */
export function kthSmallest(a: Float64Array, k: number): number {
  if (!(k >= 0 && k < a.length)) throw new RangeError(`k ${k} outside 0..${a.length - 1}`);
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[k];
    let i = lo;
    let j = hi;
    do {
      while (a[i] < pivot) i++;
      while (pivot < a[j]) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) lo = i;
    if (k < i) hi = j;
  }
  return a[k];
}
