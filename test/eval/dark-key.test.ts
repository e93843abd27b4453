// The people set's darkened copies draw their noise from the image's path
// inside the data folder, not from how the folder was named on the command line.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { darkPrep, peopleKey } from '../../backend/eval/run-eval.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

describe('peopleKey', () => {
  it('is the same for a relative and an absolute spelling of the data folder', () => {
    const rel = path.join('..', 'shared', 'data', 'people');
    const abs = path.resolve(rel);
    expect(peopleKey(rel, path.join(rel, 'coco', '000000196141.jpg'))).toBe('people/coco/000000196141.jpg');
    expect(peopleKey(abs, path.join(abs, 'coco', '000000196141.jpg'))).toBe('people/coco/000000196141.jpg');
  });

  it('gives one darkened copy per key and another for another key', () => {
    const img: RgbImage = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(180) };
    const a = darkPrep(img, peopleKey('/x/people', '/x/people/mpii/1.jpg'));
    const b = darkPrep(img, peopleKey('../people', '../people/mpii/1.jpg'));
    const c = darkPrep(img, peopleKey('/x/people', '/x/people/mpii/2.jpg'));
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(Buffer.from(a.data).equals(Buffer.from(c.data))).toBe(false);
  });
});
