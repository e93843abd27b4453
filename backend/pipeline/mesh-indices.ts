// Indices into MediaPipe's canonical face mesh (468 points, 478 with the
// irises) that the engine reads: one table, so that no two modules can
// disagree about which point is the chin.

export const MESH = {
  noseTip: 1,
  subnasale: 2,
  forehead: 10,
  chin: 152,
  rightEyeOuter: 33,
  rightEyeInner: 133,
  leftEyeOuter: 263,
  leftEyeInner: 362,
  /** Cheek contour points beside the ears (not the ears). */
  rightCheek: 234,
  leftCheek: 454,
  rightBrowTop: 105,
  leftBrowTop: 334,
} as const;

/** MediaPipe's face-oval ring (forehead, temples, jaw line, chin), in order. */
export const FACE_OVAL = [
  10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127,
  162, 21, 54, 103, 67, 109,
] as const;
