// A user-supplied face parser (Nirkin's FCN-8s, BiSeNet, ...) described by a
// manifest entry: input size, layout, channel order, pixel scale, mean/std,
// which output classes are face, and how the output is laid out.
import * as ort from 'onnxruntime-node';
import { packFloatTensor, resizeRgb } from '../pipeline/image-ops.js';
import type { ParserMap, SegmenterPort } from '../pipeline/ports.js';
import type { RgbImage } from '../pipeline/types.js';
import type { ModelEntry, SegmenterSpec } from './manifest.js';
import { floatOutput, RUN_OPTIONS } from './sessions.js';

export interface GenericSegmenterOptions {
  /** One crop per session call even when the model takes a batch: one input shape (the CUDA setting, see FaceLandmarkOptions.fixedBatch). */
  oneCropPerCall?: boolean;
}

export class GenericSegmenter implements SegmenterPort {
  /** Square crop side the model takes (the width when not square). */
  readonly inputSize: number;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly spec: SegmenterSpec;
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly dynamicBatch: boolean;

  private constructor(private readonly session: ort.InferenceSession, private readonly entry: ModelEntry, opts: GenericSegmenterOptions) {
    if (!entry.segmenter) throw new Error(`face-segmenter model ${entry.id}: the entry needs a "segmenter" section (faceClasses, outputLayout, outputKind)`);
    this.spec = entry.segmenter;
    const nchw = entry.input.layout === 'NCHW';
    const [w, h] = entry.input.size ?? [Number(entry.input.shape[nchw ? 3 : 2]), Number(entry.input.shape[nchw ? 2 : 1])];
    if (!(w > 0 && h > 0)) throw new Error(`face-segmenter model ${entry.id}: give input.size [width, height]`);
    this.inputWidth = w;
    this.inputHeight = h;
    this.inputSize = w;
    this.inputName = entry.input.name;
    this.outputName = entry.outputs[0].name;
    const b = entry.input.shape[0];
    this.dynamicBatch = (typeof b === 'string' || Number(b) < 0) && !opts.oneCropPerCall;
  }

  static async create(session: ort.InferenceSession, entry: ModelEntry, opts: GenericSegmenterOptions = {}): Promise<GenericSegmenter> {
    const s = new GenericSegmenter(session, entry, opts);
    await s.run([{ width: s.inputWidth, height: s.inputHeight, data: new Uint8Array(s.inputWidth * s.inputHeight * 3) }]);
    return s;
  }

  /** Face (and hair) probability per crop at the model's output resolution. */
  async run(crops: RgbImage[]): Promise<ParserMap[]> {
    if (crops.length === 0) return [];
    if (!this.dynamicBatch && crops.length > 1) {
      const all: ParserMap[] = [];
      for (const c of crops) all.push(...(await this.run([c])));
      return all;
    }
    const { inputWidth: w, inputHeight: h } = this;
    const sized = crops.map((c) => (c.width === w && c.height === h ? c : resizeRgb(c, w, h)));
    const inp = this.entry.input;
    const data = packFloatTensor(sized, {
      layout: inp.layout,
      channelOrder: inp.channelOrder,
      scale: inp.scale ?? 1,
      mean: inp.mean ?? [0, 0, 0],
      std: inp.std ?? [1, 1, 1],
    });
    const n = sized.length;
    const dims = inp.layout === 'NCHW' ? [n, 3, h, w] : [n, h, w, 3];
    const tensor = inp.dtype === 'float32' ? new ort.Tensor('float32', data, dims) : null;
    if (!tensor) throw new Error(`face-segmenter model ${this.entry.id}: only float32 inputs are supported`);
    const out = await this.session.run({ [this.inputName]: tensor }, RUN_OPTIONS);
    const o = floatOutput(out, this.outputName);
    return splitFaceProbability(o.data, o.dims, this.spec);
  }
}

/** Face (and, with spec.hairClasses, hair) probability maps from a [N,C,H,W] or [N,H,W,C] class output. */
export function splitFaceProbability(data: Float32Array, dims: readonly number[], spec: SegmenterSpec): ParserMap[] {
  const nchw = spec.outputLayout === 'NCHW';
  let [n, c, oh, ow] = nchw ? [dims[0], dims[1], dims[2], dims[3]] : [dims[0], dims[3], dims[1], dims[2]];
  if (dims.length === 3) {
    // [N,H,W]: one channel
    [n, c, oh, ow] = [dims[0], 1, dims[1], dims[2]];
  }
  for (const [what, classes] of [['face', spec.faceClasses], ['hair', spec.hairClasses ?? []]] as const) {
    for (const k of classes) if (k >= c) throw new Error(`face-segmenter: ${what} class ${k} but the output has ${c} channels`);
  }
  const hw = oh * ow;
  const isFace = new Uint8Array(c);
  for (const k of spec.faceClasses) isFace[k] = 1;
  const isHair = spec.hairClasses ? new Uint8Array(c) : null;
  for (const k of spec.hairClasses ?? []) isHair![k] = 1;
  const single = spec.outputKind === 'sigmoid' || c === 1;
  const maps: ParserMap[] = [];
  const v = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    const res = new Float32Array(hw);
    const hair = isHair && !single ? new Float32Array(hw) : undefined;
    const base = b * c * hw;
    for (let i = 0; i < hw; i++) {
      for (let k = 0; k < c; k++) v[k] = nchw ? data[base + k * hw + i] : data[base + i * c + k];
      if (single) {
        const x = v[spec.faceClasses[0]];
        res[i] = clamp01(spec.outputKind === 'probabilities' ? x : 1 / (1 + Math.exp(-x)));
        continue;
      }
      let face = 0;
      let hairP = 0;
      if (spec.outputKind === 'probabilities') {
        for (let k = 0; k < c; k++) {
          if (isFace[k]) face += v[k];
          if (isHair?.[k]) hairP += v[k];
        }
      } else {
        let m = -Infinity;
        for (let k = 0; k < c; k++) if (v[k] > m) m = v[k];
        let sum = 0;
        for (let k = 0; k < c; k++) {
          const e = Math.exp(v[k] - m);
          sum += e;
          if (isFace[k]) face += e;
          if (isHair?.[k]) hairP += e;
        }
        face /= sum;
        hairP /= sum;
      }
      res[i] = clamp01(face);
      if (hair) hair[i] = clamp01(hairP);
    }
    maps.push(hair ? { width: ow, height: oh, data: res, hair } : { width: ow, height: oh, data: res });
  }
  return maps;
}

function clamp01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}
