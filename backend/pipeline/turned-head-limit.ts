// How far a turned head's mask may reach beyond the face oval above the
// brows, from the mesh alone. Behind a turned face, above the ear, lies hair:
// short dark hair at the temple passes the skin colour model (it is skin seen
// through hair), so colour alone lets the mask spread up and back into it.
// Below the brows the mask may still reach out to the ear and down the jaw
// (FASSEG counts ears as face). Pure, crop space (the face upright).
import { fillPolygon, signedDistanceSides } from './mask-raster.js';
import { FACE_OVAL, MESH } from './mesh-indices.js';

export interface TurnedHeadLimitParams {
  /** How far beyond the face oval the mask may reach above `earRow`, in face heights (forehead to chin). */
  margin: number;
  /**
   * Where the limit ends, in rows between the forehead point (0) and the top
   * of the higher brow (1): below it lie the ear and the jaw.
   */
  earRow: number;
}

export const DEFAULT_TURNED_HEAD_LIMIT: TurnedHeadLimitParams = { margin: 0.2, earRow: 1 };

/**
 * The limit as a field over the size x size crop, to take the minimum with a
 * region's field: positive where the mask may be, 0 at the limit, negative
 * beyond it, in crop pixels; a large positive value where nothing is limited
 * (inside the oval, below `earRow`). Undefined without a full mesh. The
 * engine asks for it on turned heads only, where colour leaks most.
 */
export function turnedHeadLimit(points: Float32Array, count: number, size: number, p: TurnedHeadLimitParams = DEFAULT_TURNED_HEAD_LIMIT): Float32Array | undefined {
  if (count <= MESH.leftCheek) return undefined;
  const at = (i: number): { x: number; y: number } => ({ x: points[i * 3], y: points[i * 3 + 1] });
  const top = at(MESH.forehead);
  const chin = at(MESH.chin);
  const faceHeight = Math.hypot(top.x - chin.x, top.y - chin.y);
  if (!(faceHeight > 1)) return undefined;
  const brow = Math.min(at(MESH.rightBrowTop).y, at(MESH.leftBrowTop).y);
  const lastRow = Math.floor(top.y + p.earRow * (brow - top.y));
  const inOval = fillPolygon(FACE_OVAL.map(at), size, size);
  const rows = Math.min(size, lastRow + 1);
  // the oval's signed distance where it is read: outside the oval (< 0 there), down to lastRow
  const beyond = signedDistanceSides(inOval, size, size, 'outside', rows);
  const margin = p.margin * faceHeight;
  const out = new Float32Array(size * size).fill(size);
  // its depth outside the oval is how far the pixel lies beyond it
  const end = Math.max(0, rows) * size;
  for (let i = 0; i < end; i++) if (!inOval[i]) out[i] = margin + beyond[i];
  return out;
}

/** The region's field cut at the limit (a new array); the field itself when there is no limit. */
export function applyLimit(field: Float32Array, limit: Float32Array | undefined): Float32Array {
  if (!limit) return field;
  const out = new Float32Array(field.length);
  for (let i = 0; i < field.length; i++) out[i] = Math.min(field[i], limit[i]);
  return out;
}
