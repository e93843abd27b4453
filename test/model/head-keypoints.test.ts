// The model object tells the engine when the project shows head keypoints:
// the engine then keeps the keypoint model even on portraits (portrait.ts).
import { describe, expect, it } from 'vitest';
import { parseLabelConfig } from '../../backend/labelstudio/label-config.js';
import { FaceSegModel } from '../../backend/model/faceseg-model.js';
import type { FaceEngine, RgbImage, SegmentOptions, SegmentResult } from '../../backend/pipeline/types.js';

class RecordingEngine implements FaceEngine {
  readonly modelVersion = 'v';
  readonly executionProvider = 'cpu';
  readonly seen: SegmentOptions[] = [];
  async segment(image: RgbImage, options: SegmentOptions = {}): Promise<SegmentResult> {
    this.seen.push(options);
    return { width: image.width, height: image.height, faces: [], score: 0.5, timings: {} };
  }
  async close(): Promise<void> {}
}

const image: RgbImage = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) };
const brush = '<BrushLabels name="face" toName="image"><Label value="Face"/></BrushLabels>';
const view = (controls: string) => `<View><Image name="image" value="$image"/>${controls}</View>`;

describe('headKeypoints', () => {
  it('is set when the config has a KeyPointLabels control with head keypoint labels, and only then', async () => {
    const engine = new RecordingEngine();
    const model = new FaceSegModel(engine);
    const withKeypoints = view(`${brush}<KeyPointLabels name="kp" toName="image"><Label value="nose"/><Label value="left_ear"/></KeyPointLabels>`);
    const clicksOnly = view(`${brush}<KeyPointLabels name="click" toName="image" smart="true" smartOnly="true"><Label value="Face"/></KeyPointLabels>`);
    for (const xml of [withKeypoints, view(brush), clicksOnly]) await model.predict({ image, cfg: parseLabelConfig(xml) });
    expect(engine.seen.map((o) => o.headKeypoints)).toEqual([true, undefined, undefined]);
  });
});
