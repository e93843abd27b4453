// A 40x40 FASSEG-style photo for the eval's copy tests: light skin (class 1)
// in the middle, hair (2) on top, grey background (0), with its label map.
import type { RgbImage } from '../../backend/pipeline/types.js';

export const SKIN_RGB = [225, 185, 160] as const;

/** `hair(x)` colours the hair pixel in column x (default: one dark brown). */
export function labelledPhoto(hair: (x: number) => readonly number[] = () => [40, 30, 25]): { img: RgbImage; label: Uint8Array; skin: Uint8Array } {
  const w = 40;
  const img: RgbImage = { width: w, height: w, data: new Uint8Array(w * w * 3) };
  const label = new Uint8Array(w * w);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const inFace = x >= 10 && x < 30 && y >= 12 && y < 34;
      const isHair = x >= 10 && x < 30 && y >= 4 && y < 12;
      label[i] = inFace ? 1 : isHair ? 2 : 0;
      img.data.set(inFace ? SKIN_RGB : isHair ? hair(x) : [128, 128, 128], i * 3);
    }
  }
  return { img, label, skin: Uint8Array.from(label, (c) => (c === 1 ? 1 : 0)) };
}
