import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalGroups } from '../../backend/eval/group-eval.js';
import { renderGroupScenes, resizeLabels } from '../../backend/eval/group-scenes.js';
import { renderSmallFaceScenes } from '../../backend/eval/small-faces.js';
import type { FassegEntry } from '../../backend/eval/scenes.js';
import { summarise, formatTable } from '../../backend/eval/summary.js';
import type { Face, FaceEngine, RgbImage, SegmentResult } from '../../backend/pipeline/types.js';

const SKIN: [number, number, number] = [225, 160, 120];

/**
 * A 60x80 stand-in for a FASSEG photo and its label map, made here: hair on
 * top, a skin oval (FASSEG class 1) with eyes (3) and a mouth (5) inside,
 * background 0, drawn in a colour per class (the skin's is `skin`).
 */
async function writeFakePerson(dir: string, name: string, skin = SKIN): Promise<FassegEntry> {
  const w = 60;
  const h = 80;
  const rgb = Buffer.alloc(w * h * 3);
  const label = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inFace = ((x - 30) / 18) ** 2 + ((y - 42) / 26) ** 2 <= 1;
      let cls = 0;
      if (y < 22 && Math.abs(x - 30) < 22) cls = 2;
      if (inFace) cls = 1;
      if (inFace && y >= 34 && y <= 37 && (Math.abs(x - 22) <= 3 || Math.abs(x - 38) <= 3)) cls = 3;
      if (inFace && y >= 54 && y <= 57 && Math.abs(x - 30) <= 6) cls = 5;
      label[y * w + x] = cls;
      const colour = cls === 0 ? [40, 90, 200] : cls === 2 ? [30, 20, 10] : cls === 1 ? skin : [80, 40, 40];
      rgb.set(colour, (y * w + x) * 3);
    }
  }
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toFile(path.join(dir, `${name}.jpg`));
  await sharp(label, { raw: { width: w, height: h, channels: 1 } }).png().toFile(path.join(dir, `${name}_label.png`));
  return { image: `${name}.jpg`, label: `${name}_label.png`, yaw: '0' };
}

let data = '';
let sources: { dir: string; e: FassegEntry }[] = [];

beforeAll(async () => {
  data = await mkdtemp(path.join(tmpdir(), 'groups-'));
  const dir = path.join(data, 'fasseg', 'multipose01-train');
  await mkdir(dir, { recursive: true });
  await mkdir(path.join(data, 'fasseg', 'frontal02-train'), { recursive: true });
  // person 01 is in the tune split, 06 held out
  const entries = [await writeFakePerson(dir, 'multipose01_0_personne01146p0p0'), await writeFakePerson(dir, 'multipose01_0_personne06146p0p0', [110, 70, 50])];
  await writeFile(path.join(dir, 'index.json'), JSON.stringify(entries));
  await writeFile(path.join(data, 'fasseg', 'frontal02-train', 'index.json'), '[]');
  sources = [{ dir, e: entries[0] }];
});

afterAll(async () => {
  await rm(data, { recursive: true, force: true });
});

describe('resizeLabels', () => {
  it('keeps classes whole (nearest neighbour, no blending)', () => {
    const l = Uint8Array.from([1, 5, 3, 0]);
    expect([...resizeLabels(l, 2, 2, 4, 4)]).toEqual([1, 1, 5, 5, 1, 1, 5, 5, 3, 3, 0, 0, 3, 3, 0, 0]);
    expect([...resizeLabels(l, 2, 2, 1, 1)]).toEqual([0]);
  });
});

