// The eval's small-face suite: rendered 1920x1080 scenes of ~20-pixel faces
// (heads of the chosen split's people), found rate and false faces per image,
// also on darkened copies when the eval makes them (far away and in the dark).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaceEngine, RgbImage } from '../pipeline/types.js';
import type { FassegEntry } from './scenes.js';
import { matchHeads, renderSmallFaceScenes, type SmallFaceScene } from './small-faces.js';
import { inSplit, type SplitChoice } from './split.js';

export interface SmallFaceRow {
  scene: number;
  faces: number;
  found: number;
  falseFaces: number;
  ms: number;
  /** The scene's darkened copy. */
  dark: boolean;
  /** The small faces are a crowd behind two large people (whose faces count as neither found nor false). */
  behind: boolean;
}

export const SMALL_FACE_SCENE = { scenes: 4, facesPerScene: 12, facePx: 20, seed: 18 } as const;
/** The same faces as a crowd behind two large people: the whole-image pass finds those, so it alone must say whether tiles run. */
export const CROWD_SCENE = { ...SMALL_FACE_SCENE, seed: 19, foreground: 2 } as const;

/** Every scene, then (with `darken`) every scene's darkened copy. */
export async function evalSmallFaces(
  engine: FaceEngine,
  dataDir: string,
  split: SplitChoice,
  darken?: (img: RgbImage, key: string) => RgbImage,
): Promise<SmallFaceRow[]> {
  const set = 'multipose01-train';
  const dir = path.join(dataDir, 'fasseg', set);
  const entries = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as FassegEntry[];
  // crowd faces are mostly near frontal; the split's people only
  const sources = entries.filter((e) => Math.abs(Number(e.yaw)) <= 45 && inSplit(split, set, e.image)).map((e) => ({ dir, e }));
  const rows: SmallFaceRow[] = [];
  const run = async (scenes: readonly SmallFaceScene[], dark: boolean, behind: boolean): Promise<void> => {
    for (const [i, s] of scenes.entries()) {
      const image = dark && darken ? darken(s.image, `small-faces/${i}`) : s.image;
      const t0 = performance.now();
      const res = await engine.segment(image);
      const ms = performance.now() - t0;
      const boxes = res.faces.map((f) => f.box);
      // the people in front are neither small faces found nor false faces
      const all = matchHeads([...s.heads, ...s.people], boxes);
      rows.push({ scene: i, faces: s.heads.length, found: matchHeads(s.heads, boxes).found, falseFaces: all.falseFaces, ms, dark, behind });
    }
  };
  const scenes = await renderSmallFaceScenes(sources, SMALL_FACE_SCENE);
  await run(scenes, false, false);
  if (darken) await run(scenes, true, false);
  await run(await renderSmallFaceScenes(sources, CROWD_SCENE), false, true);
  return rows;
}
