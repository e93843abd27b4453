// `faceseg eval --fit-prior FILE`, an evaluation experiment: what would a
// refiner prior (learning/refiner-prior.ts) fitted on about a hundred
// labelled faces do for turned heads? It fits one on the TUNE split of FASSEG
// only, as a project's refiner is fitted from corrections (the "face"
// convention: skin with ears, eyes, nose, mouth); `REFINER_PRIOR=FILE faceseg
// eval` then measures it on the held-out split. FASSEG is licensed for
// evaluation only, so the file is a measuring device: it must not ship or
// serve (`faceseg prior` makes a prior from a team's own corrections).
// Deterministic for given data.
// FASSEG's truth stops at the chin (below it the neck is labelled skin), so
// the prior learns nothing there and is limited to removing (chinLimit).
// FASSEG's backdrops are plain and never skin-coloured, and its tune people
// light to medium (ITA -34 to +14): each face is also shown on a backdrop of
// a random colour or of its own skin's, and with its skin darkened, so the
// network learns neither "not the backdrop's colour" nor "light skin" as "face".
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readLabelMap } from '../io/image-files.js';
import { fromFullMask } from '../learning/masks.js';
import { DEFAULT_FIT, trainRefiner, type RefinerExample, type RefinerModel } from '../learning/refiner.js';
import { targetInFrame } from '../learning/sample-codec.js';
import type { FaceEngine } from '../pipeline/types.js';
import { seededRandom } from '../util/random.js';
import { loadSet, type Item, type PhotoPrep } from './learn-sim.js';
import { chinRow, classMask, skinAboveChin } from './metrics.js';
import { toneTo } from './skin-tone.js';
import type { FassegEntry } from './scenes.js';
import { splitOf } from './split.js';
import { dataMissing } from './data-missing.js';

export const PRIOR_SETS = ['frontal02-train', 'multipose01-train'] as const;

/** Faces turned more than this (sampleYaw, 0 frontal .. 2 profile) get the prior: chosen on the tune split's folds (0.5 and 1 tied; 1 leaves more faces alone). */
export const PRIOR_MIN_YAW = 1;

/**
 * Smallest face (image pixels) the prior redraws. It is fitted on faces of
 * 216-419 px and, on tune people's photos shrunk 5x (faces 47-84 px), still
 * gained; on a 17 px face in a crowd it ran down the neck.
 */
export const PRIOR_MIN_FACE_SIZE = 48;

/**
 * How far (face sizes) the prior may draw beyond the engine's own mask. On
 * rendered scenes a skin-coloured backdrop behind a cut-out head let it flood
 * the background; on the tune split's folds 0.3 kept nearly all its gain
 * (turned IoU 0.869 against 0.872 unlimited, 0.865 at 0.2), and the network
 * then runs on about a quarter of the frame.
 */
export const PRIOR_MAX_GROW = 0.3;

export interface PriorFit {
  model: RefinerModel;
  /** Tune images per set that gave a training example. */
  examples: Record<string, number>;
  trainMs: number;
}

/**
 * The example on another backdrop: frame pixels that are background (share
 * `bg`, 0..1, from the label map) blend towards `colour`, with a little noise.
 */
export function onBackdrop(e: RefinerExample, bg: Float32Array, colour: readonly number[], rnd: () => number, tag: string): RefinerExample {
  const rgb = Uint8Array.from(e.sample.rgb);
  for (let i = 0; i < bg.length; i++) {
    const a = bg[i];
    if (a <= 0) continue;
    for (let k = 0; k < 3; k++) {
      const v = colour[k] + (rnd() - 0.5) * 16;
      rgb[i * 3 + k] = Math.max(0, Math.min(255, Math.round((1 - a) * rgb[i * 3 + k] + a * v)));
    }
  }
  return { ...e, sample: { ...e.sample, rgb }, group: `${e.group}#${tag}` };
}

