// Face detectors: CenterFace (default) and BlazeFace back-camera 256.
// Both return boxes and 5 landmarks in image pixels after NMS.
import * as ort from 'onnxruntime-node';
import { letterbox, packFloatTensor } from '../pipeline/image-ops.js';
import type { FaceDetection, FaceDetectorPort } from '../pipeline/ports.js';
import type { Box, Point, RgbImage } from '../pipeline/types.js';
import type { ModelEntry } from './manifest.js';
import { floatOutput, RUN_OPTIONS } from './sessions.js';
import { letterboxFast } from './letterbox-native.js';

export type { FaceDetection };

/**
 * Landmark order of FaceDetection.landmarks (subject's sides): right eye,
 * left eye, nose tip, right mouth corner, left mouth corner. On a frontal
 * face the subject's right eye is on the image's left.
 */
export const FACE_LANDMARK_NAMES = ['right_eye', 'left_eye', 'nose', 'right_mouth', 'left_mouth'] as const;

export interface FaceDetectorOptions {
  /**
   * CenterFace: the image is scaled so that its longest side is this many
   * pixels (then padded to a multiple of 32); default 640. Images smaller
   * than that are enlarged, which helps small faces. BlazeFace always runs at 256.
   */
  maxSide?: number;
  /** Score threshold 0..1 (default 0.5). */
  threshold?: number;
  /** IoU above which the lower-scored of two boxes is dropped (default 0.3). */
  nmsIou?: number;
  /**
   * CenterFace: letterbox onto a square side x side canvas instead of the
   * next multiple of 32, so every call of a side has one input shape (CUDA:
   * see FaceLandmarkOptions.fixedBatch).
   */
  square?: boolean;
}

interface Raw {
  box: Box;
  score: number;
  landmarks: Point[];
}

