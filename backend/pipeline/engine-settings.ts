// The engine's settings: every knob of head finding, crops and masks, with
// the defaults the evaluation chose. Part of model_version (see engine.ts).
import type { RegionMethod } from './face-region.js';
import type { EngineParams } from './types.js';

export interface EngineSettings extends EngineParams {
  roiScale: number;
  regionMethod: RegionMethod;
  /** Landmark passes: the second re-centres the crop on the first landmarks. */
  passes: number;
  /** Below this mesh face score a crop is not a face (back of head, clutter). */
  minFaceScore: number;
  /** 'fused' = keypoints + detector + body scale; 'seed' = the original system's rule, for comparison. */
  locator: 'fused' | 'seed';
  /** Refine the landmark region with a per-face skin colour model. */
  colourRefine: boolean;
  /** Colour refinement band half-width, share of the face size. */
  colourBand: number;
  /** Skin likelihood above which a pixel outside the landmark region is added. */
  colourAdd: number;
  /** Luma tolerance below the skin median (robust SDs) for colour refinement. */
  colourDarkLuma: number;
  /** Texture tolerance above the skin's local contrast (robust SDs) for colour refinement; 0 = colour only. */
  colourTexture: number;
  /** ROI scales tried, upright, when the mesh rejects a crop. */
  retryScales: number[];
  /** |meshYawRatio| from which a head counts as turned (1.15: most heads at 60 degrees and beyond, few at 45). */
  turnedYaw: number;
  /** Colour refinement on turned heads: skin likelihood to add a band pixel, and below which one inside is removed. */
  turnedColourAdd: number;
  turnedColourRemove: number;
  /** Turned heads: how far (face heights) the mask may reach beyond the face oval behind the face, above the brows (turned-head-limit.ts). */
  turnedMargin: number;
  /**
   * What counts as face below the nose, inside the jaw line from the mesh:
   * 'include' keeps beard and stubble in the mask (anonymisation must cover
   * them), 'exclude' lets the skin colour model take them out.
   */
  beard: 'include' | 'exclude';
  /** Dark or flat images: the models see a tone-normalised copy (masks stay on the original grid). */
  lowLight: boolean;
  /** Large images where the whole-image pass finds no or only tiny faces: detect again on full-resolution tiles. */
  tiles: boolean;
  /** Large images: search the full-resolution tiles whatever the whole-image pass found (crowds it cannot see behind the people it found; slower). */
  alwaysTile: boolean;
  /** Images of 1025 px up to tile size whose people all show big heads: the face detector runs at a smaller input first (detector-size.ts, MEDIUM_RULE). */
  mediumPass: boolean;
}

export const DEFAULT_SETTINGS: EngineSettings = {
  boxScale: 3,
  minRadius: 20,
  keypointThreshold: 0.3,
  detectorThreshold: 0.3,
  maskThreshold: 0.5,
  dilate: 0,
  roiScale: 1.5,
  regionMethod: 'hull',
  passes: 2,
  minFaceScore: 0.5,
  locator: 'fused',
  colourRefine: true,
  colourBand: 0.25,
  colourAdd: 0.2,
  retryScales: [0.7, 1.2],
  colourDarkLuma: 1.5,
  colourTexture: 0,
  beard: 'include',
  turnedYaw: 1.15,
  turnedColourAdd: 0.05,
  turnedColourRemove: 0.06,
  turnedMargin: 0.2,
  lowLight: true,
  tiles: true,
  alwaysTile: false,
  mediumPass: true,
};
