// Interactive clicks on real photos, in process: (1) clicks away from every
// face the automatic pass found on the people photos (each answer is a false
// face), (2) clicks on heads the automatic pass misses: the fixture and
// FASSEG multipose01 heads at yaw 90 / 60 / 45 / 0, pasted 40, 70 and 120 px
// wide on a plain 1200x750 canvas. Prints both counts and the load average.
// Usage: npx tsx bench/click-probe.ts [data dir, default ../shared/data]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { buildEngine, loadConfig } from '../backend/compose.js';
import type { FassegEntry } from '../backend/eval/scenes.js';
import { readLabelMap } from '../backend/io/image-files.js';
import { decodeImage } from '../backend/media/decode.js';
import type { SegmentOptions } from '../backend/pipeline/types.js';
import { seededRandom } from '../backend/util/random.js';
import { defaultDataDir, repoRoot } from './options.js';

const click = (x: number, y: number): SegmentOptions => ({ hints: [{ kind: 'point', point: { x, y }, positive: true }] });

/** Centre of the eyes, nose and mouth classes (3-5) of a FASSEG label map, as a share of its size. */
async function featureCentre(label: string): Promise<[number, number]> {
  const { width, height, data } = await readLabelMap(label);
  let sx = 0, sy = 0, n = 0;
  for (let i = 0; i < width * height; i++) {
    if (data[i] >= 3 && data[i] <= 5) [sx, sy, n] = [sx + (i % width), sy + Math.floor(i / width), n + 1];
  }
  return [sx / n / width, sy / n / height];
}

async function main(): Promise<void> {
  const data = defaultDataDir(process.argv[2]);
  if (!existsSync(path.join(data, 'people'))) throw new Error(`no people/ folder in ${data}: give the data folder (../shared/data)`);
  console.log(`load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const engine = await buildEngine({ config: loadConfig() });

  let falseFaces = 0, awayClicks = 0;
  for (const sub of ['coco', 'aic', 'mpii', 'mhp']) {
    const dir = path.join(data, 'people', sub);
    for (const f of readdirSync(dir).filter((x) => /\.(jpg|png)$/i.test(x)).sort()) {
      const img = await decodeImage(readFileSync(path.join(dir, f)), { maxPixels: 1e8 });
      const auto = await engine.segment(img);
      const rnd = seededRandom(7);
      for (let k = 0; k < 6; k++) {
        const x = rnd() * img.width, y = rnd() * img.height;
        // away from faces: outside every found face's box grown to three times its size
        if (auto.faces.some((q) => Math.abs(x - q.box.x - q.box.width / 2) < 1.5 * q.box.width && Math.abs(y - q.box.y - q.box.height / 2) < 1.5 * q.box.height)) continue;
        awayClicks++;
        const r = await engine.segment(img, click(x, y));
        if (r.faces.length) {
          falseFaces++;
          console.log(`  false face: ${sub}/${f} click (${Math.round(x)}, ${Math.round(y)}), score ${r.faces[0].score.toFixed(2)}`);
        }
      }
    }
  }
  console.log(`clicks away from faces: ${falseFaces} of ${awayClicks} returned a (false) face`);

  const heads: [string, number, number][] = [[path.join(repoRoot(), 'test/fixtures/astronaut.png'), 225 / 512, 140 / 512]];
  const mp = path.join(data, 'fasseg/multipose01-train');
  const index = JSON.parse(readFileSync(path.join(mp, 'index.json'), 'utf8')) as FassegEntry[];
  for (const yaw of ['+90', '-90', '+60', '-45', '+0']) {
    for (const it of index.filter((i) => i.yaw === yaw).slice(0, 3)) heads.push([path.join(mp, it.image), ...(await featureCentre(path.join(mp, it.label)))]);
  }
  let found = 0, missed = 0;
  for (const [file, fx, fy] of heads) {
    const meta = await sharp(file).metadata();
    for (const w of [40, 70, 120]) {
      const h = Math.round((w * meta.height!) / meta.width!);
      const head = await sharp(file).resize(w, h).png().toBuffer();
      const png = await sharp({ create: { width: 1200, height: 750, channels: 3, background: { r: 172, g: 168, b: 160 } } }).composite([{ input: head, left: 900, top: 90 }]).png().toBuffer();
      const img = await decodeImage(png, { maxPixels: 1e8 });
      if ((await engine.segment(img)).faces.length) continue;
      missed++;
      const r = await engine.segment(img, click(900 + fx * w, 90 + fy * h));
      if (r.faces.length) found++;
      else console.log(`  not found at the click: ${path.basename(file)} at ${w} px`);
    }
  }
  console.log(`heads the automatic pass missed: ${found} of ${missed} found by a click on the face`);
  await engine.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
