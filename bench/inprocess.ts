// In-process benchmark: bytes -> decode -> engine.segment -> Label Studio
// brush RLE, one image at a time, timing every stage. With `profile`, ONNX
// Runtime's InferenceSession.run is wrapped too, so each engine stage splits
// into model inference and the JavaScript around it (resize, warp, masks).
import * as ort from 'onnxruntime-node';
import { parseLabelConfig, EXAMPLE_CONFIG } from '../backend/labelstudio/label-config.js';
import { buildPrediction } from '../backend/labelstudio/results.js';
import { decodeImage } from '../backend/media/decode.js';
import { FACE_STAGES } from '../backend/pipeline/face-stages.js';
import type { FaceEngine } from '../backend/pipeline/types.js';
import { headsFound, type BenchImage } from './images.js';
import { mean, Phase, summarise, type LatencySummary } from './stats.js';

/**
 * Stages in table order. `other` = engine time outside its named stages
 * (fusion, scoring, dedupe; with engine workers, the messages to and from
 * the worker too). `wait`: with engine workers, an image's wait for a free
 * one (the image taken ahead, as the server's work queue holds it).
 */
export const STAGES = ['decode', 'keypoints', 'detector', ...FACE_STAGES, 'paste', 'rle', 'other', 'wait'] as const;

export interface Sample {
  id: string;
  group: string;
  width: number;
  height: number;
  faces: number;
  /** Synthetic scenes: pasted heads that got a face. */
  headsPlaced?: number;
  headsFound?: number;
  totalMs: number;
  stages: Record<string, number>;
  /** Profile only: ONNX Runtime run() time inside each stage, and session calls. */
  inferMs?: Record<string, number>;
  inferCalls?: number;
}

export interface GroupStats {
  group: string;
  images: number;
  samples: number;
  imagesPerSec: number;
  latency: LatencySummary;
  stagesMean: Record<string, number>;
  inferMean?: Record<string, number>;
  facesMean: number;
  headsPlaced?: number;
  headsFound?: number;
}

export interface InProcessResult {
  samples: Sample[];
  wallMs: number;
  cpuMs: number;
  peakRssBytes: number;
  imagesPerSec: number;
  latency: LatencySummary;
  stagesMean: Record<string, number>;
  groups: GroupStats[];
}

/** Which engine stage is running, so that wrapped session runs can be attributed. */
interface ProfileHook {
  stage: string;
  infer: Record<string, number>;
  calls: number;
  restore(): void;
}

/**
 * Wrap InferenceSession.prototype.run and the engine's ports (a private
 * field, read at run time: bench-only instrumentation, no engine change).
 */
function installProfile(engine: FaceEngine): ProfileHook {
  const hook: ProfileHook = { stage: 'other', infer: {}, calls: 0, restore: () => undefined };
  const proto = (ort.InferenceSession as unknown as { prototype: { run: (...a: unknown[]) => Promise<unknown> } }).prototype;
  const origRun = proto.run;
  proto.run = async function (this: unknown, ...args: unknown[]) {
    const stage = hook.stage;
    const t0 = performance.now();
    try {
      return await origRun.apply(this, args);
    } finally {
      hook.infer[stage] = (hook.infer[stage] ?? 0) + performance.now() - t0;
      hook.calls++;
    }
  };
  const ports = (engine as unknown as { ports?: Record<string, object | undefined> }).ports;
  const restores: (() => void)[] = [() => (proto.run = origRun)];
  const wrap = (role: string, method: string, stage: string): void => {
    const port = ports?.[role] as Record<string, unknown> | undefined;
    const orig = port?.[method];
    if (!port || typeof orig !== 'function') return;
    port[method] = async (...args: unknown[]) => {
      const prev = hook.stage;
      hook.stage = stage;
      try {
        return await (orig as (...a: unknown[]) => Promise<unknown>).apply(port, args);
      } finally {
        hook.stage = prev;
      }
    };
    restores.push(() => {
      port[method] = orig;
    });
  };
  wrap('keypoints', 'detect', 'keypoints');
  wrap('faceDetector', 'detect', 'detector');
  wrap('faceLandmarks', 'run', 'face');
  wrap('faceSegmenter', 'run', 'face');
  hook.restore = () => restores.forEach((f) => f());
  return hook;
}

/** An image's decode, timed: run ahead of the engine in parallel runs (see runParallel). */
interface Decoded {
  image: Awaited<ReturnType<typeof decodeImage>>;
  ms: number;
  /** performance.now() when it ended. */
  end: number;
}

