// Turns an engine result into one Label Studio prediction: a brush region per
// face, plus a face box and head keypoints when the label config has them.
import type { Face, SegmentResult } from '../pipeline/types.js';
import { clamp, roundTo } from '../util/num.js';
import { regionsToRle } from './brush-rle.js';
import type { FaceLabelConfig } from './label-config.js';

export interface BrushRegion {
  id: string;
  from_name: string;
  to_name: string;
  type: 'brushlabels';
  original_width: number;
  original_height: number;
  image_rotation: 0;
  value: { format: 'rle'; rle: number[]; brushlabels: string[] };
  score: number;
}

export interface RectangleRegion {
  id: string;
  from_name: string;
  to_name: string;
  type: 'rectanglelabels';
  original_width: number;
  original_height: number;
  image_rotation: 0;
  value: { x: number; y: number; width: number; height: number; rotation: 0; rectanglelabels: string[] };
  score: number;
}

export interface KeypointRegion {
  id: string;
  from_name: string;
  to_name: string;
  type: 'keypointlabels';
  original_width: number;
  original_height: number;
  image_rotation: 0;
  value: { x: number; y: number; width: number; keypointlabels: string[] };
  score: number;
}

export type Region = BrushRegion | RectangleRegion | KeypointRegion;

export interface Prediction {
  result: Region[];
  score: number;
  model_version: string;
}

/** Keypoint marker size in percent of the image width. */
export const KEYPOINT_WIDTH = 0.5;

const pct = (v: number, total: number) => roundTo(clamp((v / total) * 100, 0, 100), 4);
export const roundScore = (s: number) => (Number.isFinite(s) ? roundTo(clamp(s, 0, 1), 4) : 0);

export interface BuildOptions {
  /** Id prefix to keep region ids unique across tasks (e.g. the task id). */
  idPrefix?: string;
}

function faceRegions(face: Face, index: number, seg: SegmentResult, cfg: FaceLabelConfig, prefix: string): Region[] {
  const { width: W, height: H } = seg;
  const base = { original_width: W, original_height: H, image_rotation: 0 as const };
  const id = `${prefix}face${index + 1}`;
  const score = roundScore(face.score);
  const out: Region[] = [
    {
      id,
      from_name: cfg.brush.fromName,
      to_name: cfg.brush.toName,
      type: 'brushlabels',
      ...base,
      value: { format: 'rle', rle: regionsToRle(face.mask, W, H), brushlabels: [cfg.brush.label] },
      score,
    },
  ];
  if (cfg.rectangle) {
    const x0 = clamp(face.box.x, 0, W);
    const y0 = clamp(face.box.y, 0, H);
    const x1 = clamp(face.box.x + face.box.width, 0, W);
    const y1 = clamp(face.box.y + face.box.height, 0, H);
    if (x1 > x0 && y1 > y0) {
      out.push({
        id: `${id}_box`,
        from_name: cfg.rectangle.fromName,
        to_name: cfg.rectangle.toName,
        type: 'rectanglelabels',
        ...base,
        value: {
          x: pct(x0, W),
          y: pct(y0, H),
          width: pct(x1 - x0, W),
          height: pct(y1 - y0, H),
          rotation: 0,
          rectanglelabels: [cfg.rectangle.label],
        },
        score,
      });
    }
  }
  if (cfg.keypoints) {
    for (const kp of face.keypoints) {
      const label = cfg.keypoints.labels[kp.name];
      if (!label || kp.x < 0 || kp.y < 0 || kp.x > W || kp.y > H) continue;
      out.push({
        id: `${id}_${kp.name}`,
        from_name: cfg.keypoints.fromName,
        to_name: cfg.keypoints.toName,
        type: 'keypointlabels',
        ...base,
        value: { x: pct(kp.x, W), y: pct(kp.y, H), width: KEYPOINT_WIDTH, keypointlabels: [label] },
        score: roundScore(kp.score),
      });
    }
  }
  return out;
}

/** One prediction for one task. A task without faces gets result [] with a score. */
export function buildPrediction(
  seg: SegmentResult,
  cfg: FaceLabelConfig,
  modelVersion: string,
  options: BuildOptions = {},
): Prediction {
  const prefix = options.idPrefix ?? '';
  const result = seg.faces.flatMap((f, i) => faceRegions(f, i, seg, cfg, prefix));
  return { result, score: roundScore(seg.score), model_version: modelVersion };
}

/** The entry a task gets when its image could not be processed. */
export function emptyPrediction(modelVersion: string, score = 0): Prediction {
  return { result: [], score, model_version: modelVersion };
}

/**
 * The model_version of a failed task's entry. Label Studio skips a task that
 * holds a prediction of the backend's current version on every later
 * Retrieve Predictions, so a failure under that version (a timeout, a
 * storage hiccup) would stay "no face, score 0" for good; under its own
 * version the task is tried again, and the Data Manager lists the failures.
 */
export function failedVersion(modelVersion: string): string {
  return `${modelVersion}-failed`;
}
