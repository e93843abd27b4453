import { describe, expect, it } from 'vitest';
import { formatLearnSim, splitsOf, type Item } from '../../backend/eval/learn-sim.js';
import { syntheticFace } from '../../backend/eval/synthetic-face.js';

function item(person: string, k: number): Item {
  const f = syntheticFace(k, 24);
  return {
    set: 'multipose01-train',
    image: `multipose01_p15_personne${person}1${k}.jpg`,
    person,
    yaw: (k % 3) * 45,
    width: 24,
    height: 24,
    chin: 24,
    truth: new Uint8Array(24 * 24),
    faces: [],
    example: { sample: f.sample, target: f.head, group: `i${k}` },
    before: 0.5,
  };
}

describe('learning simulation splits', () => {
  const items = ['01', '02', '03', '04'].flatMap((p, i) => Array.from({ length: 6 }, (_, k) => item(p, i * 10 + k)));

  it('by person: one fold per pair of people, K images of theirs, scored on everyone else only', () => {
    const folds = splitsOf(items, 'person', 5, 1);
    expect(folds.length).toBe(4);
    for (const f of folds) {
      const trainPeople = new Set(f.train.map((i) => i.person));
      expect(f.train.length).toBe(5);
      expect(trainPeople.size).toBeLessThanOrEqual(2);
      expect(f.test.every((i) => !trainPeople.has(i.person))).toBe(true);
      expect(f.test.length).toBe(12);
    }
  });

  it('random: K images, never more than half the set, the rest scored', () => {
    const [f] = splitsOf(items, 'random', 20, 1);
    expect(f.train.length).toBe(12);
    expect(f.test.length).toBe(12);
    expect(f.test.some((i) => f.train.includes(i))).toBe(false);
    // seeded: the same choice every run
    expect(splitsOf(items, 'random', 20, 1)[0].train.map((i) => i.image)).toEqual(f.train.map((i) => i.image));
  });

  it('prints before, after and gain per set and split', () => {
    const text = formatLearnSim({
      modelVersion: 'v',
      convention: 'head',
      k: 20,
      rows: [{ set: 'multipose01-train', split: 'person', fold: 'a', train: 20, test: 10, iouBefore: 0.5, iouAfter: 0.9, accepted: true, fit: { examples: 20, heldOut: 5, iouCurrent: 0.5, iouCandidate: 0.9, accepted: true, reason: '', trainMs: 1 }, byYaw: {} }],
    });
    expect(text).toMatch(/multipose01-train\s+person\s+1\s+20\s+10\s+0\.500\s+0\.900\s+\+0\.400\s+1\/1/);
  });
});
