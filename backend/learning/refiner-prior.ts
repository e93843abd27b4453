// A refiner prior (REFINER_PRIOR): a refiner that every project without one
// of its own gets, e.g. fitted by `faceseg prior` on the corrections of a
// team's earlier projects. It can be limited to some faces (minYaw,
// minFaceSize) and to the neighbourhood of the engine's mask (maxGrow,
// chinLimit). It is part of model_version; a project's own refiner, once one
// beats the prior on held-out corrections, replaces it. None ships with the
// product: the only labelled photos we have (FASSEG) are for evaluation only.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { FRAME_SCALE, FRAME_SIZE } from '../pipeline/face-sample.js';
import { FEATURE_NAMES } from './refiner-features.js';
import { parseRefiner, type RefinerModel } from './refiner.js';

/** Largest prior file read (a 22-32-1 network is about 17 KB). */
const MAX_PRIOR_BYTES = 1 << 20;

export class RefinerPriorError extends Error {
  constructor(file: string, why: string) {
    super(`refiner prior ${file}: ${why}; set REFINER_PRIOR=off to run without one, or make it again with \`faceseg prior\``);
    this.name = 'RefinerPriorError';
  }
}

/** Read and check a prior: it must be a refiner of this engine's frame and feature list. */
export function loadRefinerPrior(file: string): RefinerModel {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_PRIOR_BYTES) throw new RefinerPriorError(file, `${buf.length} bytes, more than ${MAX_PRIOR_BYTES}`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof RefinerPriorError) throw err;
    throw new RefinerPriorError(file, `cannot read it (${(err as Error).message})`);
  }
  const model = parseRefiner(text);
  if (!model) throw new RefinerPriorError(file, 'not a faceseg refiner (kind faceseg-refiner, version 1)');
  if (model.frameSize !== FRAME_SIZE || model.frameScale !== FRAME_SCALE || model.features !== FEATURE_NAMES.join(',')) {
    throw new RefinerPriorError(file, `fitted for another frame (${model.frameSize} px, scale ${model.frameScale}) or feature list than this engine's (${FRAME_SIZE} px, scale ${FRAME_SCALE})`);
  }
  if (!netIsWhole(model.net, FEATURE_NAMES.length)) throw new RefinerPriorError(file, 'its network has missing, extra or non-finite weights');
  return model;
}

const finite = (xs: unknown, n: number): boolean => Array.isArray(xs) && xs.length === n && xs.every((v) => typeof v === 'number' && Number.isFinite(v));

/** Every weight the network's shape promises, finite (a hand-edited file must not give NaN masks). */
function netIsWhole(net: RefinerModel['net'] | undefined, inputs: number): boolean {
  if (!net || net.inputs !== inputs || !Number.isInteger(net.hidden) || net.hidden < 1 || net.hidden > 256) return false;
  return finite(net.std, inputs) && net.std.every((v) => v > 0) && finite(net.mean, inputs) && finite(net.w1, net.hidden * inputs) && finite(net.b1, net.hidden) && finite(net.w2, net.hidden) && Number.isFinite(net.b2);
}

/** The prior REFINER_PRIOR names, or null when none is set. */
export function configuredPrior(config: Pick<Config, 'refinerPrior'>): RefinerModel | null {
  return config.refinerPrior ? loadRefinerPrior(config.refinerPrior) : null;
}

/** The prior a caller already read (null: none), else (undefined) the one REFINER_PRIOR names: read once, shared by the engine and the learning service. */
export function priorOr(given: RefinerModel | null | undefined, config: Pick<Config, 'refinerPrior'>): RefinerModel | null {
  return given !== undefined ? given : configuredPrior(config);
}

/** Short id of a prior, part of model_version. */
export function priorId(model: RefinerModel): string {
  return createHash('sha256').update(JSON.stringify(model)).digest('hex').slice(0, 8);
}
