import { describe, expect, it } from 'vitest';
import { cropResize, letterbox, packFloatTensor, resizeRgb, toFloatTensorData, toInt32Nhwc } from '../../backend/pipeline/image-ops.js';
import type { RgbImage } from '../../backend/pipeline/types.js';

function img(w: number, h: number, f: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 3);
  return { width: w, height: h, data };
}
const px = (im: RgbImage, x: number, y: number) => Array.from(im.data.subarray((y * im.width + x) * 3, (y * im.width + x) * 3 + 3));

describe('cropResize', () => {
  it('is the identity for the full box at the same size', () => {
    const a = img(7, 5, (x, y) => [x * 30, y * 40, (x + y) * 10]);
    const b = cropResize(a, { x: 0, y: 0, width: 7, height: 5 }, 7, 5);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('reads 0 outside the image and the image inside', () => {
    const a = img(4, 4, () => [200, 100, 50]);
    const b = cropResize(a, { x: -4, y: 0, width: 8, height: 4 }, 8, 4);
    expect(px(b, 0, 0)).toEqual([0, 0, 0]);
    expect(px(b, 3, 2)).toEqual([0, 0, 0]);
    expect(px(b, 4, 2)).toEqual([200, 100, 50]);
    expect(px(b, 7, 3)).toEqual([200, 100, 50]);
  });

  it('interpolates bilinearly on upscaling', () => {
    const a = img(2, 1, (x) => [x * 200, 0, 0]);
    const b = cropResize(a, { x: 0, y: 0, width: 2, height: 1 }, 4, 1);
    // sample centres at 0.25, 0.75, 1.25, 1.75 -> clamp, 0.25*200, 0.75*200, clamp
    expect(Array.from(b.data.filter((_, i) => i % 3 === 0))).toEqual([0, 50, 150, 200]);
  });

  it('crops a sub-region with sub-pixel offset', () => {
    const a = img(10, 10, (x, y) => [x * 20, y * 20, 0]);
    const b = cropResize(a, { x: 2, y: 3, width: 4, height: 4 }, 4, 4);
    expect(px(b, 0, 0)).toEqual([40, 60, 0]);
    expect(px(b, 3, 3)).toEqual([100, 120, 0]);
  });

  it('averages when shrinking (no aliasing of a checkerboard)', () => {
    const a = img(64, 64, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0]));
    const b = resizeRgb(a, 8, 8);
    for (const v of b.data) expect(Math.abs(v - 128)).toBeLessThan(10);
  });

  it('keeps geometry when shrinking a lot (block-average path), zeros outside', () => {
    // bright 40x40 square at (200..240, 120..160) in a 1000x600 image
    const a = img(1000, 600, (x, y) => (x >= 200 && x < 240 && y >= 120 && y < 160 ? [255, 255, 255] : [0, 0, 0]));
    // crop (-100, 0, 800x800) -> 100x100: 8 px per output pixel; square -> (37.5..42.5, 15..20)
    const b = cropResize(a, { x: -100, y: 0, width: 800, height: 800 }, 100, 100);
    let sx = 0;
    let sy = 0;
    let sw = 0;
    for (let y = 0; y < 100; y++) for (let x = 0; x < 100; x++) {
      const v = b.data[(y * 100 + x) * 3];
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
      sw += v;
    }
    expect(sx / sw).toBeCloseTo(40, 1);
    expect(sy / sw).toBeCloseTo(17.5, 1);
    expect(sw / 255).toBeCloseTo(25, 0); // area preserved: 5 x 5 output pixels
    // rows below the image (y >= 600 -> output rows >= 75) are black
    const c = cropResize(img(1000, 600, () => [90, 90, 90]), { x: -100, y: 0, width: 800, height: 800 }, 100, 100);
    expect(px(c, 50, 70)).toEqual([90, 90, 90]);
    expect(px(c, 50, 80)).toEqual([0, 0, 0]);
    expect(px(c, 5, 50)).toEqual([0, 0, 0]);
  });

  it('rejects bad sizes', () => {
    const a = img(2, 2, () => [0, 0, 0]);
    expect(() => cropResize(a, { x: 0, y: 0, width: 2, height: 2 }, 0, 2)).toThrow(RangeError);
    expect(() => cropResize(a, { x: 0, y: 0, width: 0, height: 2 }, 2, 2)).toThrow(RangeError);
  });
});

