// Engine calls one at a time, each printed as it ends with its stage times,
// then four at once: where a run's time goes when a whole bench run would
// only time out (the GPU check runs it first; it runs on the CPU too).
// Usage: npx tsx bench/one-by-one.ts [data dir] [seconds, default 90]
//   (EXECUTION_PROVIDER, ORT_THREADS as for the server; the engine is on this thread)
import { writeSync } from 'node:fs';
import { buildEngine, loadConfig } from '../backend/compose.js';
import { decodeImage } from '../backend/media/decode.js';
import type { RgbImage } from '../backend/pipeline/types.js';
import { fixedImages, syntheticImages } from './images.js';
import { defaultDataDir } from './options.js';

// written at once: a process that aborts inside a native call keeps what it printed
const say = (line: string): void => void writeSync(1, line + '\n');

async function main(): Promise<void> {
  const t0 = performance.now();
  const at = (): string => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
  const data = defaultDataDir(process.argv[2]);
  const seconds = Number(process.argv[3] ?? 90);
  if (!(seconds > 0)) throw new Error(`seconds must be a positive number, got "${process.argv[3]}"`);
  const deadline = t0 + seconds * 1000;
  const scenes = await syntheticImages(data, { seed: 1, variants: 2, sizes: [[1280, 720]], faceCounts: [3] });
  const portraits = (await fixedImages(data, true)).filter((i) => i.group.startsWith('fasseg')).slice(0, 2);
  const named = [...scenes, ...portraits];
  const images: RgbImage[] = await Promise.all(named.map((i) => decodeImage(i.bytes, { maxPixels: 1e8 })));
  const l0 = performance.now();
  const engine = await buildEngine({ config: loadConfig() });
  say(`${at()} engine on ${engine.executionProvider} loaded in ${(performance.now() - l0).toFixed(0)} ms; images: ${named.map((n, k) => `${n.id} ${images[k].width}x${images[k].height}`).join(', ')}`);
  const one = async (k: number): Promise<number> => {
    const s = performance.now();
    const seg = await engine.segment(images[k]);
    const ms = performance.now() - s;
    const stages = Object.entries(seg.timings).map(([name, v]) => `${name} ${v.toFixed(0)}`).join(' ');
    say(`${at()} ${named[k].id}: ${ms.toFixed(0)} ms, ${seg.faces.length} face(s) | ${stages}`);
    return ms;
  };
  try {
    // every image once, then the 1280x720 scenes in turn: a cost that stays is not a first-call cost
    for (let k = 0; k < images.length && performance.now() < deadline; k++) await one(k);
    const times: number[] = [];
    for (let r = 0; r < 8 && performance.now() < deadline; r++) times.push(await one(r % scenes.length));
    if (times.length > 0) {
      times.sort((a, b) => a - b);
      say(`${at()} 1280x720 x 3, one at a time: median ${times[times.length >> 1].toFixed(1)} ms over ${times.length} (${(1000 / times[times.length >> 1]).toFixed(1)} img/s on this thread)`);
    }
    for (let r = 0; r < 3 && performance.now() < deadline; r++) {
      const s = performance.now();
      await Promise.all([0, 1, 0, 1].map((k) => engine.segment(images[k % scenes.length])));
      const ms = performance.now() - s;
      say(`${at()} four at once: ${ms.toFixed(0)} ms (${(4000 / ms).toFixed(1)} img/s)`);
    }
    if (performance.now() >= deadline) say(`${at()} stopped at the ${seconds} s limit`);
  } finally {
    await engine.close();
  }
}

main().catch((e: unknown) => {
  say(`one-by-one: ${(e as Error).message}`);
  process.exitCode = 1;
});
