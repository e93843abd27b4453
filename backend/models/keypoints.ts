// MoveNet MultiPose Lightning: up to 6 people, 17 COCO keypoints each.
import * as ort from 'onnxruntime-node';
import { toInt32Nhwc } from '../pipeline/image-ops.js';
import type { KeypointPort, PersonPose } from '../pipeline/ports.js';
import type { Box, RgbImage, ScoredPoint } from '../pipeline/types.js';
import type { ModelEntry } from './manifest.js';
import { clamp } from '../util/num.js';
import { floatOutput, RUN_OPTIONS } from './sessions.js';
import { letterboxFast } from './letterbox-native.js';

export type { PersonPose };

/** COCO-17 order of PersonPose.keypoints. */
export const COCO_KEYPOINTS = [
  'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
  'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
] as const;

export interface KeypointOptions {
  /** Longest side of the model input in pixels, a multiple of 32 (default 256). */
  inputSize?: number;
  /** People below this score are dropped (default 0.15). */
  minPersonScore?: number;
  /** Letterbox onto a square inputSize canvas: one input shape for every image (CUDA: see FaceLandmarkOptions.fixedBatch). */
  square?: boolean;
}

export class MoveNetKeypoints implements KeypointPort {
  readonly inputSize: number;
  readonly minPersonScore: number;
  readonly square: boolean;
  private readonly inputName: string;
  private readonly outputName: string;

  private constructor(private readonly session: ort.InferenceSession, entry: ModelEntry, opts: KeypointOptions) {
    const size = opts.inputSize ?? 256;
    if (!Number.isInteger(size) || size < 64 || size % 32 !== 0) {
      throw new RangeError(`keypoints inputSize must be a multiple of 32 >= 64, got ${size}`);
    }
    this.inputSize = size;
    this.minPersonScore = opts.minPersonScore ?? 0.15;
    this.square = !!opts.square;
    this.inputName = entry.input.name;
    this.outputName = entry.outputs[0].name;
  }

  static async create(session: ort.InferenceSession, entry: ModelEntry, opts: KeypointOptions = {}): Promise<MoveNetKeypoints> {
    const k = new MoveNetKeypoints(session, entry, opts);
    await k.detect({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) }); // warm-up
    return k;
  }

  async detect(img: RgbImage): Promise<PersonPose[]> {
    const lb = await letterboxFast(img, this.inputSize, 32, undefined, this.square);
    const { width: w, height: h } = lb.image;
    const feeds = { [this.inputName]: new ort.Tensor('int32', toInt32Nhwc(lb.image), [1, h, w, 3]) };
    const out = await this.session.run(feeds, RUN_OPTIONS);
    const { data, dims } = floatOutput(out, this.outputName);
    const people = dims[1] ?? 6;
    const stride = dims[2] ?? 56;
    // normalised input coords -> image pixels
    const fx = w / lb.scaleX;
    const fy = h / lb.scaleY;
    const poses: PersonPose[] = [];
    for (let p = 0; p < people; p++) {
      const o = p * stride;
      const score = data[o + 55];
      if (!(score >= this.minPersonScore)) continue;
      const keypoints: ScoredPoint[] = [];
      for (let k = 0; k < 17; k++) {
        keypoints.push({ x: data[o + k * 3 + 1] * fx, y: data[o + k * 3] * fy, score: data[o + k * 3 + 2] });
      }
      const x0 = clamp(data[o + 52] * fx, 0, img.width);
      const y0 = clamp(data[o + 51] * fy, 0, img.height);
      const x1 = clamp(data[o + 54] * fx, 0, img.width);
      const y1 = clamp(data[o + 53] * fy, 0, img.height);
      const box: Box = { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
      poses.push({ keypoints, box, score });
    }
    poses.sort((a, b) => b.score - a.score);
    return poses;
  }
}