export function boxIou(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy non-maximum suppression, highest score first. */
export function nms<T extends { box: Box; score: number }>(items: readonly T[], iou: number): T[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const keep: T[] = [];
  for (const d of sorted) {
    if (keep.every((k) => boxIou(k.box, d.box) < iou)) keep.push(d);
  }
  return keep;
}

function clipDetection(d: Raw, w: number, h: number): FaceDetection | null {
  const x0 = Math.max(0, d.box.x);
  const y0 = Math.max(0, d.box.y);
  const x1 = Math.min(w, d.box.x + d.box.width);
  const y1 = Math.min(h, d.box.y + d.box.height);
  if (x1 - x0 < 1 || y1 - y0 < 1) return null;
  return { box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score: d.score, landmarks: d.landmarks };
}

/** Spare detector input buffers kept per detector (one per call that may be in flight at once, beyond which calls allocate). */
const MAX_SPARE_INPUTS = 2;

/** A face detector whose threshold can be set per call (CenterFace, BlazeFace). */
export type ThresholdDetector = FaceDetectorPort & { detect(img: RgbImage, threshold?: number): Promise<FaceDetection[]> };

/**
 * A detector at its one input size: no detectAt, so the pipeline runs no
 * coarse pass and every call has one input shape (the CUDA setting, with
 * `square`: see FaceLandmarkOptions.fixedBatch).
 */
export function atOneSize(d: ThresholdDetector): ThresholdDetector {
  return { inputSide: d.inputSide, detect: (img, threshold) => d.detect(img, threshold) };
}

const EMPTY = (n: number): RgbImage => ({ width: n, height: n, data: new Uint8Array(n * n * 3) });

/** CenterFace (MIT): anchor-free heatmap detector, any input size (multiple of 32). */
export class CenterFaceDetector implements FaceDetectorPort {
  readonly maxSide: number;
  readonly threshold: number;
  readonly nmsIou: number;
  readonly square: boolean;
  private readonly inputName: string;
  private readonly outNames: string[];

  private constructor(private readonly session: ort.InferenceSession, entry: ModelEntry, opts: FaceDetectorOptions) {
    this.maxSide = opts.maxSide ?? 640;
    this.square = !!opts.square;
    if (!(this.maxSide >= 32)) throw new RangeError(`face detector maxSide must be >= 32, got ${this.maxSide}`);
    this.threshold = opts.threshold ?? 0.5;
    this.nmsIou = opts.nmsIou ?? 0.3;
    this.inputName = entry.input.name;
    this.outNames = entry.outputs.map((o) => o.name);
    if (this.outNames.length !== 4) throw new Error(`centerface model ${entry.id} must have 4 outputs`);
  }

  get inputSide(): number {
    return this.maxSide;
  }

  /**
   * Input buffers of finished calls. A full pass's input is 3 x 640 x ~576
   * floats (4.4 MB): allocating and zeroing a new one per call cost ~2 CPU ms,
   * more than packing it. Calls in flight at once each take their own.
   */
  private readonly spare: Float32Array[] = [];

  /** A buffer of at least `length` floats (a spare one when there is), sized for the largest input. */
  private takeInput(length: number): Float32Array {
    const i = this.spare.findIndex((b) => b.length >= length);
    if (i >= 0) return this.spare.splice(i, 1)[0];
    return new Float32Array(Math.max(length, 3 * this.maxSide * this.maxSide));
  }

  static async create(session: ort.InferenceSession, entry: ModelEntry, opts: FaceDetectorOptions = {}): Promise<CenterFaceDetector> {
    const d = new CenterFaceDetector(session, entry, opts);
    await d.detect(EMPTY(64));
    return d;
  }

  /** Faces above `threshold` (default: the one set at creation), after NMS, in image pixels. */
  detect(img: RgbImage, threshold: number = this.threshold): Promise<FaceDetection[]> {
    return this.detectAt(img, threshold, this.maxSide);
  }

  /**
   * detect with the model input's longest side `side` for this call. Sides
   * other than maxSide are always letterboxed by libvips (cheaper; no earlier
   * outputs to keep), maxSide as before.
   */
  async detectAt(img: RgbImage, threshold: number, side: number): Promise<FaceDetection[]> {
    if (!(side >= 32)) throw new RangeError(`face detector side must be >= 32, got ${side}`);
    const lb = await letterboxFast(img, side, 32, side === this.maxSide ? undefined : 0, this.square);
    const { width: w, height: h } = lb.image;
    const buffer = this.takeInput(3 * w * h);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      // every element is written: nothing of an earlier call's input is left in it
      const input = packFloatTensor([lb.image], { layout: 'NCHW', channelOrder: 'RGB' }, buffer.subarray(0, 3 * w * h));
      out = await this.session.run({ [this.inputName]: new ort.Tensor('float32', input, [1, 3, h, w]) }, RUN_OPTIONS);
    } finally {
      // the run is over: the next call may pack into it
      if (this.spare.length < MAX_SPARE_INPUTS) this.spare.push(buffer);
    }
    const heat = floatOutput(out, this.outNames[0]);
    const scale = floatOutput(out, this.outNames[1]).data;
    const offset = floatOutput(out, this.outNames[2]).data;
    const lms = floatOutput(out, this.outNames[3]).data;
    const gh = heat.dims[2];
    const gw = heat.dims[3];
    const n = gw * gh;
    const hm = heat.data;
    const raws: Raw[] = [];
    for (let cy = 0; cy < gh; cy++) {
      for (let cx = 0; cx < gw; cx++) {
        const i = cy * gw + cx;
        const s = hm[i];
        if (!(s > threshold) || !isPeak(hm, gw, gh, cx, cy)) continue;
        const bh = Math.exp(scale[i]) * 4;
        const bw = Math.exp(scale[n + i]) * 4;
        const x0 = (cx + offset[n + i] + 0.5) * 4 - bw / 2;
        const y0 = (cy + offset[i] + 0.5) * 4 - bh / 2;
        const landmarks: Point[] = [];
        for (let j = 0; j < 5; j++) {
          landmarks.push({ x: (lms[(2 * j + 1) * n + i] * bw + x0) / lb.scaleX, y: (lms[2 * j * n + i] * bh + y0) / lb.scaleY });
        }
        raws.push({
          box: { x: x0 / lb.scaleX, y: y0 / lb.scaleY, width: bw / lb.scaleX, height: bh / lb.scaleY },
          score: s,
          landmarks,
        });
      }
    }
    return nms(raws, this.nmsIou)
      .map((d) => clipDetection(d, img.width, img.height))
      .filter((d): d is FaceDetection => d !== null);
  }
}

function isPeak(hm: Float32Array, w: number, h: number, x: number, y: number): boolean {
  const v = hm[y * w + x];
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= h) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if (xx < 0 || xx >= w || (dx === 0 && dy === 0)) continue;
      const u = hm[yy * w + xx];
      // ties: keep the first in scan order
      if (u > v || (u === v && (dy < 0 || (dy === 0 && dx < 0)))) return false;
    }
  }
  return true;
}

