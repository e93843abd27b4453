import { describe, expect, it } from 'vitest';
import type { FassegRow, PeopleRow } from '../../backend/eval/run-eval.js';
import type { SmallFaceRow } from '../../backend/eval/small-face-eval.js';
import { formatTable, summarise } from '../../backend/eval/summary.js';

const mask = (set: string, yaw: number, found: boolean, iou: number): FassegRow => ({
  set,
  image: `${set}-${yaw}-${iou}.jpg`,
  yaw,
  found,
  falseFaces: found ? 0 : 1,
  iou,
  precision: iou,
  recall: 1,
  precisionWithNeck: iou,
  ita: 20,
  score: 0.9,
  ms: 10,
});

const people = (set: string, present: number, found: number): PeopleRow => ({
  set,
  image: `${set}.jpg`,
  present,
  found,
  predicted: found,
  unmatched: 0,
  heads: [],
  score: 0.9,
});

describe('eval summary', () => {
  it('groups mask rows per set and |yaw|, and sets dark copies against the originals', () => {
    const rows = [mask('m', 0, true, 0.8), mask('m', 30, true, 0.6), mask('m', -30, false, 0.2), mask('m dark', 0, true, 0.5), mask('m dark', 30, false, 0.1), mask('m dark', -30, false, 0)];
    const s = summarise(rows, []);
    expect(s.m).toMatchObject({ images: 3, found: 2, falseFaces: 1 });
    expect(s.m.meanIoU).toBeCloseTo((0.8 + 0.6 + 0.2) / 3);
    expect(s['m |yaw|=30']).toMatchObject({ images: 2, found: 1 });
    expect(s['m |yaw|=30'].meanIoU).toBeCloseTo(0.4);
    expect(s['m |yaw|<=60'].images).toBe(3);
    expect(s['m dark'].foundVsNormal).toBeCloseTo(1 / 2);
  });

  it('names how many people form each ITA third of a set whose files name a person', () => {
    const row = (person: string, ita: number, iou: number): FassegRow => ({ ...mask('multipose01-train', 0, true, iou), image: `multipose01_0_personne${person}146p0p0.jpg`, ita });
    // the darker third is all one person: the table says so
    const rows = [row('05', -50, 0.9), row('05', -45, 0.9), row('03', -10, 0.8), row('01', 0, 0.85), row('02', 30, 0.8), row('01', 40, 0.85)];
    const s = summarise(rows, []);
    expect(s['ita/multipose01-train IoU']).toMatchObject({ darkerPeople: 1, darkerTop: 1, middlePeople: 2, lighterPeople: 2, lighterTop: 0.5 });
    const line = formatTable(s).split('\n').find((l) => l.startsWith('multipose01-train IoU'))!;
    expect(line).toMatch(/1\/2\/2\s+100\/50\/50$/);
    // frontal02 names no person: no people columns
    const frontal = summarise([20, 10, 0, -10, -20, -30].map((ita, i) => ({ ...mask('frontal02-train', 0, true, 0.9), image: `frontal02_${i + 1}.jpg`, ita })), []);
    expect(frontal['ita/frontal02-train IoU'].darkerPeople).toBeUndefined();
    expect(formatTable(frontal).split('\n').find((l) => l.startsWith('frontal02-train IoU'))).not.toContain('/');
  });

  it('gives each person of a set whose files name one their ITA, IoU and precision on turned heads', () => {
    const row = (person: string, yaw: number, ita: number, precision: number): FassegRow => ({
      ...mask('multipose01-train', yaw, true, precision),
      image: `multipose01_${yaw}_personne${person}1${yaw}p0.jpg`,
      ita,
      precision,
    });
    const rows = [
      // person 04: ITA from the facing photos only (the profile's -90 is left out); precision falls on turned heads
      row('04', 0, -50, 0.95), row('04', 30, -54, 0.93), row('04', 90, -90, 0.6), row('04', -60, -80, 0.7),
      row('06', 15, 20, 0.96), row('06', 75, 10, 0.97),
    ];
    const dark = rows.map((r) => ({ ...r, set: 'multipose01-train dark' }));
    const s = summarise([...rows, ...dark], []);
    expect(s['person/multipose01-train 04']).toMatchObject({ images: 4, ita: -52, turned: 2 });
    expect(s['person/multipose01-train 04'].turnedPrecision).toBeCloseTo(0.65);
    expect(s['person/multipose01-train 04'].precision).toBeCloseTo((0.95 + 0.93 + 0.6 + 0.7) / 4);
    expect(s['person/multipose01-train 06']).toMatchObject({ images: 2, ita: 20, turned: 1 });
    // dark copies and sets that name no person get no rows
    expect(Object.keys(s).filter((k) => k.startsWith('person/'))).toHaveLength(2);
    const table = formatTable(s);
    expect(table.split('\n').find((l) => l.startsWith('multipose01-train 04'))).toMatch(/^multipose01-train 04\s+4\s+-52\s+0\.795\s+0\.795\s+1\s+2\s+0\.650$/);
    // not in the main table
    expect(table.split('\n').filter((l) => l.startsWith('person/'))).toHaveLength(0);
    expect(summarise([mask('frontal02-train', 0, true, 0.9)], [])).not.toHaveProperty('person/frontal02-train');
  });

  it('sets hair-colour copies against their own photos, over all yaws and on turned heads', () => {
    const photoRow = (yaw: number, precision: number, found = true): FassegRow => ({ ...mask('multipose01-train', yaw, found, precision), image: `multipose01_${yaw}_personne011${yaw}p0.jpg`, precision });
    const photos = [photoRow(0, 0.95), photoRow(60, 0.94), photoRow(90, 0.96)];
    const copies = [photoRow(0, 0.93), photoRow(60, 0.7, false), photoRow(90, 0.8)].map((r) => ({ ...r, set: 'multipose01-train hair like skin' }));
    const s = summarise(photos, [], [], copies);
    expect(s['hair/multipose01-train']).toMatchObject({ images: 3, turned: 2, photoFound: 3, found: 2 });
    expect(s['hair/multipose01-train'].turnedPrecision).toBeCloseTo(0.75);
    expect(s['hair/multipose01-train'].photoTurnedPrecision).toBeCloseTo(0.95);
    expect(s['hair/multipose01-train'].precision).toBeCloseTo((0.93 + 0.7 + 0.8) / 3);
    // the copies are not a set of the main table, and the skin-tone section ignores them
    expect(s['multipose01-train hair like skin']).toBeUndefined();
    expect(Object.keys(s).some((k) => k.startsWith('tone/'))).toBe(false);
    const line = formatTable(s).split('\n').find((l) => l.startsWith('multipose01-train') && l.includes('0.750'))!;
    expect(line).toMatch(/^multipose01-train\s+3\s+0\.950\s+0\.810\s+0\.950\s+0\.810\s+2\s+0\.950\s+0\.750\s+3\s+2$/);
  });

  it('adds the people sets per set and over all, the dark ones against the originals', () => {
    const s = summarise([], [people('coco', 4, 3), people('mhp', 2, 1), people('coco dark', 4, 1), people('mhp dark', 2, 1)]);
    expect(s['people/coco']).toEqual({ images: 1, present: 4, found: 3, unmatchedFaces: 0 });
    expect(s['people/all']).toEqual({ images: 2, present: 6, found: 4, unmatchedFaces: 0 });
    expect(s['people/all dark']).toMatchObject({ images: 2, found: 2, foundVsNormal: 0.5 });
    expect(formatTable(s)).toContain('people/all dark');
  });

  it('compares rates when each photo has several darkened draws', () => {
    const dark = (set: string, present: number, found: number, draw: number): PeopleRow => ({ ...people(`${set} dark`, present, found), draw });
    const s = summarise([], [people('coco', 4, 4), people('mhp', 2, 2), dark('coco', 4, 3, 0), dark('mhp', 2, 2, 0), dark('coco', 4, 4, 1), dark('mhp', 2, 1, 1), dark('coco', 4, 2, 2), dark('mhp', 2, 2, 2)]);
    expect(s['people/all dark']).toMatchObject({ images: 6, present: 18, found: 14 });
    expect(s['people/all dark'].foundVsNormal).toBeCloseTo(14 / 18);
  });

  it('sums the small-face scenes, their darkened copies apart and against the originals', () => {
    const scene = (i: number, found: number, dark: boolean, falseFaces = 0, behind = false): SmallFaceRow => ({ scene: i, faces: 12, found, falseFaces, ms: 100, dark, behind });
    const s = summarise([], [], [scene(0, 12, false), scene(1, 10, false, 1), scene(0, 9, true), scene(1, 2, true, 3), scene(0, 6, false, 0, true)]);
    // the crowd behind people is a row of its own, not mixed into the plain scenes
    expect(s['small/20px crowd behind 2 people']).toMatchObject({ images: 1, faces: 12, found: 6, foundRate: 0.5 });
    expect(s['small/20px faces, 1920x1080']).toMatchObject({ images: 2, faces: 24, found: 22, falsePerImage: 0.5 });
    expect(s['small/20px faces, 1920x1080 dark']).toMatchObject({ images: 2, faces: 24, found: 11, falsePerImage: 1.5 });
    expect(s['small/20px faces, 1920x1080 dark'].foundVsNormal).toBeCloseTo(0.5);
    expect(s['small/20px faces, 1920x1080'].foundVsNormal).toBeUndefined();
    const table = formatTable(s);
    expect(table).toMatch(/20px faces, 1920x1080 dark +2 +24 +11 +0\.458 +1\.50 +100 +0\.500/);
  });
});
