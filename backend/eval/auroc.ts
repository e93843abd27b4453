// Area under the ROC curve: the chance that a random positive ranks above a
// random negative (ties count half), i.e. the Mann-Whitney U statistic over
// n_pos * n_neg. O(n log n) by ranking.

/** AUROC of `predictor` for `positive`; undefined when one class is empty. */
export function auroc(predictor: readonly number[], positive: readonly boolean[]): number | undefined {
  if (predictor.length !== positive.length) throw new RangeError(`auroc: ${predictor.length} scores but ${positive.length} labels`);
  const idx = predictor.map((_, i) => i).filter((i) => Number.isFinite(predictor[i]));
  const nPos = idx.filter((i) => positive[i]).length;
  const nNeg = idx.length - nPos;
  if (nPos === 0 || nNeg === 0) return undefined;
  idx.sort((a, b) => predictor[a] - predictor[b]);
  // average ranks (1-based) over ties
  let rankSumPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && predictor[idx[j + 1]] === predictor[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (positive[idx[k]]) rankSumPos += rank;
    i = j + 1;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