/**
 * MediaPipe BlazeFace back-camera model (256x256, Apache-2.0). The image is
 * letterboxed into 256x256. BlazeFace predicts the mouth centre, not its
 * corners: the two mouth-corner landmarks are approximated as the mouth
 * centre -/+ 0.35 x the eye-to-eye vector (a typical mouth width); it also
 * predicts ears, which FaceDetection does not carry.
 */
export class BlazeFaceDetector implements FaceDetectorPort {
  readonly threshold: number;
  readonly nmsIou: number;
  readonly size = 256;
  private readonly inputName: string;
  private readonly outNames: string[];
  private readonly anchors: Float32Array; // (cx, cy) in input pixels, in output order

  private constructor(private readonly session: ort.InferenceSession, entry: ModelEntry, opts: FaceDetectorOptions) {
    this.threshold = opts.threshold ?? 0.5;
    this.nmsIou = opts.nmsIou ?? 0.3;
    this.inputName = entry.input.name;
    this.outNames = entry.outputs.map((o) => o.name);
    if (this.outNames.length !== 4) throw new Error(`blazeface model ${entry.id} must have 4 outputs`);
    const a: number[] = [];
    for (const [cells, per] of [[16, 2], [8, 6]] as const) {
      for (let y = 0; y < cells; y++) {
        for (let x = 0; x < cells; x++) {
          for (let k = 0; k < per; k++) a.push(((x + 0.5) / cells) * this.size, ((y + 0.5) / cells) * this.size);
        }
      }
    }
    this.anchors = Float32Array.from(a);
  }

  get inputSide(): number {
    return this.size;
  }

  static async create(session: ort.InferenceSession, entry: ModelEntry, opts: FaceDetectorOptions = {}): Promise<BlazeFaceDetector> {
    const d = new BlazeFaceDetector(session, entry, opts);
    await d.detect(EMPTY(64));
    return d;
  }

  /** Faces above `threshold` (default: the one set at creation), after NMS, in image pixels. */
  async detect(img: RgbImage, threshold: number = this.threshold): Promise<FaceDetection[]> {
    const lb = letterbox(img, this.size, this.size);
    const input = packFloatTensor([lb.image], { layout: 'NHWC', channelOrder: 'RGB', scale: 1 / 127.5, mean: [1, 1, 1] });
    const out = await this.session.run({ [this.inputName]: new ort.Tensor('float32', input, [1, this.size, this.size, 3]) }, RUN_OPTIONS);
    const s1 = floatOutput(out, this.outNames[0]).data;
    const s2 = floatOutput(out, this.outNames[1]).data;
    const b1 = floatOutput(out, this.outNames[2]).data;
    const b2 = floatOutput(out, this.outNames[3]).data;
    const raws: Raw[] = [];
    const t = Math.min(Math.max(threshold, 1e-6), 1 - 1e-6);
    const logit = Math.log(t / (1 - t));
    const total = s1.length + s2.length;
    for (let i = 0; i < total; i++) {
      const first = i < s1.length;
      const li = first ? i : i - s1.length;
      const sl = first ? s1[li] : s2[li];
      if (!(sl > logit)) continue;
      const reg = first ? b1 : b2;
      const o = li * 16;
      const ax = this.anchors[2 * i];
      const ay = this.anchors[2 * i + 1];
      const cx = ax + reg[o];
      const cy = ay + reg[o + 1];
      const bw = reg[o + 2];
      const bh = reg[o + 3];
      const kp: Point[] = [];
      for (let k = 0; k < 6; k++) kp.push({ x: (ax + reg[o + 4 + 2 * k]) / lb.scaleX, y: (ay + reg[o + 5 + 2 * k]) / lb.scaleY });
      const [re, le, nose, mouth] = kp;
      const vx = (le.x - re.x) * 0.35;
      const vy = (le.y - re.y) * 0.35;
      raws.push({
        box: { x: (cx - bw / 2) / lb.scaleX, y: (cy - bh / 2) / lb.scaleY, width: bw / lb.scaleX, height: bh / lb.scaleY },
        score: 1 / (1 + Math.exp(-sl)),
        landmarks: [re, le, nose, { x: mouth.x - vx, y: mouth.y - vy }, { x: mouth.x + vx, y: mouth.y + vy }],
      });
    }
    return nms(raws, this.nmsIou)
      .map((d) => clipDetection(d, img.width, img.height))
      .filter((d): d is FaceDetection => d !== null);
  }
}
