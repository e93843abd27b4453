// MediaPipe selfie segmentation: a soft person matte of the whole image.
import * as ort from 'onnxruntime-node';
import { packFloatTensor, resizeRgb } from '../pipeline/image-ops.js';
import type { FloatMap } from '../pipeline/ports.js';
import type { RgbImage } from '../pipeline/types.js';
import type { ModelEntry } from './manifest.js';
import { floatOutput, RUN_OPTIONS } from './sessions.js';

export type { FloatMap };

export class PersonMatte {
  readonly width: number;
  readonly height: number;
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly scale: number;

  private constructor(private readonly session: ort.InferenceSession, entry: ModelEntry) {
    const [w, h] = entry.input.size ?? [Number(entry.input.shape[2]), Number(entry.input.shape[1])];
    if (!(w > 0 && h > 0)) throw new Error(`person-matte model ${entry.id}: unknown input size`);
    this.width = w;
    this.height = h;
    this.inputName = entry.input.name;
    this.outputName = entry.outputs[0].name;
    this.scale = entry.input.scale ?? 1 / 255;
  }

  static async create(session: ort.InferenceSession, entry: ModelEntry): Promise<PersonMatte> {
    const m = new PersonMatte(session, entry);
    await m.run({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) });
    return m;
  }

  /**
   * Person probability 0..1 at the model's resolution (256x256 for selfie).
   * The whole image is stretched to the model input, so the caller resizes
   * the map back to the image size (no letterbox offsets).
   */
  async run(img: RgbImage): Promise<FloatMap> {
    const x = resizeRgb(img, this.width, this.height);
    const input = packFloatTensor([x], { layout: 'NHWC', channelOrder: 'RGB', scale: this.scale });
    const out = await this.session.run({ [this.inputName]: new ort.Tensor('float32', input, [1, this.height, this.width, 3]) }, RUN_OPTIONS);
    const { data, dims } = floatOutput(out, this.outputName);
    // [1,H,W,1] (selfie) or [1,H,W,C] with the person in the last channel
    const oh = dims[1];
    const ow = dims[2];
    const c = dims[3] ?? 1;
    const res = new Float32Array(ow * oh);
    for (let i = 0; i < res.length; i++) {
      const v = data[i * c + (c - 1)];
      res[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    return { width: ow, height: oh, data: res };
  }
}
