// The eval's group suite: rendered large photos of several of the split's
// people (group-scenes.ts), scored as the portraits are (IoU above the chin)
// plus faces found and false faces per scene.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { binaryUnion } from '../pipeline/mask-ops.js';
import type { FaceEngine } from '../pipeline/types.js';
import { GROUP_SCENES, renderGroupScenes } from './group-scenes.js';
import { classMask, FASSEG_FACE, maskScores } from './metrics.js';
import type { FassegEntry } from './scenes.js';
import { matchHeads } from './small-faces.js';
import { inSplit, type SplitChoice } from './split.js';

export interface GroupRow {
  scene: string;
  faces: number;
  found: number;
  falseFaces: number;
  iou: number;
  precision: number;
  recall: number;
  ms: number;
}

/** A mask with everything outside `counted` cleared: scored with maskScores, only the counted pixels matter. */
const within = (m: Uint8Array, counted: Uint8Array): Uint8Array => Uint8Array.from(m, (v, i) => (v && counted[i] ? 1 : 0));

export async function evalGroups(engine: FaceEngine, dataDir: string, split: SplitChoice, scenes: { scenes: number; seed: number } = GROUP_SCENES): Promise<GroupRow[]> {
  const sources: { dir: string; e: FassegEntry }[] = [];
  for (const set of ['multipose01-train', 'frontal02-train']) {
    const dir = path.join(dataDir, 'fasseg', set);
    const entries = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as FassegEntry[];
    for (const e of entries) if (inSplit(split, set, e.image)) sources.push({ dir, e });
  }
  const rows: GroupRow[] = [];
  for (const s of await renderGroupScenes(sources, scenes)) {
    const t0 = performance.now();
    const res = await engine.segment(s.image);
    const ms = performance.now() - t0;
    const m = matchHeads(s.heads, res.faces.map((f) => f.box));
    const scores = maskScores(within(binaryUnion(res), s.counted), within(classMask(s.label, FASSEG_FACE), s.counted), s.image.width);
    rows.push({ scene: s.name, faces: s.heads.length, found: m.found, falseFaces: m.falseFaces, ...scores, ms });
  }
  return rows;
}
