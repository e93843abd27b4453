import { describe, expect, it } from 'vitest';
import { parseLabelConfig } from '../../backend/labelstudio/label-config.js';
import { ImageDecodeError } from '../../backend/media/decode.js';
import { ImageFetchError } from '../../backend/media/image-source.js';
import { batchImageLoader, imageRef, type TaskImageReader } from '../../backend/model/task-images.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { ByteBudget } from '../../backend/http/byte-budget.js';
import { BRUSH_XML } from '../http/helpers.js';

const cfg = parseLabelConfig(BRUSH_XML);
const key = cfg.image.dataKey;
const task = (id: number, ref: unknown) => ({ id, data: { [key]: ref } });
const tick = () => new Promise((r) => setTimeout(r, 5));

/** A reader whose fetches finish when the test says, with bytes that name the image (its width). */
function reader(budget = new ByteBudget(1e9)) {
  const fetches = new Map<string, (b: Buffer) => void>();
  const decoded: string[] = [];
  const stages: [string, number][] = [];
  const r: TaskImageReader = {
    source: { fetch: (ref) => new Promise<Buffer>((resolve) => fetches.set(ref, resolve)) },
    async decode(bytes) {
      const name = bytes.toString();
      if (name === 'bad') throw new ImageDecodeError('corrupt', 'not an image');
      decoded.push(name);
      return { width: name.length, height: 1, data: new Uint8Array(name.length * 3) } as RgbImage;
    },
    measure: async (bytes) => bytes.length * 100,
    budget,
    observe: (stage, ms) => void stages.push([stage, ms]),
  };
  return { r, fetches, decoded, stages, budget };
}

describe('task images', () => {
  it('imageRef names the data key the label config expects when the task has no image', () => {
    expect(imageRef(task(1, 'http://x/a.jpg'), cfg)).toBe('http://x/a.jpg');
    for (const bad of [undefined, '', '  ', 42]) {
      expect(() => imageRef(task(1, bad), cfg)).toThrow(expect.objectContaining({ reason: 'missing_image_field', message: expect.stringContaining(`data.${key}`) }));
    }
  });

  it('decodes in task order even when a later fetch finishes first, each holding its share of the budget', async () => {
    const { r, fetches, decoded, stages, budget } = reader();
    const load = batchImageLoader(r, new AbortController().signal);
    const first = load(task(1, 'a'), cfg);
    const second = load(task(2, 'b'), cfg);
    await tick();
    fetches.get('b')!(Buffer.from('bb'));
    await tick();
    expect(decoded).toEqual([]);
    fetches.get('a')!(Buffer.from('a'));
    const [one, two] = await Promise.all([first, second]);
    expect(decoded).toEqual(['a', 'bb']);
    expect([one.image?.width, two.image?.width]).toEqual([1, 2]);
    expect(budget.inUse).toBe(300);
    expect(stages.filter(([s]) => s === 'fetch')).toHaveLength(2);
    expect(Object.keys(one.ms).sort()).toEqual(['decode', 'fetch']);
    // one timing per stage: what the log line shows is what the metrics saw
    expect(stages).toContainEqual(['fetch', one.ms.fetch]);
    expect(stages).toContainEqual(['decode', two.ms.decode]);
    one.release!();
    two.release!();
    expect(budget.inUse).toBe(0);
  });

  it('fetch and decode errors become task errors by code; a failed decode gives its budget back', async () => {
    const { r, budget } = reader();
    r.source = { fetch: async (ref) => (ref === 'gone' ? Promise.reject(new ImageFetchError('not_found', '404')) : Buffer.from(ref)) };
    const load = batchImageLoader(r, new AbortController().signal);
    const [missing, notFound, corrupt, ok] = await Promise.all([load(task(1, ''), cfg), load(task(2, 'gone'), cfg), load(task(3, 'bad'), cfg), load(task(4, 'ok'), cfg)]);
    expect([missing.error?.reason, notFound.error?.reason, corrupt.error?.reason, ok.error]).toEqual(['missing_image_field', 'not_found', 'decode_corrupt', undefined]);
    expect(budget.inUse).toBe(200);
  });

  it('an abort while waiting for budget fails the task without decoding it', async () => {
    const { r, decoded, budget } = reader(new ByteBudget(100));
    r.source = { fetch: async (ref) => Buffer.from(ref) };
    const hold = await budget.acquire(100);
    const abort = new AbortController();
    const pending = batchImageLoader(r, abort.signal)(task(1, 'a'), cfg);
    await tick();
    abort.abort(new Error('client went away'));
    const out = await pending;
    expect(out.error).toMatchObject({ reason: 'image', message: 'client went away' });
    expect(decoded).toEqual([]);
    hold();
    expect(budget.inUse).toBe(0);
  });
});
