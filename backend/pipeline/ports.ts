// What the engine needs from the models, as narrow interfaces: the ONNX
// adapters in backend/models implement them, tests can pass doubles.
import type { Box, Point, RgbImage, ScoredPoint } from './types.js';

export interface PersonPose {
  /** 17 COCO keypoints in image pixels. */
  keypoints: ScoredPoint[];
  box: Box;
  score: number;
}

export interface FaceDetection {
  box: Box;
  score: number;
  /** 5 points in image pixels: right eye, left eye, nose, right mouth corner, left mouth corner (subject's sides). */
  landmarks: Point[];
}

export interface MeshResult {
  /** x, y in crop pixels, z; `count` points. */
  points: Float32Array;
  count: number;
  /** 0..1, how sure the model is that the crop holds a face. */
  faceScore: number;
}

export interface FloatMap {
  width: number;
  height: number;
  data: Float32Array;
}

export interface KeypointPort {
  detect(img: RgbImage): Promise<PersonPose[]>;
}

export interface FaceDetectorPort {
  /** Longest side (pixels) images are scaled to for the model; tiling needs it. */
  readonly inputSide?: number;
  /** `threshold` overrides the adapter's own score threshold. */
  detect(img: RgbImage, threshold?: number): Promise<FaceDetection[]>;
  /** detect with the input's longest side `side` instead of inputSide (detectors with a variable input size only). */
  detectAt?(img: RgbImage, threshold: number, side: number): Promise<FaceDetection[]>;
}

export interface LandmarkPort {
  readonly inputSize: number;
  run(crops: RgbImage[]): Promise<MeshResult[]>;
}

/** A face parser's answer for one crop: face probability, and hair probability when the parser knows hair. */
export interface ParserMap extends FloatMap {
  hair?: Float32Array;
}

export interface SegmenterPort {
  readonly inputSize: number;
  /** Face (and hair) probability per crop, at the model's output resolution. */
  run(crops: RgbImage[]): Promise<ParserMap[]>;
}

export interface EnginePorts {
  keypoints?: KeypointPort;
  faceDetector?: FaceDetectorPort;
  faceLandmarks: LandmarkPort;
  faceSegmenter?: SegmenterPort;
}