async function decodeTimed(img: BenchImage): Promise<Decoded> {
  const t0 = performance.now();
  const image = await decodeImage(img.bytes, { maxPixels: 100_000_000 });
  const end = performance.now();
  return { image, ms: end - t0, end };
}

/** Runs one engine call when a turn is free (the server's work queue). */
type Turn = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * One image: decode, segment, RLE. `decoded`: its decode, already started
 * (read ahead); the sample's decode stage is then that decode's own time and
 * its latency that time plus the rest from when the image was taken (or its
 * decode ended, if later).
 */
export async function processOne(engine: FaceEngine, img: BenchImage, hook?: ProfileHook, decoded?: Promise<Decoded>, turn?: Turn): Promise<Sample> {
  const cfg = parseLabelConfig(EXAMPLE_CONFIG);
  if (hook) {
    hook.infer = {};
    hook.calls = 0;
  }
  const t0 = performance.now();
  const d = await (decoded ?? decodeTimed(img));
  const tDecoded = performance.now();
  let t1 = tDecoded;
  const segment = () => {
    t1 = performance.now();
    return engine.segment(d.image);
  };
  const seg = await (turn ? turn(segment) : segment());
  const t2 = performance.now();
  buildPrediction(seg, cfg, engine.modelVersion);
  const t3 = performance.now();
  const named = Object.values(seg.timings).reduce((a, b) => a + b, 0);
  const stages: Record<string, number> = { decode: d.ms, ...seg.timings, rle: t3 - t2, other: Math.max(0, t2 - t1 - named) };
  if (turn) stages.wait = t1 - tDecoded;
  return {
    id: img.id,
    group: img.group,
    width: d.image.width,
    height: d.image.height,
    faces: seg.faces.length,
    headsPlaced: img.synth?.heads.length,
    headsFound: img.synth ? headsFound(img.synth.heads, seg.faces.map((f) => f.box)) : undefined,
    // read ahead: the decode's own time, then from when the image was taken or decoded, whichever is later (no part counted twice)
    totalMs: decoded ? d.ms + t3 - Math.max(t0, d.end) : t3 - t0,
    stages,
    inferMs: hook ? { ...hook.infer } : undefined,
    inferCalls: hook?.calls,
  };
}

/** `wallMs`: each group's own wall time, when its images ran several at once (else the sum of their latencies). */
export function groupStats(samples: readonly Sample[], order?: readonly string[], wallMs?: ReadonlyMap<string, number>): GroupStats[] {
  const names = [...new Set(samples.map((s) => s.group))];
  if (order) names.sort((a, b) => (order.indexOf(a) + 1 || 1e9) - (order.indexOf(b) + 1 || 1e9));
  return names.map((group) => {
    const ss = samples.filter((s) => s.group === group);
    const stageNames = [...new Set(ss.flatMap((s) => Object.keys(s.stages)))];
    const inferNames = [...new Set(ss.flatMap((s) => Object.keys(s.inferMs ?? {})))];
    const synth = ss.filter((s) => s.headsPlaced !== undefined);
    const totalMs = wallMs?.get(group) ?? ss.reduce((a, s) => a + s.totalMs, 0);
    return {
      group,
      images: new Set(ss.map((s) => s.id)).size,
      samples: ss.length,
      // images per second of this group's own time
      imagesPerSec: totalMs > 0 ? (1000 * ss.length) / totalMs : NaN,
      latency: summarise(ss.map((s) => s.totalMs)),
      stagesMean: Object.fromEntries(stageNames.map((k) => [k, mean(ss.map((s) => s.stages[k] ?? 0))])),
      inferMean: inferNames.length ? Object.fromEntries(inferNames.map((k) => [k, mean(ss.map((s) => s.inferMs?.[k] ?? 0))])) : undefined,
      facesMean: mean(ss.map((s) => s.faces)),
      headsPlaced: synth.length ? synth.reduce((a, s) => a + (s.headsPlaced ?? 0), 0) : undefined,
      headsFound: synth.length ? synth.reduce((a, s) => a + (s.headsFound ?? 0), 0) : undefined,
    };
  });
}

