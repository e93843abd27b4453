// Fingerprint of what the engine answers on the bench's images: every face's
// box, score, source and mask pixels, and the Label Studio prediction built
// from them, hashed per image group and in total. Two commits that print the
// same total produce byte-identical masks and predictions on these images,
// so a speed change can be shown to change nothing else.
//
// Deterministic by construction: one engine on this thread, ONNX Runtime on
// one thread, the rendered scenes from a fixed seed, and model_version in
// the predictions replaced by a constant (it moves with ENGINE_CODE_VERSION).
// Usage: npx tsx bench/engine-hash.ts [data dir] [--verbose]
import { createHash } from 'node:crypto';
import { buildEngine, loadConfig } from '../backend/compose.js';
import { decodeImage } from '../backend/media/decode.js';
import { buildPrediction } from '../backend/labelstudio/results.js';
import { EXAMPLE_CONFIG, parseLabelConfig } from '../backend/labelstudio/label-config.js';
import type { SegmentResult } from '../backend/pipeline/types.js';
import { fixedImages, syntheticImages, type BenchImage } from './images.js';
import { defaultDataDir } from './options.js';

/** Stands in for model_version, so that a version bump alone does not change the hash. */
const FIXED_VERSION = 'engine-hash';

/** The bytes of one image's answer: faces in order, then its prediction. */
export function answerBytes(seg: SegmentResult, prediction: unknown): Buffer[] {
  const parts: Buffer[] = [];
  for (const f of seg.faces) {
    const { mask } = f;
    parts.push(Buffer.from(JSON.stringify({ box: f.box, score: f.score, source: f.source, keypoints: f.keypoints, rect: [mask.x, mask.y, mask.width, mask.height] })));
    parts.push(Buffer.from(mask.data.buffer, mask.data.byteOffset, mask.data.byteLength));
  }
  parts.push(Buffer.from(JSON.stringify({ score: seg.score, prediction })));
  return parts;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const data = defaultDataDir(args.find((a) => !a.startsWith('--')));
  process.env.ORT_THREADS = '1';
  process.env.ENGINE_WORKERS = '0';
  const images: BenchImage[] = [...(await fixedImages(data, false)), ...(await syntheticImages(data, { seed: 1, variants: 2 }))];
  const engine = await buildEngine({ config: loadConfig() });
  const cfg = parseLabelConfig(EXAMPLE_CONFIG);
  const total = createHash('sha256');
  const groups = new Map<string, { hash: ReturnType<typeof createHash>; images: number; faces: number }>();
  let faces = 0;
  try {
    for (const img of images) {
      const seg = await engine.segment(await decodeImage(img.bytes, { maxPixels: 1e8 }));
      const one = createHash('sha256');
      for (const part of answerBytes(seg, buildPrediction(seg, cfg, FIXED_VERSION))) one.update(part);
      const digest = one.digest('hex');
      total.update(`${img.id} ${digest}\n`);
      const g = groups.get(img.group) ?? { hash: createHash('sha256'), images: 0, faces: 0 };
      g.hash.update(`${img.id} ${digest}\n`);
      g.images++;
      g.faces += seg.faces.length;
      groups.set(img.group, g);
      faces += seg.faces.length;
      if (verbose) console.log(`${digest.slice(0, 12)}  ${seg.faces.length} face(s)  ${img.id}`);
    }
  } finally {
    await engine.close();
  }
  for (const [name, g] of groups) console.log(`${g.hash.digest('hex').slice(0, 16)}  ${name}: ${g.images} images, ${g.faces} faces`);
  console.log(`TOTAL ${total.digest('hex')}  (${images.length} images, ${faces} faces; ONNX Runtime on 1 thread, engine on this thread)`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
