// `npm run bench` / `faceseg bench`: speed, memory and scaling of the face
// engine in-process and over HTTP, next to the deface peer, in one run.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildEngine, loadConfig } from '../backend/compose.js';
import { progressBar } from '../backend/cli/progress.js';
import { fixedImages, syntheticImages, SIZES, FACE_COUNTS, synthGroup, type BenchImage } from './images.js';
import { runInProcess, STAGES, type GroupStats, type InProcessResult } from './inprocess.js';
import { defaultDataDir, repoRoot, type BenchOptions } from './options.js';
import { fmt, mib, table } from './stats.js';

export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; totalMemGiB: number; loadavg: number[]; node: string; platform: string };
  options: Record<string, unknown>;
  engine: { modelVersion: string; executionProvider: string; models: Record<string, string>; loadMs: number; rssAfterLoadMiB: number };
  images: { id: string; group: string; width: number; height: number; bytes: number; heads?: number }[];
  inProcess: Omit<InProcessResult, 'samples'> & { samples?: InProcessResult['samples'] };
  http?: unknown;
  concurrency?: unknown;
  deface?: unknown;
  quality?: unknown;
  notes: string[];
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

export function stageTable(groups: readonly GroupStats[], profile: boolean): string {
  const stages = STAGES.filter((s) => groups.some((g) => (g.stagesMean[s] ?? 0) > 0 || s === 'decode' || s === 'rle'));
  const header = ['group', 'faces', 'total ms', ...stages.map((s) => `${s}`)];
  const rows = groups.map((g) => {
    const total = Object.values(g.stagesMean).reduce((a, b) => a + b, 0);
    return [g.group, fmt(g.facesMean, 1), fmt(total, 0), ...stages.map((s) => fmt(g.stagesMean[s] ?? 0, 0))];
  });
  let out = table(header, rows);
  if (profile && groups.some((g) => g.inferMean)) {
    out += '\n\nof which ONNX Runtime inference (ms; the rest of a stage is JavaScript: resize, warp, masks, colour model)\n';
    const inf = ['keypoints', 'detector', 'segmenter'];
    out += table(
      ['group', ...inf.flatMap((s) => [`${s} model`, `${s} js`])],
      groups.map((g) => [g.group, ...inf.flatMap((s) => [fmt(g.inferMean?.[s] ?? 0, 0), fmt((g.stagesMean[s] ?? 0) - (g.inferMean?.[s] ?? 0), 0)])]),
    );
  }
  return out;
}

