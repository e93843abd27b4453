// The records learning keeps: what we predicted for a task, and how a
// labeler corrected it (the brush regions drawn with our label, matched face
// by face to our prediction). Pure, apart from the warning callback.
import type { LabelChoice } from '../labelstudio/label-config.js';
import { roundTo } from '../util/num.js';
import { CHANGED_IOU } from './calibrate.js';
import { bestDilate, decodeBrush, iouCurve, matchFaces, type BitMask } from './masks.js';
import { decodeSample, encodeTarget, targetInFrame } from './sample-codec.js';
import type { Prediction } from '../labelstudio/results.js';
import type { EngineParams } from '../pipeline/types.js';
import type { CorrectionRecord, FaceCorrection, PredictedFace, PredictionRecord } from './store.js';

export type Json = Record<string, unknown>;

export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A Label Studio id (number, non-empty string, or an object's `id`) as a string. */
export const idOf = (v: unknown): string | undefined => (typeof v === 'number' || (typeof v === 'string' && v !== '') ? String(v) : isObj(v) ? idOf(v.id) : undefined);

/** Why an annotation cannot be used: the log message and its fields. */
export interface Unusable {
  problem: string;
  fields?: Json;
}

/** The annotation's regions drawn with our brush label, decoded; unusable when a size or an RLE does not fit the prediction. */
export function brushRegions(annotation: Json, annId: string, brush: LabelChoice, pred: PredictionRecord): BitMask[] | Unusable {
  const regions: BitMask[] = [];
  for (const item of Array.isArray(annotation.result) ? annotation.result : []) {
    if (!isObj(item) || item.type !== 'brushlabels' || item.from_name !== brush.fromName) continue;
    const value = isObj(item.value) ? item.value : {};
    const labels = Array.isArray(value.brushlabels) ? value.brushlabels : [];
    if (!labels.includes(brush.label) || value.format !== 'rle' || !Array.isArray(value.rle)) continue;
    const width = typeof item.original_width === 'number' ? item.original_width : pred.width;
    const height = typeof item.original_height === 'number' ? item.original_height : pred.height;
    if (width !== pred.width || height !== pred.height) {
      const fields = { annotation: annId, size: `${width}x${height}`, predicted: `${pred.width}x${pred.height}` };
      return { problem: 'learning: annotation image size differs from the predicted one: ignored', fields };
    }
    try {
      const mask = decodeBrush(value.rle as number[], width, height);
      if (mask) regions.push(mask);
    } catch (err) {
      return { problem: `learning: bad brush RLE in annotation ${annId}: ${(err as Error).message}` };
    }
  }
  return regions;
}

export interface CorrectionInput {
  annotation: string;
  project: string;
  task: string;
  pred: PredictionRecord;
  /** The labeler's faces (grouped brush regions). */
  truths: BitMask[];
  receivedAt: number;
  /** Told about a face sample in the record that cannot be decoded. */
  warn: (message: string) => void;
}

/** Our predicted faces against the labeler's: IoU, best dilate and refiner training pair per matched face, false and missed faces. */
export function compareCorrection(c: CorrectionInput): CorrectionRecord {
  const { pred, truths } = c;
  const decoded = pred.faces.map((f) => decodeBrush(f.rle, pred.width, pred.height));
  const kept = decoded.map((mask, i) => ({ mask, i })).filter((x): x is { mask: BitMask; i: number } => x.mask !== undefined);
  const { matches, falseFaces, missed } = matchFaces(
    kept.map((k) => k.mask),
    truths,
  );
  const faces: FaceCorrection[] = matches.map((match) => {
    const mask = kept[match.pred].mask;
    const face = pred.faces[kept[match.pred].i];
    // the engine's own face size when it was recorded; the estimate from the mask is ~30 % off on some photos
    const curve = iouCurve(mask, truths[match.gt], pred.dilate, pred.width, pred.height, face.faceSize);
    const best = bestDilate(curve);
    const pair = refinerPair(face.sample, truths[match.gt], c.warn);
    return { score: face.score, iou: roundTo(match.iou, 4), bestDilate: best.dilate, bestIou: roundTo(best.iou, 4), curve, ...pair };
  });
  return {
    annotation: c.annotation,
    project: c.project,
    task: c.task,
    modelVersion: pred.modelVersion,
    score: pred.rawScore,
    faces,
    falseFaceScores: falseFaces.map((i) => pred.faces[kept[i].i].score),
    missed: missed.length,
    changed: falseFaces.length > 0 || missed.length > 0 || faces.some((f) => f.iou < CHANGED_IOU),
    receivedAt: c.receivedAt,
  };
}

/** The refiner's input and target for one corrected face; nothing when the sample is missing or damaged. */
function refinerPair(sample: string | undefined, truth: BitMask, warn: (message: string) => void): { sample?: string; target?: string } {
  if (sample === undefined) return {};
  try {
    return { sample, target: encodeTarget(targetInFrame(decodeSample(sample), truth)) };
  } catch (err) {
    warn(`learning: unusable face sample in a prediction record: ${(err as Error).message}`);
    return {};
  }
}

export interface RecordInput {
  projectId: string;
  taskId: string | number;
  prediction: Prediction;
  /** Prediction score before score calibration. */
  rawScore: number;
  /** Parameters the engine ran with (overrides only). */
  params: Partial<EngineParams>;
  width: number;
  height: number;
  /** Per face, in the order of the prediction's brush regions: the engine's face size and encoded FaceSample. */
  faces?: { faceSize?: number; sample?: string }[];
}

/** What we keep of a prediction: per brush region its score and RLE, with the engine's face size and sample when given. */
export function predictionRecord(r: RecordInput, defaultDilate: number, createdAt: number): PredictionRecord {
  const faces: PredictedFace[] = [];
  for (const region of r.prediction.result) {
    if (region.type !== 'brushlabels') continue;
    const extra = r.faces?.[faces.length];
    faces.push({
      score: region.score,
      rle: region.value.rle,
      ...(extra?.faceSize !== undefined ? { faceSize: extra.faceSize } : {}),
      ...(extra?.sample !== undefined ? { sample: extra.sample } : {}),
    });
  }
  return {
    project: r.projectId,
    task: String(r.taskId),
    modelVersion: r.prediction.model_version,
    dilate: r.params.dilate ?? defaultDilate,
    width: r.width,
    height: r.height,
    score: r.prediction.score,
    rawScore: r.rawScore,
    faces,
    createdAt,
  };
}
