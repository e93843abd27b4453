// Synthetic face samples (refiner tests, training-cost bench): a skin-coloured ellipse (the face,
// which the "engine" mask covers), dark hair above it, a grey background. The
// labeler's target is the face with or without the hair.
import { FRAME_SIZE, type FaceSample } from '../pipeline/face-sample.js';
import { seededRandom } from '../util/random.js';

export interface SyntheticFace {
  sample: FaceSample;
  /** Face + hair (the "head" convention). */
  head: Float32Array;
  /** The face alone (what the engine's mask covers). */
  face: Float32Array;
}

export function syntheticFace(seed: number, n = FRAME_SIZE): SyntheticFace {
  const rnd = seededRandom(seed);
  const face = n / 3; // the frame spans three face sizes
  const cx = n / 2 + (rnd() - 0.5) * 0.1 * face;
  const cy = n / 2 + (rnd() - 0.5) * 0.1 * face;
  const rx = face * (0.42 + rnd() * 0.06);
  const ry = face * (0.55 + rnd() * 0.06);
  const hairTop = cy - ry - face * (0.15 + rnd() * 0.2);
  const skin = [180 + rnd() * 50, 120 + rnd() * 40, 90 + rnd() * 40];
  const hair = [30 + rnd() * 60, 20 + rnd() * 40, 10 + rnd() * 30];
  const bg = [90 + rnd() * 80, 110 + rnd() * 80, 120 + rnd() * 80];
  const rgb = new Uint8Array(n * n * 3);
  const sd = new Float32Array(n * n);
  const head = new Float32Array(n * n);
  const faceT = new Float32Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      const e = Math.hypot((x + 0.5 - cx) / rx, (y + 0.5 - cy) / ry);
      const inFace = e < 1;
      // hair: a cap above the face's middle, wider than the face
      const inHair = !inFace && y + 0.5 > hairTop && y + 0.5 < cy && Math.hypot((x + 0.5 - cx) / (rx * 1.2), (y + 0.5 - cy) / (cy - hairTop)) < 1;
      const c = inFace ? skin : inHair ? hair : bg;
      for (let k = 0; k < 3; k++) rgb[i * 3 + k] = Math.max(0, Math.min(255, c[k] + (rnd() - 0.5) * 16));
      // engine's signed distance (face sizes), approximately the ellipse's
      sd[i] = ((1 - e) * Math.min(rx, ry)) / face;
      faceT[i] = inFace ? 1 : 0;
      head[i] = inFace || inHair ? 1 : 0;
    }
  }
  const at = (dx: number, dy: number) => ({ x: cx + dx * face, y: cy + dy * face });
  const sample: FaceSample = {
    frame: { center: { x: n / 2, y: n / 2 }, size: n, angle: 0 },
    size: n,
    imageWidth: n,
    imageHeight: n,
    faceSize: face,
    rgb,
    sd,
    landmarks: {
      rightEye: at(-0.2, -0.1),
      leftEye: at(0.2, -0.1),
      nose: at(0, 0.08),
      chin: at(0, 0.55),
      rightCheek: at(-0.42, 0.08),
      leftCheek: at(0.42, 0.08),
      forehead: at(0, -0.5),
    },
  };
  return { sample, head, face: faceT };
}
