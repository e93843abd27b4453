// Face stages 5-6: each face's region as a distance field over its crop
// (from the landmarks, or from a face parser that knows only face), then the
// landmark region refined with the face's own skin colour and, when the
// parser knows hair, by the parser.
import { DEFAULT_COLOUR_REFINE, decideColour, prepareColour } from './colour-refine.js';
import { yieldToEventLoop } from './event-loop.js';
import { fallbackField, meshPoints, meshRegionField, probabilityField } from './face-region.js';
import { meshYawRatio, protectedZone } from './head-pose.js';
import { MESH } from './mesh-indices.js';
import { fuseParser } from './parser-fusion.js';
import type { ParserMap, SegmenterPort } from './ports.js';
import { faceAccepted, type MeshedFace } from './stage-landmarks.js';
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
  /** A hair-aware parser's maps over the same crop, applied after the colour rule. */
  parser?: ParserMap;
}

/**
 * Stage "region": the landmark region, or (landmarks rejected) the ellipse.
 * A parser that knows hair is kept beside it for the refine stage; one that
 * knows only face replaces it.
 */
export async function faceRegions(parser: SegmenterPort | undefined, faces: readonly MeshedFace[]): Promise<FaceRegion[]> {
  const maps = parser && faces.length ? await parser.run(faces.map((face) => warpCrop(face.job.view, face.roi, parser.inputSize))) : null;
  const out: FaceRegion[] = [];
  for (let i = 0; i < faces.length; i++) {
    const face = faces[i];
    const { settings } = face.job;
    const meshSize = face.crop.width;
    const accepted = faceAccepted(face);
    // per-face JavaScript work: let /health and other requests in between faces
    await yieldToEventLoop();
    const map = maps?.[i];
    if (map && !map.hair) {
      out.push({ face, field: probabilityField(map.data, map.width, map.height, settings.maskThreshold), fieldSize: map.width, source: 'parser', fallback: !accepted });
      continue;
    }
    const region: FaceRegion = accepted
      ? { face, field: meshRegionField(meshPoints(face.mesh.points, face.mesh.count), meshSize, settings.regionMethod), fieldSize: meshSize, source: 'mesh', fallback: false }
      : { face, field: fallbackField(meshSize, settings.roiScale), fieldSize: meshSize, source: 'ellipse', fallback: true };
    out.push(map ? { ...region, parser: map } : region);
  }
  return out;
}

/** Stage "refine": landmark regions refined with each face's skin colour model (when the settings ask for it), then by a hair-aware parser. */
export async function refineRegions(regions: readonly FaceRegion[]): Promise<FaceRegion[]> {
  const out: FaceRegion[] = [];
  for (const region of regions) {
    const { mesh } = region.face;
    const colour = region.source === 'mesh' && region.face.job.settings.colourRefine && mesh.count > MESH.chin;
    if (!colour && !region.parser) {
      out.push(region);
      continue;
    }
    await yieldToEventLoop();
    const field = colour ? colourRefinedField(region) : region.field;
    out.push({ ...region, field: region.parser ? fuseParser(field, region.fieldSize, region.parser) : field });
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