export interface InProcessOptions {
  iterations: number;
  /** Warm-up passes over a few images (not counted). */
  warmup: number;
  /** Then one untimed pass over every image: each new input shape and code path meets its first-use cost there. */
  warmPass?: boolean;
  profile: boolean;
  /** Images in flight at once (an engine worker pool's size); 1 = one at a time. */
  parallel?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function runInProcess(engine: FaceEngine, images: readonly BenchImage[], opts: InProcessOptions): Promise<InProcessResult> {
  if ((opts.parallel ?? 1) > 1) return runParallel(engine, images, opts, opts.parallel!);
  const hook = opts.profile ? installProfile(engine) : undefined;
  try {
    // warm-up: one image of each group, `warmup` times (first runs allocate arenas, JIT)
    const firstOfGroup = [...new Map(images.map((i) => [i.group, i])).values()];
    for (let w = 0; w < opts.warmup; w++) for (const img of firstOfGroup) await processOne(engine, img, hook);
    if (opts.warmPass) for (const img of images) await processOne(engine, img, hook);
    const samples: Sample[] = [];
    const total = images.length * opts.iterations;
    const phase = new Phase();
    // round-robin over the set, so that machine noise spreads over all groups
    for (let it = 0; it < opts.iterations; it++) {
      for (const img of images) {
        samples.push(await processOne(engine, img, hook));
        opts.onProgress?.(samples.length, total);
      }
    }
    return runResult(samples, phase.end(), groupStats(samples, [...new Set(images.map((i) => i.group))]));
  } finally {
    hook?.restore();
  }
}

/** Images decoded ahead of the one taken, as the server's /predict reads task images ahead (app.ts prefetch). */
export const PREFETCH = 2;
/** Images taken beyond the workers, waiting for one (the server's BatchOptions.ahead with an engine pool). */
export const AHEAD = 1;

/**
 * Several images in flight (an engine worker pool), as the server's /predict
 * runs a batch (predict-tasks.ts): `parallel` + AHEAD lanes, each taking the
 * next image, its decode started PREFETCH images ahead, so that a worker that
 * finishes finds the next image decoded and waiting while the main thread
 * builds the finished one's RLE. Group by group, so that every group has its
 * own wall time and images/s means throughput with every worker busy.
 * Latency counts an image's decode plus its wait for a worker (stage `wait`).
 */
async function runParallel(engine: FaceEngine, images: readonly BenchImage[], opts: InProcessOptions, parallel: number): Promise<InProcessResult> {
  const order = [...new Set(images.map((i) => i.group))];
  const firstOfGroup = [...new Map(images.map((i) => [i.group, i])).values()];
  const lanes = parallel + AHEAD;
  for (let w = 0; w < opts.warmup; w++) await runAhead(engine, firstOfGroup.flatMap((img) => Array<BenchImage>(lanes).fill(img)), lanes);
  if (opts.warmPass) await runAhead(engine, images, lanes);
  const samples: Sample[] = [];
  const wall = new Map<string, number>();
  const total = images.length * opts.iterations;
  const phase = new Phase();
  for (let it = 0; it < opts.iterations; it++) {
    for (const group of order) {
      const t0 = performance.now();
      await runAhead(engine, images.filter((i) => i.group === group), lanes, (s) => {
        samples.push(s);
        opts.onProgress?.(samples.length, total);
      });
      wall.set(group, (wall.get(group) ?? 0) + performance.now() - t0);
    }
  }
  return runResult(samples, phase.end(), groupStats(samples, order, wall));
}

/** `lanes` images at once, decodes started PREFETCH beyond the last image taken (in order). */
async function runAhead(engine: FaceEngine, items: readonly BenchImage[], lanes: number, done?: (s: Sample) => void): Promise<void> {
  const pending: Array<Promise<Decoded> | undefined> = [];
  let next = 0;
  const turn = turns(lanes - AHEAD);
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      for (let j = i; j <= Math.min(items.length - 1, i + PREFETCH); j++) pending[j] ??= decodeTimed(items[j]);
      const decoded = pending[i]!;
      pending[i] = undefined;
      // not `done?.(await processOne(...))`: with no `done` (the warm-up) that skips the call itself
      const sample = await processOne(engine, items[i], undefined, decoded, turn);
      done?.(sample);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, lane));
}

/**
 * `n` engine calls at once, FIFO, as the server's work queue runs them: a
 * call that ends hands its turn straight to the next waiting one.
 */
function turns(n: number): Turn {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

function runResult(samples: Sample[], p: ReturnType<Phase['end']>, groups: GroupStats[]): InProcessResult {
  const stageNames = [...new Set(samples.flatMap((s) => Object.keys(s.stages)))];
  return {
    samples,
    ...p,
    imagesPerSec: (1000 * samples.length) / p.wallMs,
    latency: summarise(samples.map((s) => s.totalMs)),
    stagesMean: Object.fromEntries(stageNames.map((k) => [k, mean(samples.map((s) => s.stages[k] ?? 0))])),
    groups,
  };
}
