// Stage costs in CPU time, which a shared machine's load moves far less than
// wall time: ONNX Runtime on one thread, each model call and port timed with
// process.cpuUsage() (onnxruntime-node runs inference on the JS thread, so the
// process's CPU time is the call's). 8 FASSEG portraits and rendered
// 1280x720 / 1920x1080 scenes with 3 and 10 faces.
// Usage: ORT_THREADS=1 npx tsx bench/cpu-profile.ts [passes, default 2]
import { loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildEngine, loadConfig } from '../backend/compose.js';
import { decodeImage } from '../backend/media/decode.js';
import { buildPrediction } from '../backend/labelstudio/results.js';
import { EXAMPLE_CONFIG, parseLabelConfig } from '../backend/labelstudio/label-config.js';
import { fixedImages, syntheticImages, type BenchImage } from './images.js';
import { defaultDataDir } from './options.js';

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function main(): Promise<void> {
  const reps = Number(process.argv[2] ?? 2);
  const data = defaultDataDir();
  const fixed = (await fixedImages(data, false)).filter((i) => i.group.startsWith('fasseg')).slice(0, 8);
  const synth = await syntheticImages(data, { seed: 1, variants: 2, sizes: [[1280, 720], [1920, 1080]], faceCounts: [3, 10] });
  const images: BenchImage[] = [...fixed, ...synth];
  const engine = await buildEngine({ config: loadConfig() });
  const cfg = parseLabelConfig(EXAMPLE_CONFIG);
  const spent: Record<string, number> = {};
  const wrapCpu = (obj: Record<string, unknown>, method: string, key: (self: unknown) => string): void => {
    const orig = obj[method] as (...a: unknown[]) => Promise<unknown>;
    obj[method] = async function (this: unknown, ...args: unknown[]) {
      const c0 = cpuMs();
      try {
        return await orig.apply(this, args);
      } finally {
        const k = key(this);
        spent[k] = (spent[k] ?? 0) + cpuMs() - c0;
      }
    };
  };
  const proto = (ort.InferenceSession as unknown as { prototype: Record<string, unknown> }).prototype;
  wrapCpu(proto, 'run', (self) => `ort:${(self as ort.InferenceSession).inputNames[0]}`);
  const ports = (engine as unknown as { ports: Record<string, Record<string, unknown>> }).ports;
  wrapCpu(ports.keypoints, 'detect', () => 'keypoints');
  // CenterFace's detect goes through detectAt (the coarse pass calls it directly): time that one only
  wrapCpu(ports.faceDetector, 'detectAt' in ports.faceDetector ? 'detectAt' : 'detect', () => 'detector');
  wrapCpu(ports.faceLandmarks, 'run', () => 'landmarks');
  const groups = new Map<string, { n: number; cpu: number; wall: number; faces: number; stages: Record<string, number> }>();
  for (const img of images.slice(0, 3)) await engine.segment(await decodeImage(img.bytes, { maxPixels: 1e8 }));
  for (let r = 0; r < reps; r++) {
    for (const img of images) {
      const c0 = cpuMs();
      const w0 = performance.now();
      const d = await decodeImage(img.bytes, { maxPixels: 1e8 });
      const c1 = cpuMs();
      for (const k of Object.keys(spent)) delete spent[k];
      const seg = await engine.segment(d);
      const c2 = cpuMs();
      buildPrediction(seg, cfg, engine.modelVersion);
      const c3 = cpuMs();
      const g = groups.get(img.group) ?? { n: 0, cpu: 0, wall: 0, faces: 0, stages: {} };
      g.n++;
      g.cpu += c3 - c0;
      g.wall += performance.now() - w0;
      g.faces += seg.faces.length;
      const add = (k: string, v: number): void => void (g.stages[k] = (g.stages[k] ?? 0) + v);
      add('decode', c1 - c0);
      add('engine', c2 - c1);
      add('rle', c3 - c2);
      for (const [k, v] of Object.entries(spent)) add(k, v);
      groups.set(img.group, g);
    }
  }
  console.log(`load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}  ORT_THREADS=${process.env.ORT_THREADS ?? '(all cores)'}  (CPU ms per image; ort:<input> = inference of that model)`);
  for (const [name, g] of groups) {
    const st = Object.entries(g.stages).map(([k, v]) => `${k} ${(v / g.n).toFixed(0)}`).join('  ');
    console.log(`${name.padEnd(28)} n=${g.n} faces ${(g.faces / g.n).toFixed(1)} cpu ${(g.cpu / g.n).toFixed(0)} ms wall ${(g.wall / g.n).toFixed(0)} ms | ${st}`);
  }
  await engine.close();
}

await main();