describe('letterbox', () => {
  it('scales the longest side and pads to a multiple', () => {
    const a = img(200, 100, () => [10, 20, 30]);
    const lb = letterbox(a, 256, 32);
    expect(lb.contentW).toBe(256);
    expect(lb.contentH).toBe(128);
    expect(lb.image.width).toBe(256);
    expect(lb.image.height).toBe(128);
    expect(lb.scaleX).toBeCloseTo(1.28);
    const b = img(100, 150, () => [10, 20, 30]);
    const lb2 = letterbox(b, 256, 32);
    expect([lb2.contentW, lb2.contentH, lb2.image.width, lb2.image.height]).toEqual([171, 256, 192, 256]);
    expect(px(lb2.image, 170, 10)).toEqual([10, 20, 30]);
    expect(px(lb2.image, 171, 10)).toEqual([0, 0, 0]);
  });
});

describe('letterbox onto a square canvas', () => {
  it('the same letterbox with more black right and below: content rows unchanged, scale kept', () => {
    const img: RgbImage = { width: 5, height: 2, data: Uint8Array.from({ length: 30 }, (_, i) => i + 1) };
    const lb = letterbox(img, 6, 2);
    const sq = letterbox(img, 6, 2, true);
    expect([lb.image.width, lb.image.height]).toEqual([6, 2]);
    expect([sq.image.width, sq.image.height, sq.scaleX, sq.scaleY, sq.contentW, sq.contentH]).toEqual([6, 6, lb.scaleX, lb.scaleY, lb.contentW, lb.contentH]);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++) {
        for (let c = 0; c < 3; c++) {
          const want = y < 2 ? lb.image.data[(y * 6 + x) * 3 + c] : 0;
          expect(sq.image.data[(y * 6 + x) * 3 + c]).toBe(want);
        }
      }
    }
    // the side rounds up to the multiple, whatever the image's shape
    expect([letterbox(img, 7, 4, true).image.width, letterbox(img, 7, 4, true).image.height]).toEqual([8, 8]);
    expect(letterbox({ width: 2, height: 5, data: img.data }, 6, 2, true).image.width).toBe(6);
  });
});

describe('tensor packing', () => {
  const a = img(2, 1, (x) => (x === 0 ? [10, 20, 30] : [40, 50, 60]));

  it('NHWC RGB with scale', () => {
    expect(Array.from(toFloatTensorData(a, { layout: 'NHWC', channelOrder: 'RGB', scale: 0.5 }))).toEqual([5, 10, 15, 20, 25, 30]);
  });

  it('NCHW BGR with mean and std in tensor channel order', () => {
    const t = toFloatTensorData(a, { layout: 'NCHW', channelOrder: 'BGR', mean: [1, 2, 3], std: [1, 2, 4] });
    // B plane: (30-1), (60-1); G plane: (20-2)/2, (50-2)/2; R plane: (10-3)/4, (40-3)/4
    expect(Array.from(t)).toEqual([29, 59, 9, 24, 1.75, 9.25]);
  });

  it('packs a batch and rejects mixed sizes', () => {
    const t = packFloatTensor([a, a], { layout: 'NHWC', channelOrder: 'RGB' });
    expect(t.length).toBe(12);
    expect(t[6]).toBe(10);
    expect(() => packFloatTensor([a, img(1, 1, () => [0, 0, 0])], { layout: 'NHWC', channelOrder: 'RGB' })).toThrow();
  });

  it('NCHW raw values (no scale, mean or std): each image of a batch in its own three planes, BGR swapped', () => {
    const b = img(2, 1, (x) => (x === 0 ? [1, 2, 3] : [4, 5, 255]));
    expect(Array.from(packFloatTensor([a, b], { layout: 'NCHW', channelOrder: 'RGB' }))).toEqual([10, 40, 20, 50, 30, 60, 1, 4, 2, 5, 3, 255]);
    expect(Array.from(packFloatTensor([a, b], { layout: 'NCHW', channelOrder: 'BGR' }))).toEqual([30, 60, 20, 50, 10, 40, 3, 255, 2, 5, 1, 4]);
    // a mean of -0 is still raw; +0 out, never -0
    const t = packFloatTensor([img(1, 1, () => [0, 0, 0])], { layout: 'NCHW', channelOrder: 'RGB', mean: [-0, -0, -0] });
    expect(Array.from(t).map((v) => Object.is(v, 0))).toEqual([true, true, true]);
  });

  it('into a caller buffer at a batch offset, NCHW with scale', () => {
    const out = new Float32Array(12).fill(-1);
    packFloatTensor([a, a], { layout: 'NCHW', channelOrder: 'RGB', scale: 0.5 }, out);
    expect(Array.from(out)).toEqual([5, 20, 10, 25, 15, 30, 5, 20, 10, 25, 15, 30]);
  });

  it('int32 NHWC', () => {
    expect(Array.from(toInt32Nhwc(a))).toEqual([10, 20, 30, 40, 50, 60]);
  });
});
