// MediaPipe face mesh (with attention: 478 points; plain: 468) on face crops.
import * as ort from 'onnxruntime-node';
import { packFloatTensor, resizeRgb } from '../pipeline/image-ops.js';
import type { LandmarkPort, MeshResult } from '../pipeline/ports.js';
import type { RgbImage } from '../pipeline/types.js';
import type { ModelEntry } from './manifest.js';
import { floatOutput, RUN_OPTIONS } from './sessions.js';

export type { MeshResult };

export interface FaceLandmarkOptions {
  /** Most crops per session call (default 16); larger batches are split. */
  maxBatch?: number;
  /**
   * Run every call at maxBatch crops, blank crops after the real ones. For
   * CUDA: with onnxruntime-node 1.30's CUDA provider (PyPI's CUDA 13 build,
   * H200, 2026-11-30) a call whose batch differs from the session's previous
   * call spent 4.7-7 s of one CPU core with the GPU idle, however often that
   * size had run before, while calls of an unchanged size took 8-25 ms; so a
   * session must see one shape only.
   */
  fixedBatch?: boolean;
}

export class FaceMeshLandmarks implements LandmarkPort {
  /** Side of the square crops the model takes (192). */
  readonly inputSize: number;
  /** Points per face (478 with attention, 468 without). */
  readonly pointCount: number;
  readonly maxBatch: number;
  readonly fixedBatch: boolean;
  private readonly inputName: string;
  private readonly pointsName: string;
  private readonly flagName: string;
  private readonly dynamicBatch: boolean;

  private constructor(private readonly session: ort.InferenceSession, entry: ModelEntry, opts: FaceLandmarkOptions) {
    this.inputSize = entry.input.size?.[0] ?? Number(entry.input.shape[1]);
    if (!(this.inputSize > 0)) throw new Error(`face-landmarks model ${entry.id}: unknown input size`);
    this.pointCount = entry.points ?? 468;
    this.inputName = entry.input.name;
    // outputs[0]: points (N x P x 3, any shape), outputs[1]: face flag
    this.pointsName = entry.outputs[0].name;
    this.flagName = entry.outputs[1]?.name ?? '';
    if (!this.flagName) throw new Error(`face-landmarks model ${entry.id} must declare points and face-flag outputs`);
    this.dynamicBatch = typeof entry.input.shape[0] === 'string' || Number(entry.input.shape[0]) < 0;
    this.maxBatch = this.dynamicBatch ? Math.max(1, opts.maxBatch ?? 16) : 1;
    this.fixedBatch = this.dynamicBatch && !!opts.fixedBatch;
  }

  static async create(session: ort.InferenceSession, entry: ModelEntry, opts: FaceLandmarkOptions = {}): Promise<FaceMeshLandmarks> {
    const m = new FaceMeshLandmarks(session, entry, opts);
    const s = m.inputSize;
    const blank = { width: s, height: s, data: new Uint8Array(s * s * 3) };
    await m.run([blank]);
    return m;
  }

  /**
   * Run the mesh on crops of inputSize x inputSize (other sizes are resized,
   * and their points are still returned in that crop's own pixels). All crops
   * go through one session call (up to maxBatch).
   */
  async run(crops: RgbImage[]): Promise<MeshResult[]> {
    const results: MeshResult[] = [];
    for (let i = 0; i < crops.length; i += this.maxBatch) {
      results.push(...(await this.runBatch(crops.slice(i, i + this.maxBatch))));
    }
    return results;
  }

  private async runBatch(crops: RgbImage[]): Promise<MeshResult[]> {
    const s = this.inputSize;
    const sized = crops.map((c) => (c.width === s && c.height === s ? c : resizeRgb(c, s, s)));
    const n = sized.length;
    const batch = this.fixedBatch ? this.maxBatch : n;
    // blank crops past the real ones: the buffer's zeros beyond the n packed crops
    const tensor = packFloatTensor(sized, { layout: 'NHWC', channelOrder: 'RGB', scale: 1 / 255 }, new Float32Array(batch * s * s * 3));
    const out = await this.session.run({ [this.inputName]: new ort.Tensor('float32', tensor, [batch, s, s, 3]) }, RUN_OPTIONS);
    const pts = floatOutput(out, this.pointsName).data;
    const flag = floatOutput(out, this.flagName).data;
    const per = pts.length / batch;
    const count = Math.floor(per / 3);
    const results: MeshResult[] = [];
    for (let b = 0; b < n; b++) {
      const sx = crops[b].width / s;
      const sy = crops[b].height / s;
      const points = pts.slice(b * per, b * per + count * 3);
      if (sx !== 1 || sy !== 1) {
        for (let k = 0; k < count; k++) {
          points[3 * k] *= sx;
          points[3 * k + 1] *= sy;
          points[3 * k + 2] *= sx;
        }
      }
      const f = flag[b];
      results.push({ points, count, faceScore: Number.isFinite(f) ? Math.min(1, Math.max(0, f)) : 0 });
    }
    return results;
  }
}
