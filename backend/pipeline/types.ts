// Shared data types of the face engine. Everything here is plain data so that
// geometry and mask maths can be tested without a model.
import type { FaceSample, SampleHead } from './face-sample.js';
import type { Roi } from './warp.js';

/** 8-bit RGB pixels, row-major, 3 bytes per pixel, already EXIF-oriented. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export interface Point {
  x: number;
  y: number;
}

export interface ScoredPoint extends Point {
  score: number;
}

/** Axis-aligned box in image pixels, top-left origin. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A face mask covering only the rectangle it lives in, to keep memory small on
 * big images. `data` holds width*height alpha values 0..255 (255 = face).
 */
export interface RegionMask {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
}

export type HeadKeypointName = 'nose' | 'left_eye' | 'right_eye' | 'left_ear' | 'right_ear';

export interface NamedKeypoint extends ScoredPoint {
  name: HeadKeypointName;
}

/** Which source found a face: keypoints, detector, both, or a user click. */
export type FaceSource = 'keypoints' | 'detector' | 'fused' | 'click';

export interface Face {
  box: Box;
  /** 0..1: how likely the mask is right. */
  score: number;
  mask: RegionMask;
  keypoints: NamedKeypoint[];
  source: FaceSource;
  /** The engine's face size in pixels (landmark extent): the unit of `dilate`. */
  faceSize?: number;
  /** The face as the refiner sees it (only when SegmentOptions.captureSamples). */
  sample?: FaceSample;
}

/** A refined face mask as a field for paste-back (edge at 0, positive inside, about field pixels). */
export interface RefinedField {
  field: Float32Array;
  size: number;
  roi: Roi;
}

/** A project's learned mask correction (active learning); undefined keeps the engine's mask. */
export interface FaceRefiner {
  /** Whether it would redraw this face at all (frame and landmarks only): when false no sample is captured for it. Default: yes. */
  accepts?(head: SampleHead): boolean;
  refine(sample: FaceSample): RefinedField | undefined;
  /** Plain data the refiner is rebuilt from in another thread (the engine worker pool); absent = this thread only. */
  readonly data?: unknown;
}

/** Where the user pointed in interactive mode, in image pixels. */
export type InteractiveHint =
  | { kind: 'point'; point: Point; positive: boolean }
  | { kind: 'box'; box: Box };

export interface SegmentOptions {
  hints?: InteractiveHint[];
  /** Per-project parameter overrides (active learning); merged over defaults. */
  params?: Partial<EngineParams>;
  /** Per-project mask refiner (active learning): replaces each face's mask, `dilate` then no longer applies. */
  refiner?: FaceRefiner;
  /** Return each face's FaceSample (what a refiner learns from). */
  captureSamples?: boolean;
  /**
   * The caller shows each face's head keypoints (a KeyPointLabels control):
   * the keypoint model then runs on every image, portraits too (portrait.ts),
   * so faces keep its points (ears included) rather than the mesh's.
   */
  headKeypoints?: boolean;
}

/** Parameters that decide most of the engine's errors; all tunable per project. */
export interface EngineParams {
  /** Seed rule: box radius = boxScale * largest pairwise head-keypoint distance. */
  boxScale: number;
  /** Seed rule: smallest box radius in pixels. */
  minRadius: number;
  /** Head keypoint confidence threshold. */
  keypointThreshold: number;
  /** Face detector confidence threshold. */
  detectorThreshold: number;
  /** Mask threshold on the soft mask, 0..1. */
  maskThreshold: number;
  /** Grow (+) or shrink (-) masks by this many pixels per 100 px of face size. */
  dilate: number;
}

export interface SegmentResult {
  width: number;
  height: number;
  faces: Face[];
  /** Image-level score: lower = a labeler is more likely to change it. */
  score: number;
  /** Milliseconds per stage (decode, keypoints, detector, segmenter, paste...). */
  timings: Record<string, number>;
  /** What the score was made of (for eval and tuning; not sent to Label Studio). */
  scoreEvidence?: { faces: Record<string, number | string | boolean | undefined>[]; image: Record<string, number | number[]> };
}

/** The engine as the HTTP layer and the CLI see it. */
export interface FaceEngine {
  /** Changes whenever the models or the settings that change results change. */
  readonly modelVersion: string;
  readonly executionProvider: string;
  segment(image: RgbImage, options?: SegmentOptions): Promise<SegmentResult>;
  close(): Promise<void>;
}