describe('renderGroupScenes', () => {
  it('is seeded: the same scenes for the same seed, others for another', async () => {
    const a = await renderGroupScenes(sources, { scenes: 3, seed: 5 });
    const b = await renderGroupScenes(sources, { scenes: 3, seed: 5 });
    const c = await renderGroupScenes(sources, { scenes: 3, seed: 6 });
    expect(a.map((s) => s.name)).toEqual(b.map((s) => s.name));
    expect(Buffer.from(a[0].image.data).equals(Buffer.from(b[0].image.data))).toBe(true);
    expect(Buffer.from(a[0].label).equals(Buffer.from(b[0].label))).toBe(true);
    expect(a.map((s) => s.name)).not.toEqual(c.map((s) => s.name));
  });

  it('labels each pasted person where their pixels landed, and counts only above their chins', async () => {
    for (const s of await renderGroupScenes(sources, { scenes: 5, seed: 9 })) {
      const { width: W, height: H, data: px } = s.image;
      expect(s.label.length).toBe(W * H);
      expect(s.heads.length).toBeGreaterThan(0);
      let skin = 0;
      let skinColoured = 0;
      for (let i = 0; i < s.label.length; i++) {
        if (s.label[i] !== 1) continue;
        skin++;
        // JPEG moves colours a little; a label off by its person's placement would land on background or hair
        if (Math.abs(px[i * 3] - SKIN[0]) + Math.abs(px[i * 3 + 1] - SKIN[1]) + Math.abs(px[i * 3 + 2] - SKIN[2]) < 60) skinColoured++;
      }
      expect(skin).toBeGreaterThan(0);
      expect(skinColoured / skin).toBeGreaterThan(0.8);
      // the chin row lies below the mouth: every mouth pixel counts, the bottom rows of the oval do not
      const mouth = [...s.label.keys()].filter((i) => s.label[i] === 5);
      expect(mouth.every((i) => s.counted[i] === 1)).toBe(true);
      const lowestSkinRow = Math.max(...[...s.label.keys()].filter((i) => s.label[i] === 1).map((i) => Math.floor(i / W)));
      const lowest = [...s.label.keys()].filter((i) => s.label[i] === 1 && Math.floor(i / W) === lowestSkinRow);
      expect(lowest.every((i) => s.counted[i] === 0)).toBe(true);
    }
  });
});

describe('small-face scenes with people in front', () => {
  it('puts the crowd in the top band and the people along the bottom, without overlap', async () => {
    const opts = { scenes: 2, facesPerScene: 12, facePx: 20, seed: 4 };
    const plain = await renderSmallFaceScenes(sources, opts);
    expect(plain.every((s) => s.people.length === 0)).toBe(true);
    for (const s of await renderSmallFaceScenes(sources, { ...opts, foreground: 2 })) {
      expect(s.people).toHaveLength(2);
      expect(s.heads).toHaveLength(12);
      expect(s.heads.every((h) => h.y + h.height <= 0.4 * 1080 + 1)).toBe(true);
      expect(s.people.every((p) => p.y >= 0.4 * 1080)).toBe(true);
      // the people stand apart, left and right
      expect(s.people[0].x + s.people[0].width).toBeLessThan(s.people[1].x);
    }
  });
});

/** An engine that masks the skin-coloured pixels (all of them as one face), or nothing. */
function colourEngine(find: boolean): FaceEngine {
  return {
    modelVersion: 'test',
    executionProvider: 'cpu',
    async segment(img: RgbImage): Promise<SegmentResult> {
      const faces: Face[] = [];
      if (find) {
        const data = new Uint8Array(img.width * img.height);
        for (let i = 0; i < data.length; i++) {
          const d = Math.abs(img.data[i * 3] - SKIN[0]) + Math.abs(img.data[i * 3 + 1] - SKIN[1]) + Math.abs(img.data[i * 3 + 2] - SKIN[2]);
          data[i] = d < 60 ? 255 : 0;
        }
        faces.push({ box: { x: 0, y: 0, width: 1, height: 1 }, score: 1, mask: { x: 0, y: 0, width: img.width, height: img.height, data }, keypoints: [], source: 'detector' });
      }
      return { width: img.width, height: img.height, faces, score: 1, timings: {} };
    },
    async close() {},
  };
}

describe('evalGroups', () => {
  const FEW = { scenes: 4, seed: 29 };
  it('scores a mask on the face against FASSEG truth above the chin: near 1 for the face, 0 for nothing', async () => {
    const good = await evalGroups(colourEngine(true), data, 'tune', FEW);
    const none = await evalGroups(colourEngine(false), data, 'tune', FEW);
    expect(good.length).toBeGreaterThan(0);
    // skin without eyes and mouth: most of the face, nothing else
    for (const r of good) {
      expect(r.precision).toBeGreaterThan(0.95);
      expect(r.recall).toBeGreaterThan(0.8);
    }
    expect(none.every((r) => r.iou === 0 && r.recall === 0 && r.found === 0)).toBe(true);
    const summary = summarise([], [], [], [], good);
    const row = summary['groups/1-6 people, 1080x1080-1920x1080'];
    expect(row.images).toBe(good.length);
    expect(row.faces).toBe(good.reduce((a, r) => a + r.faces, 0));
    expect(formatTable(summary)).toMatch(/group photos \(rendered, IoU above chins\)/);
  });

  it('takes only the split asked for', async () => {
    // one person per split here, with another skin colour held out: the colour engine finds only the tune person
    const tune = await evalGroups(colourEngine(true), data, 'tune', FEW);
    const held = await evalGroups(colourEngine(true), data, 'heldout', FEW);
    expect(held.length).toBe(tune.length);
    expect(tune.every((r) => r.iou > 0.7)).toBe(true);
    expect(held.every((r) => r.iou < 0.1)).toBe(true);
  });
});