/** Time vs faces (columns) and image size (rows), from the rendered scenes. */
export function growthTable(groups: readonly GroupStats[]): string {
  const by = new Map(groups.map((g) => [g.group, g]));
  const rows: string[][] = [];
  for (const [w, h] of SIZES) {
    const ms = FACE_COUNTS.map((n) => by.get(synthGroup(w, h, n))?.latency.mean ?? NaN);
    if (ms.every((v) => Number.isNaN(v))) continue;
    const first = ms[0];
    const last = ms[ms.length - 1];
    const perFace = (last - first) / (FACE_COUNTS[FACE_COUNTS.length - 1] - FACE_COUNTS[0]);
    rows.push([`${w}x${h}`, ...ms.map((v) => fmt(v, 0)), fmt(perFace, 1), fmt(first - perFace * FACE_COUNTS[0], 0)]);
  }
  const seg = (n: number): string => {
    const gs = SIZES.map(([w, h]) => by.get(synthGroup(w, h, n))).filter((g): g is GroupStats => !!g);
    return fmt(gs.reduce((a, g) => a + (g.stagesMean.segmenter ?? 0) + (g.stagesMean.paste ?? 0), 0) / Math.max(1, gs.length) / n, 1);
  };
  rows.push(['segmenter+paste per face', ...FACE_COUNTS.map(seg), '', '']);
  return table(['size \\ faces (mean ms)', ...FACE_COUNTS.map((n) => `${n}`), 'ms/extra face', 'fixed ms'], rows);
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const quick = !!opts.quick;
  const iterations = opts.iterations ?? (quick ? 1 : 3);
  const warmup = opts.warmup ?? (quick ? 1 : 2);
  const variants = opts.variants ?? (quick ? 1 : 2);
  const dataDir = defaultDataDir(opts.data);
  const root = repoRoot();
  const notes: string[] = [];

  log(`bench: data ${dataDir}`);
  const fixed = await fixedImages(dataDir, quick);
  const synth = await syntheticImages(dataDir, { seed: opts.seed, variants });
  const images: BenchImage[] = [...fixed, ...synth];
  log(`bench: ${fixed.length} photos + ${synth.length} rendered scenes (seed ${opts.seed}), ${iterations} iteration(s), warm-up ${warmup}`);

  const config = loadConfig();
  const t0 = performance.now();
  const engine = await buildEngine({ config });
  const loadMs = performance.now() - t0;
  const rssAfterLoadMiB = mib(process.memoryUsage.rss());
  log(`bench: engine ${engine.modelVersion} on ${engine.executionProvider}, loaded in ${Math.round(loadMs)} ms, RSS ${Math.round(rssAfterLoadMiB)} MiB`);

  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      totalMemGiB: os.totalmem() / 1024 ** 3,
      loadavg: os.loadavg(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    options: { ...opts, dataDir, iterations, warmup, variants, ortThreads: config.ortThreads, executionProviderRequested: config.executionProvider },
    engine: { modelVersion: engine.modelVersion, executionProvider: engine.executionProvider, models: engine.models, loadMs, rssAfterLoadMiB },
    images: images.map((i) => ({ id: i.id, group: i.group, width: i.width, height: i.height, bytes: i.bytes.length, heads: i.synth?.heads.length })),
    inProcess: undefined as unknown as BenchReport['inProcess'],
    notes,
  };

  try {
    const bar = progressBar(images.length * iterations, 'in-process');
    const inProc = await runInProcess(engine, images, { iterations, warmup, profile: !!opts.profile, onProgress: () => bar.increment() });
    bar.stop();
    report.inProcess = inProc;
  } finally {
    await engine.close();
  }

  const ip = report.inProcess;
  const out: string[] = [];
  out.push('');
  out.push(`engine ${engine.modelVersion}  provider ${engine.executionProvider}  models ${Object.values(engine.models).join(', ')}`);
  out.push(`machine ${report.machine.cpus} CPUs (${report.machine.cpuModel}), load average at start ${report.machine.loadavg.map((v) => v.toFixed(2)).join(' ')}`);
  out.push('');
  out.push('In-process (decode + segment + RLE, one image at a time)');
  out.push(
    table(
      ['group', 'images', 'runs', 'img/s', 'p50 ms', 'p95 ms', 'p99 ms', 'faces', 'heads found'],
      [
        ...ip.groups.map((g) => [
          g.group,
          String(g.images),
          String(g.samples),
          fmt(g.imagesPerSec, 2),
          fmt(g.latency.p50, 0),
          fmt(g.latency.p95, 0),
          fmt(g.latency.p99, 0),
          fmt(g.facesMean, 1),
          g.headsPlaced !== undefined ? `${g.headsFound}/${g.headsPlaced}` : '',
        ]),
        ['all', String(images.length), String(ip.samples?.length ?? 0), fmt(ip.imagesPerSec, 2), fmt(ip.latency.p50, 0), fmt(ip.latency.p95, 0), fmt(ip.latency.p99, 0), '', ''],
      ],
    ),
  );
  out.push(`peak RSS in-process ${fmt(mib(ip.peakRssBytes), 0)} MiB; CPU use ${fmt(ip.cpuMs / ip.wallMs, 2)} cores of ${report.machine.cpus}`);
  out.push('');
  out.push('Per-stage mean ms (all images)');
  out.push(STAGES.map((s) => `${s} ${fmt(ip.stagesMean[s] ?? 0, 1)}`).join('  '));
  out.push('');
  out.push('Cost growth: mean ms per image vs faces and size (rendered scenes)');
  out.push(growthTable(ip.groups));
  if (opts.profile) {
    out.push('');
    out.push('Profile: mean ms per stage, by group');
    out.push(stageTable(ip.groups, true));
  }
  process.stdout.write(`${out.join('\n')}\n`);

  const jsonPath = opts.json ?? path.join(root, 'bench', 'results', `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await mkdir(path.dirname(path.resolve(jsonPath)), { recursive: true });
  await writeFile(jsonPath, JSON.stringify(report, null, 2));
  log(`bench: results written to ${jsonPath}`);
  return report;
}
