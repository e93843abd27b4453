// CIHP (multi-person parsing) as a mask set: the union of predicted faces
// against the parsing map's face class, over the whole image (CIHP's face
// class stops at the jaw, so no chin cut is needed).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { readImageFile, readLabelMap, writeOverlay } from '../io/image-files.js';
import { binaryUnion } from '../pipeline/mask-ops.js';
import type { FaceEngine } from '../pipeline/types.js';
import { maskIta } from './ita.js';
import { classMask, maskScores, precisionOn } from './metrics.js';
import type { FassegRow, Prep } from './run-eval.js';

/** CIHP / LIP class of the face (hair is 2). */
export const CIHP_FACE = [13];

export async function evalCihp(engine: FaceEngine, dir: string, opts: { overlayDir?: string; prep?: Prep; as?: string } = {}): Promise<FassegRow[]> {
  const name = opts.as ?? 'cihp';
  const labels = (await readdir(dir)).filter((f) => f.endsWith('_label.png')).sort();
  const rows: FassegRow[] = [];
  for (const l of labels) {
    const image = l.replace(/_label\.png$/, '.jpg');
    const photo = await readImageFile(path.join(dir, image));
    const label = await readLabelMap(path.join(dir, l));
    if (label.width !== photo.width || label.height !== photo.height) throw new Error(`${l}: size differs from ${image}`);
    const img = opts.prep ? opts.prep(photo, `cihp/${image}`) : photo;
    const t0 = performance.now();
    const res = await engine.segment(img);
    const ms = performance.now() - t0;
    const pred = binaryUnion(res);
    const truth = classMask(label.data, CIHP_FACE);
    const s = maskScores(pred, truth, img.width);
    let found = false;
    let falseFaces = 0;
    for (const f of res.faces) {
      if (precisionOn(binaryUnion({ ...res, faces: [f] }), label.data, CIHP_FACE) >= 0.5) found = true;
      else falseFaces++;
    }
    rows.push({ set: name, image, yaw: 0, found, falseFaces, iou: s.iou, precision: s.precision, recall: s.recall, precisionWithNeck: s.precision, ita: maskIta(photo, truth), score: res.score, ms });
    if (opts.overlayDir) await writeOverlay(path.join(opts.overlayDir, name, `${path.parse(image).name}.jpg`), img, pred, truth);
  }
  return rows;
}
