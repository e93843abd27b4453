// Face stages 5-6: each face's region as a distance field over its crop
// (from a face parser when one is configured, else from the landmarks),
// then the landmark region refined with the face's own skin colour.
import { DEFAULT_COLOUR_REFINE, decideColour, prepareColour } from './colour-refine.js';
import { yieldToEventLoop } from './event-loop.js';
import { fallbackField, meshPoints, meshRegionField, probabilityField } from './face-region.js';
import { meshYawRatio, protectedZone } from './head-pose.js';
import { MESH } from './mesh-indices.js';
import type { SegmenterPort } from './ports.js';
import type { MeshedFace } from './stage-landmarks.js';
import { applyLimit, DEFAULT_TURNED_HEAD_LIMIT, turnedHeadLimit } from './turned-head-limit.js';
import { warpCrop } from './warp.js';

/**
 * Where a face's region came from: the face parser's probabilities, the
 * landmark mesh, or (landmarks rejected, no parser) an upright ellipse.
 */
export type RegionSource = 'parser' | 'mesh' | 'ellipse';

/** A face's region: a field over its crop (edge at 0, positive inside, in field pixels). */
export interface FaceRegion {
  face: MeshedFace;
  field: Float32Array;
  /** Side of the square field in pixels. */
  fieldSize: number;
  source: RegionSource;
  /** The landmark model did not accept the crop as a face: the region is a guess. */
  fallback: boolean;
}

/** Stage "region": the parser's field for every face when there is a parser, else the landmark region or, when rejected, the ellipse. */
export async function faceRegions(parser: SegmenterPort | undefined, faces: readonly MeshedFace[]): Promise<FaceRegion[]> {
  let probabilities: Float32Array[] | null = null;
  let probabilitySize = 0;
  if (parser && faces.length) {
    const maps = await parser.run(faces.map((face) => warpCrop(face.job.view, face.roi, parser.inputSize)));
    probabilities = maps.map((map) => map.data);
    probabilitySize = maps[0]?.width ?? 0;
  }
  const out: FaceRegion[] = [];
  for (let i = 0; i < faces.length; i++) {
    const face = faces[i];
    const { settings } = face.job;
    const meshSize = face.crop.width;
    const accepted = face.mesh.faceScore >= settings.minFaceScore;
    // per-face JavaScript work: let /health and other requests in between faces
    await yieldToEventLoop();
    if (probabilities && probabilitySize > 0) {
      const field = probabilityField(probabilities[i], probabilitySize, probabilitySize, settings.maskThreshold);
      out.push({ face, field, fieldSize: probabilitySize, source: 'parser', fallback: !accepted });
    } else if (accepted) {
      const field = meshRegionField(meshPoints(face.mesh.points, face.mesh.count), meshSize, settings.regionMethod);
      out.push({ face, field, fieldSize: meshSize, source: 'mesh', fallback: false });
    } else {
      out.push({ face, field: fallbackField(meshSize, settings.roiScale), fieldSize: meshSize, source: 'ellipse', fallback: true });
    }
  }
  return out;
}

/** Stage "refine": landmark regions refined with each face's skin colour model (when the settings ask for it). */
export async function refineRegions(regions: readonly FaceRegion[]): Promise<FaceRegion[]> {
  const out: FaceRegion[] = [];
  for (const region of regions) {
    const { mesh } = region.face;
    if (region.source !== 'mesh' || !region.face.job.settings.colourRefine || mesh.count <= MESH.chin) {
      out.push(region);
      continue;
    }
    await yieldToEventLoop();
    out.push({ ...region, field: colourRefinedField(region) });
  }
  return out;
}

/**
 * Whether the colour rule may read near-white skin as glare: only on the
 * photo's own pixels (a tone-mapped view or a lifted crop has no clipping
 * to speak of), and not on a turned head, whose region reaches past the
 * cheek onto a background that may be white too.
 */
export function glareApplies(turned: boolean, face: Pick<MeshedFace, 'job' | 'lifted'>): boolean {
  return !turned && face.job.toneMapped !== true && face.lifted !== true;
}

function colourRefinedField(region: FaceRegion): Float32Array {
  const { face, field, fieldSize } = region;
  const { settings } = face.job;
  const { mesh, crop } = face;
  // turned heads: hair behind the cheek passes the loose frontal rule, so remove more, and add the ear more readily
  const turned = Math.abs(meshYawRatio(mesh.points, mesh.count)) >= settings.turnedYaw;
  const keep = protectedZone(mesh.points, mesh.count, fieldSize, settings.beard === 'include');
  const base = {
    ...DEFAULT_COLOUR_REFINE,
    band: settings.colourBand,
    addAbove: settings.colourAdd,
    darkLuma: settings.colourDarkLuma,
    texture: settings.colourTexture,
    keep,
    glare: glareApplies(turned, face),
  };
  const chinY = mesh.points[MESH.chin * 3 + 1];
  // the skin model, likelihoods and colour bins do not depend on the rule: prepared once for both (null: too few pixels)
  const prep = prepareColour(crop, field, chinY, base);
  const refined = prep && turned ? decideColour(prep, { addAbove: settings.turnedColourAdd, removeBelow: settings.turnedColourRemove }) : null;
  // the looser adding rule can leak into a skin-coloured background: fall back to the frontal rule
  const out = refined ?? (prep && decideColour(prep)) ?? field;
  // behind a turned face colour cannot tell short hair from skin: the mesh says how far the face may reach
  return turned ? applyLimit(out, turnedHeadLimit(mesh.points, mesh.count, fieldSize, { ...DEFAULT_TURNED_HEAD_LIMIT, margin: settings.turnedMargin })) : out;
}
