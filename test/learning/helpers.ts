// Test doubles for active learning: an engine that paints a disc per face
// (grown by params.dilate like the real engine: px per 100 px of face size),
// images described by JSON in the task data, labelers simulated with discs.
import { maskToRle } from '../../backend/labelstudio/brush-rle.js';
import type { Face, FaceEngine, RgbImage, SegmentOptions, SegmentResult } from '../../backend/pipeline/types.js';

export interface DiscFace {
  cx: number;
  cy: number;
  /** Radius our engine finds at dilate 0. */
  r: number;
  score: number;
}

/** What a test image holds: its size and the faces the engine will find. */
export interface SceneSpec {
  w: number;
  h: number;
  faces: DiscFace[];
}

const specs = new WeakMap<RgbImage, SceneSpec>();

/** decode dep: the "image bytes" are the JSON of a SceneSpec. */
export async function decodeScene(bytes: Buffer): Promise<RgbImage> {
  const spec = JSON.parse(bytes.toString('utf8')) as SceneSpec;
  const img: RgbImage = { width: spec.w, height: spec.h, data: new Uint8Array(spec.w * spec.h * 3) };
  specs.set(img, spec);
  return img;
}

export const sceneSource = { fetch: async (ref: string) => Buffer.from(ref, 'utf8') };

export function disc(w: number, h: number, cx: number, cy: number, r: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) m[y * w + x] = 255;
  return m;
}

export function iou(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  let u = 0;
  for (let k = 0; k < a.length; k++) {
    if (a[k] && b[k]) i++;
    if (a[k] || b[k]) u++;
  }
  return u ? i / u : 0;
}

export class DiscEngine implements FaceEngine {
  readonly modelVersion = 'disc-v1';
  readonly executionProvider = 'cpu';
  calls: SegmentOptions[] = [];

  versionWith(params: Record<string, unknown>): string {
    return Object.keys(params).length ? `${this.modelVersion}-p${JSON.stringify(params).replace(/[^a-z0-9.-]/gi, '')}` : this.modelVersion;
  }

  async segment(image: RgbImage, options: SegmentOptions = {}): Promise<SegmentResult> {
    this.calls.push(options);
    const spec = specs.get(image)!;
    const dilate = options.params?.dilate ?? 0;
    const faces: Face[] = spec.faces.map((f) => {
      // the face size the engine measures dilate against (its landmark extent), reported per face as the
      // real engine does; deliberately not FACE_SIZE_RATIO, so learning must use the reported size
      const size = 0.95 * 2 * f.r;
      const r = f.r + (dilate * size) / 100;
      const full = disc(spec.w, spec.h, f.cx, f.cy, r);
      return {
        box: { x: f.cx - r, y: f.cy - r, width: 2 * r, height: 2 * r },
        score: f.score,
        mask: { x: 0, y: 0, width: spec.w, height: spec.h, data: full },
        keypoints: [],
        source: 'fused',
        faceSize: size,
      };
    });
    const score = faces.length ? Math.min(...faces.map((f) => f.score)) : 0.9;
    return { width: spec.w, height: spec.h, faces, score, timings: {} };
  }

  async close(): Promise<void> {}
}

/** A brush result item as Label Studio stores it in an annotation. */
export function brushItem(mask: Uint8Array, w: number, h: number, id: string, label = 'Face', fromName = 'face') {
  return {
    id,
    type: 'brushlabels',
    from_name: fromName,
    to_name: 'image',
    origin: 'manual',
    original_width: w,
    original_height: h,
    image_rotation: 0,
    value: { format: 'rle', rle: maskToRle(mask, w, h), brushlabels: [label] },
  };
}
