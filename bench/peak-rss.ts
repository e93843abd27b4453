// Peak RSS of one large image through the real engine: decode, segment, RLE.
// For sizing the pod's memory limit against DECODED_IMAGE_BUDGET_BYTES.
//   node --expose-gc --import tsx bench/peak-rss.ts [megapixels=100]
import sharp from 'sharp';
import { buildEngine, loadConfig } from '../backend/compose.js';
import { EXAMPLE_CONFIG, parseLabelConfig } from '../backend/labelstudio/label-config.js';
import { buildPrediction } from '../backend/labelstudio/results.js';
import { decodeImage } from '../backend/media/decode.js';

const mp = Number(process.argv[2] ?? 100);
// a multiple of the 1000-pixel tile
const side = Math.max(1, Math.round(Math.sqrt(mp * 1e6) / 1000)) * 1000;
const config = loadConfig({ ...process.env, RUNNING_IN_DOCKER: 'false' });
const engine = await buildEngine({ config });
// the test photo tiled up to side x side: faces to find, texture to compress
const tile = await sharp(new URL('../test/fixtures/astronaut.png', import.meta.url).pathname).resize(1000, 1000).raw().toBuffer();
const n = side / 1000;
const img = await sharp(tile, { raw: { width: 1000, height: 1000, channels: 3 } })
  .extend({ right: (n - 1) * 1000, bottom: (n - 1) * 1000, extendWith: 'repeat' })
  .jpeg({ quality: 85 })
  .toBuffer();
sharp.cache(false);
global.gc?.();
const base = process.memoryUsage().rss;
let peak = base;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
const t0 = performance.now();
const decoded = await decodeImage(img, { maxPixels: side * side, timeoutMs: 600_000 });
const afterDecode = peak;
const seg = await engine.segment(decoded);
buildPrediction(seg, parseLabelConfig(EXAMPLE_CONFIG), engine.modelVersion);
clearInterval(sampler);
const mb = (b: number) => Math.round(b / 1024 ** 2);
console.log(
  JSON.stringify({ megapixels: mp, side, decodedMB: mb(side * side * 3), baseRssMB: mb(base), peakDecodeGrowthMB: mb(afterDecode - base), peakGrowthMB: mb(peak - base), faces: seg.faces.length, seconds: Math.round((performance.now() - t0) / 100) / 10 }),
);
await engine.close();