/** Median colour of the frame pixels the target calls face. */
function skinColour(e: RefinerExample): number[] {
  const chans: number[][] = [[], [], []];
  for (let i = 0; i < e.target.length; i++) if (e.target[i] >= 0.5) for (let k = 0; k < 3; k++) chans[k].push(e.sample.rgb[i * 3 + k]);
  return chans.map((c) => (c.length ? c.sort((a, b) => a - b)[c.length >> 1] : 128));
}

/** Skin tones (ITA) of the toned training copies: darker than any tune person, and not the eval's own targets (-50, -75). */
export const PRIOR_TONES: readonly number[] = [-45, -70];

/** A tune photo as it is; null for photos outside the tune split. */
const tuneOnly = (set: string): PhotoPrep => (img, _label, entry) => (splitOf(set, entry.image) === 'tune' ? img : null);

/** A tune photo with its labelled skin darkened to ITA `target` (skin-tone.ts); null for photos outside the tune split. */
const tonedTune = (set: string, target: number): PhotoPrep => (img, label, entry) => {
  if (!tuneOnly(set)(img, label, entry)) return null;
  return toneTo(img, label, skinAboveChin(label, img.width, chinRow(label, img.width, img.height)), target).image;
};

/**
 * The tune examples of one FASSEG set; each is also shown once on another
 * backdrop (a random colour or its own skin's, by turns) and once with its
 * skin darkened (PRIOR_TONES by turns, the engine run again on that copy).
 */
async function setExamples(engine: FaceEngine, dir: string, set: string, rnd: () => number, quiet: boolean): Promise<RefinerExample[]> {
  const labels = new Map((JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as FassegEntry[]).map((e) => [e.image, e.label]));
  // the samples are the engine's own masks, whatever refiner it applies; held-out photos are skipped before the engine runs
  const tuned = (items: Item[]) => items.filter((i) => i.example);
  const items = tuned(await loadSet(engine, dir, set, 'face', quiet, tuneOnly(set)));
  const toned: Map<string, RefinerExample>[] = [];
  for (const t of PRIOR_TONES) toned.push(new Map(tuned(await loadSet(engine, dir, set, 'face', quiet, tonedTune(set, t))).map((i) => [i.image, i.example!])));
  const out: RefinerExample[] = [];
  for (const [k, item] of items.entries()) {
    const e = item.example!;
    out.push(e);
    const tone = toned[k % toned.length].get(item.image);
    if (tone) out.push({ ...tone, group: `${tone.group}#tone` });
    const label = await readLabelMap(path.join(dir, labels.get(item.image)!));
    const bgMask = fromFullMask(classMask(label.data, [0]), label.width, label.height);
    if (!bgMask) continue;
    const bg = targetInFrame(e.sample, bgMask);
    const colour = k % 2 ? skinColour(e).map((v) => v * (0.9 + 0.2 * rnd())) : [rnd() * 255, rnd() * 255, rnd() * 255];
    out.push(onBackdrop(e, bg, colour, rnd, 'backdrop'));
  }
  return out;
}

export async function fitPrior(engine: FaceEngine, dataDir: string, quiet = false): Promise<PriorFit> {
  const examples: Record<string, number> = {};
  const all: RefinerExample[] = [];
  const rnd = seededRandom(18);
  for (const set of PRIOR_SETS) {
    const dir = path.join(dataDir, 'fasseg', set);
    if (!(await stat(dir).catch(() => null))) throw dataMissing(`${dir} not found (expected the shared data folder with fasseg/${set})`);
    const xs = await setExamples(engine, dir, set, rnd, quiet);
    examples[set] = xs.filter((x) => !x.group.includes('#')).length;
    all.push(...xs);
  }
  const t0 = performance.now();
  // no deadline: the result must not depend on the machine's speed
  const model: RefinerModel = { ...trainRefiner(all, DEFAULT_FIT), minYaw: PRIOR_MIN_YAW, minFaceSize: PRIOR_MIN_FACE_SIZE, maxGrow: PRIOR_MAX_GROW, chinLimit: true };
  return { model, examples, trainMs: Math.round(performance.now() - t0) };
}
