// Choosing among an image's faces: one mask per face (duplicates merged) and,
// in interactive mode, the faces the labeler's clicks point at.
import { boxCenter, boxContains, expandBox, iou } from './geometry.js';
import type { Face, InteractiveHint, Point, RegionMask } from './types.js';

/** Two candidates that converged on one face keep the better-scored mask. */
export function dedupe(faces: Face[]): Face[] {
  const order = [...faces].sort((a, b) => b.score - a.score);
  const kept: Face[] = [];
  for (const face of order) {
    const twin = kept.find((other) => iou(other.box, face.box) > 0.4);
    if (!twin) kept.push(face);
    else if (twin.keypoints.length === 0 && face.keypoints.length > 0) twin.keypoints = face.keypoints;
  }
  return kept;
}

function maskHas(mask: RegionMask, point: Point): boolean {
  const x = Math.floor(point.x) - mask.x;
  const y = Math.floor(point.y) - mask.y;
  return x >= 0 && y >= 0 && x < mask.width && y < mask.height && mask.data[y * mask.width + x] >= 128;
}

/** The face a click points at: the one whose mask holds it, else the nearest whose box (grown by half) holds it. */
function faceAt(faces: readonly Face[], click: Point): Face | undefined {
  const inMask = faces.filter((face) => maskHas(face.mask, click)).sort((a, b) => b.score - a.score)[0];
  if (inMask) return inMask;
  const away = (face: Face): number => Math.hypot(boxCenter(face.box).x - click.x, boxCenter(face.box).y - click.y);
  return faces.filter((face) => boxContains(expandBox(face.box, 0.5), click)).sort((a, b) => away(a) - away(b))[0];
}

/**
 * Interactive mode. Only positive clicks (or boxes): the faces they point at,
 * nothing where there is no face. Any negative click: the whole prediction
 * (plus faces found at positive clicks) less the faces clicked negative.
 */
export function selectByHints(faces: Face[], hints: InteractiveHint[]): Face[] {
  const positive = hints.filter((hint) => hint.kind === 'box' || hint.positive);
  const negative = hints.filter((hint): hint is Extract<InteractiveHint, { kind: 'point' }> => hint.kind === 'point' && !hint.positive);
  const picked = new Set<Face>();
  for (const hint of positive) {
    const hit =
      hint.kind === 'box'
        ? faces.filter((face) => boxContains(hint.box, boxCenter(face.box)) || iou(hint.box, face.box) > 0.2).sort((a, b) => b.score - a.score)[0]
        : faceAt(faces, hint.point);
    if (hit) picked.add(hit);
  }
  if (negative.length === 0) return faces.filter((face) => picked.has(face));
  const removed = new Set(negative.map((hint) => faceAt(faces, hint.point)).filter((face): face is Face => face !== undefined));
  // the rest of the current prediction: every automatic face, and the clicked ones
  return faces.filter((face) => !removed.has(face) && (face.source !== 'click' || picked.has(face)));
}
