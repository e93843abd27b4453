// bench --only: which images a group filter keeps, and the error when none match.
import { describe, expect, it } from 'vitest';
import type { BenchImage } from '../../bench/images.js';
import { onlyGroups } from '../../bench/run.js';

const img = (id: string, group: string): BenchImage => ({ id, group, bytes: Buffer.alloc(0), width: 1, height: 1 });
const all = [img('a', 'fasseg (1 face, ~400x512)'), img('b', 'synth 1280x720 3f'), img('c', 'synth 1280x720 10f'), img('d', 'synth 1920x1080 3f')];

describe('bench --only', () => {
  it('keeps the groups that contain any of the given names, in order; none given keeps all', () => {
    expect(onlyGroups(all, ['1280x720 3f']).map((i) => i.id)).toEqual(['b']);
    expect(onlyGroups(all, ['1280x720', 'fasseg']).map((i) => i.id)).toEqual(['a', 'b', 'c']);
    expect(onlyGroups(all, undefined).map((i) => i.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(onlyGroups(all, []).map((i) => i.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('no match is an error that lists the groups', () => {
    expect(() => onlyGroups(all, ['640x480'])).toThrow(/no image group matches; the groups are: fasseg \(1 face, ~400x512\); synth 1280x720 3f/);
  });
});
