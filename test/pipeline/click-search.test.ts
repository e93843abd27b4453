// Which automatic candidates a labeler's clicks mark as clicked (a lower mesh bar for them).
import { describe, expect, it } from 'vitest';
import { markClicked, MAX_SEARCHED_CLICKS } from '../../backend/pipeline/click-search.js';
import type { HeadCandidate } from '../../backend/pipeline/heads.js';
import type { InteractiveHint } from '../../backend/pipeline/types.js';

function head(x: number, y: number, size: number): HeadCandidate {
  return {
    roi: { center: { x, y }, size, angle: 0 },
    headBox: { x: x - size / 2, y: y - size / 2, width: size, height: size },
    source: 'detector',
    detectorScore: 0.4,
    poseScore: 0,
    keypoints: [],
    earsOnly: false,
  };
}

const point = (x: number, y: number, positive = true): InteractiveHint => ({ kind: 'point', point: { x, y }, positive });
const flags = (cands: HeadCandidate[]): boolean[] => cands.map((c) => c.clicked === true);

describe('markClicked', () => {
  // two overlapping head boxes, as in a crowd: 100 +- 40 and 150 +- 40 on x
  const heads = [head(100, 100, 80), head(150, 100, 80)];

  it('marks the candidate whose box holds a positive click, the nearest by centre where boxes overlap', () => {
    expect(flags(markClicked(heads, [point(120, 100)]))).toEqual([true, false]);
    expect(flags(markClicked(heads, [point(130, 100)]))).toEqual([false, true]);
    expect(flags(markClicked(heads, [point(120, 100), point(185, 100)]))).toEqual([true, true]);
    expect(flags(markClicked(heads, [point(400, 100)]))).toEqual([false, false]);
    // the input is left as it was
    expect(flags(heads)).toEqual([false, false]);
  });

  it('negative clicks and boxes mark nothing', () => {
    expect(flags(markClicked(heads, [point(100, 100, false)]))).toEqual([false, false]);
    expect(flags(markClicked(heads, [{ kind: 'box', box: { x: 60, y: 60, width: 80, height: 80 } }]))).toEqual([false, false]);
  });

  it('reads only the first MAX_SEARCHED_CLICKS hints, as the search does', () => {
    const away = Array.from({ length: MAX_SEARCHED_CLICKS }, () => point(400, 400));
    expect(flags(markClicked(heads, [...away, point(100, 100)]))).toEqual([false, false]);
    expect(flags(markClicked(heads, [...away.slice(1), point(100, 100)]))).toEqual([true, false]);
  });
});
