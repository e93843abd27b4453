// Hair the colour of skin: FASSEG photos with the labelled hair recoloured
// to the face's own chroma at a share of its luminance, strand by strand
// (each pixel keeps its brightness relative to the hair's mean, so texture
// and highlights stay). Brown hair close to the skin's colour is where the
// colour refinement lets hair into the mask (a held-out person with light
// brown hair and stubble leaks at yaw 60-90); the tune photos have dark or
// black hair, so without these copies the tune split cannot see that
// failure. Pure.
import type { RgbImage } from '../pipeline/types.js';
import { linearToSrgb8 } from './darken.js';
import { SRGB_TO_LINEAR } from './ita.js';

/** FASSEG classes: 1 skin, 2 hair (with brows). */
const SKIN = 1;
const HAIR = 2;

/**
 * The hair's mean luminance as a share of the skin's mean colour, in linear
 * light: 0.55 is a light-to-mid brown next to the skin (the copies that make
 * tune photos leak as that held-out person does).
 */
export const HAIR_SHARE = 0.55;

/** The eval's name for a set's copies: "<set> hair like skin". */
export const HAIR_SET_SUFFIX = 'hair like skin';

const luminance = (d: Uint8Array, o: number): number => 0.2126 * SRGB_TO_LINEAR[d[o]] + 0.7152 * SRGB_TO_LINEAR[d[o + 1]] + 0.0722 * SRGB_TO_LINEAR[d[o + 2]];

/**
 * `img` with every hair pixel set to skin colour x share x (its luminance /
 * the hair's mean luminance), in linear light; other pixels unchanged. The
 * photo itself when it has no labelled skin or no hair.
 */
export function hairLikeSkin(img: RgbImage, label: Uint8Array, share = HAIR_SHARE): RgbImage {
  const n = img.width * img.height;
  const d = img.data;
  const skin = [0, 0, 0];
  let skinCount = 0;
  let hairSum = 0;
  let hairCount = 0;
  for (let i = 0; i < n; i++) {
    if (label[i] === SKIN) {
      for (let c = 0; c < 3; c++) skin[c] += SRGB_TO_LINEAR[d[i * 3 + c]];
      skinCount++;
    } else if (label[i] === HAIR) {
      hairSum += luminance(d, i * 3);
      hairCount++;
    }
  }
  if (skinCount === 0 || hairCount === 0 || !(hairSum > 0)) return img;
  const hairMean = hairSum / hairCount;
  const base = skin.map((v) => (v / skinCount) * share);
  const out = Uint8Array.from(d);
  for (let i = 0; i < n; i++) {
    if (label[i] !== HAIR) continue;
    const t = luminance(d, i * 3) / hairMean;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = linearToSrgb8(base[c] * t);
  }
  return { width: img.width, height: img.height, data: out };
}
