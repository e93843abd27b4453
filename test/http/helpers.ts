import { readFileSync } from 'node:fs';
import type { Config } from '../../backend/config.js';
import { loadConfig } from '../../backend/config.js';
import type { Face, FaceEngine, RgbImage, SegmentOptions, SegmentResult } from '../../backend/pipeline/types.js';

export const BRUSH_XML = readFileSync(new URL('../../label-config/brush.xml', import.meta.url), 'utf8');
export const BRUSH_BOX_KP_XML = readFileSync(new URL('../../label-config/brush-box-keypoints.xml', import.meta.url), 'utf8');

export function testConfig(env: Record<string, string> = {}): Config {
  // the tests' engines run in-process: no worker threads, one engine call at once
  return loadConfig({ RUNNING_IN_DOCKER: 'false', LOG_LEVEL: 'error', ENGINE_WORKERS: '0', ...env }, { exists: () => false });
}

/** A FaceEngine double: one square face mask in the middle of the image. */
export class SquareFaceEngine implements FaceEngine {
  readonly modelVersion = 'test-square-v1';
  readonly executionProvider = 'cpu';
  calls: Array<{ image: RgbImage; options?: SegmentOptions }> = [];
  failWith?: Error;

  async segment(image: RgbImage, options?: SegmentOptions): Promise<SegmentResult> {
    this.calls.push({ image, options });
    if (this.failWith) throw this.failWith;
    const { width: W, height: H } = image;
    const side = Math.max(1, Math.floor(Math.min(W, H) / 2));
    const x = Math.floor((W - side) / 2);
    const y = Math.floor((H - side) / 2);
    const data = new Uint8Array(side * side).fill(255);
    const face: Face = {
      box: { x, y, width: side, height: side },
      score: 0.9,
      mask: { x, y, width: side, height: side, data },
      keypoints: [
        { name: 'nose', x: x + side / 2, y: y + side / 2, score: 0.8 },
        { name: 'left_eye', x: x + side * 0.65, y: y + side * 0.35, score: 0.7 },
      ],
      source: 'fused',
    };
    return { width: W, height: H, faces: [face], score: 0.9, timings: { detector: 1, segmenter: 2 } };
  }

  async close(): Promise<void> {}
}
