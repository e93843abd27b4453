// Interactive mode: head candidates at the labeler's clicks that no found
// head covers. The face mesh later keeps only the crops that hold a face.
import { boxCenter, boxContains, clipBox, expandBox } from './geometry.js';
import { candidateFromDetection, type HeadCandidate, type HeadParams } from './heads.js';
import { cropResize } from './image-ops.js';
import type { FaceDetection, FaceDetectorPort } from './ports.js';
import type { InteractiveHint, Point, RgbImage } from './types.js';

/** Clicks (points or boxes) of one request that get their own head search; later ones only select among those faces. */
export const MAX_SEARCHED_CLICKS = 8;

/**
 * A box becomes one candidate. A positive click that no found head covers is
 * searched for with the face detector on windows around it (small faces
 * become detectable once the window is scaled up), plus crops of a few sizes
 * centred on it.
 */
export async function findClickCandidates(
  detector: FaceDetectorPort | undefined,
  hints: readonly InteractiveHint[],
  found: readonly HeadCandidate[],
  image: RgbImage,
  params: HeadParams,
): Promise<HeadCandidate[]> {
  const out: HeadCandidate[] = [];
  const sizes = found.map((cand) => cand.roi.size).sort((a, b) => a - b);
  const short = Math.min(image.width, image.height);
  const typical = sizes.length ? sizes[Math.floor(sizes.length / 2)] : 0.3 * short;
  // a labeler clicks a few times; a context with thousands of points must not cost thousands of searches
  for (const hint of hints.slice(0, MAX_SEARCHED_CLICKS)) {
    if (hint.kind === 'box') {
      out.push(clickCandidate(boxCenter(hint.box), Math.max(hint.box.width, hint.box.height) * 1.15));
      continue;
    }
    if (!hint.positive || found.some((cand) => boxContains(cand.headBox, hint.point))) continue;
    if (detector) {
      const sides = [0.15, 0.3, 0.6].map((share) => share * short).concat([4 * typical]);
      const hit = await detectAround(detector, hint.point, image, sides, params.detectorThreshold * 0.5);
      if (hit) out.push({ ...candidateFromDetection(hit, params), source: 'click' });
    }
    for (const scale of [1, 0.6, 1.6]) out.push(clickCandidate(hint.point, Math.max(2 * params.minRadius, typical * scale)));
  }
  return out;
}

/**
 * Per positive point click (the first MAX_SEARCHED_CLICKS hints, as for the
 * search), the automatic candidate whose head box holds it, the nearest by
 * box centre when boxes overlap (a crowd), marked `clicked`: the labeler says
 * a face is there, so the landmark model's bar is lower for it
 * (HeadCandidate.clicked). Without this, a face the automatic pass saw but
 * dropped could not be had by clicking on it: the click lies in its box, so
 * no search runs there either. Negative clicks and boxes mark nothing.
 */
export function markClicked(candidates: readonly HeadCandidate[], hints: readonly InteractiveHint[]): HeadCandidate[] {
  const marked = new Set<number>();
  for (const hint of hints.slice(0, MAX_SEARCHED_CLICKS)) {
    if (hint.kind !== 'point' || !hint.positive) continue;
    let best = -1;
    let bestDist = Infinity;
    candidates.forEach((cand, i) => {
      if (!boxContains(cand.headBox, hint.point)) return;
      const c = boxCenter(cand.headBox);
      const dist = Math.hypot(c.x - hint.point.x, c.y - hint.point.y);
      if (dist < bestDist) [best, bestDist] = [i, dist];
    });
    if (best >= 0) marked.add(best);
  }
  return candidates.map((cand, i) => (marked.has(i) ? { ...cand, clicked: true } : cand));
}

/** The best detection covering `click` in square windows of the given sides around it, in image pixels. */
async function detectAround(detector: FaceDetectorPort, click: Point, image: RgbImage, sides: number[], threshold: number): Promise<FaceDetection | undefined> {
  let best: FaceDetection | undefined;
  const seen = new Set<string>();
  for (const side of sides) {
    const win = clipBox({ x: click.x - side / 2, y: click.y - side / 2, width: side, height: side }, image.width, image.height);
    if (win.width < 8 || win.height < 8) continue;
    const key = [win.x, win.y, win.width, win.height].map(Math.round).join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    // up to 320 px on the long side: what the detector sees of a small face grows
    const zoom = 320 / Math.max(win.width, win.height);
    const width = Math.max(8, Math.round(win.width * zoom));
    const height = Math.max(8, Math.round(win.height * zoom));
    const detections = await detector.detect(cropResize(image, win, width, height), threshold);
    const sx = win.width / width;
    const sy = win.height / height;
    for (const det of detections) {
      const box = { x: win.x + det.box.x * sx, y: win.y + det.box.y * sy, width: det.box.width * sx, height: det.box.height * sy };
      if (!boxContains(expandBox(box, 0.3), click)) continue;
      if (!best || det.score > best.score) best = { box, score: det.score, landmarks: det.landmarks.map((mark) => ({ x: win.x + mark.x * sx, y: win.y + mark.y * sy })) };
    }
  }
  return best;
}

function clickCandidate(center: Point, size: number): HeadCandidate {
  return {
    roi: { center, size, angle: 0 },
    headBox: { x: center.x - size / 2, y: center.y - size / 2, width: size, height: size },
    source: 'click',
    detectorScore: 0,
    poseScore: 0,
    keypoints: [],
    earsOnly: false,
  };
}
