// `npm run bench`: speed, memory and scaling of the face
// engine in-process and over HTTP, next to the deface peer, in one run.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildServerEngine, loadConfig } from '../backend/compose.js';
import { medianOf } from '../backend/eval/metrics.js';
import { FACE_STAGES } from '../backend/pipeline/face-stages.js';
import { progressBar } from '../backend/io/progress.js';
import { ensureDefaceVenv, PeerUnavailable, runDefaceSpeed, runQuality, type DefaceSpeed, type QualityRow, type QualitySummary } from './deface.js';
import { externalHttpBench, startHttpBench, type HttpBench, type HttpPhaseResult } from './http.js';
import { startServerProcess } from './server-process.js';
import { execFileSync } from 'node:child_process';
import { fassegIndex, fixedImages, syntheticImages, SIZES, FACE_COUNTS, synthGroup, FASSEG_GROUP, type BenchImage } from './images.js';
import { runInProcess, STAGES, type GroupStats, type InProcessResult } from './inprocess.js';
import { defaultDataDir, repoRoot, type BenchOptions } from './options.js';
import { formatLearningBench, runLearningBench, type LearningBenchRow } from './learning.js';
import { fmt, mib, table } from './stats.js';

export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; totalMemGiB: number; loadavg: number[]; node: string; platform: string; loadByPhase: Record<string, number> };
  options: Record<string, unknown>;
  engine: { modelVersion: string; executionProvider: string; models: Record<string, string>; loadMs: number; rssAfterLoadMiB: number };
  images: { id: string; group: string; width: number; height: number; bytes: number; heads?: number }[];
  inProcess: Omit<InProcessResult, 'samples'> & { samples?: InProcessResult['samples'] };
  http?: HttpPhaseResult[];
  /** The same HTTP runs against the built server in a child process (`--no-server-process` skips them). */
  serverProcess?: { workers: number; phases: HttpPhaseResult[]; peakRssMiB?: number };
  deface?: DefaceSpeed;
  /** --rounds: ours then deface again, one pass each, images/s per group. */
  rounds?: BenchRound[];
  quality?: { summary: QualitySummary[]; rows: QualityRow[]; defaceError?: string };
  learning?: LearningBenchRow[];
  notes: string[];
}

/** One --rounds alternation: the 1-min load when it began and images/s per group, ours then deface. */
export interface BenchRound {
  load: number;
  ours: Record<string, number>;
  deface: Record<string, number>;
}

/** Per group (in first-seen order): ours/deface in each round, and the median of those ratios (NaN where a side has no figure). */
export function roundRatios(rounds: readonly BenchRound[]): { group: string; ratios: number[]; median: number }[] {
  const groups = [...new Set(rounds.flatMap((r) => Object.keys(r.ours)))];
  return groups.map((group) => {
    const ratios = rounds.map((r) => (r.deface[group] > 0 && r.ours[group] !== undefined ? r.ours[group] / r.deface[group] : NaN));
    return { group, ratios, median: medianOf(ratios.filter(Number.isFinite)) };
  });
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
    // 'face': the face stages together (crop ... refine), where the landmark model runs
    const inf = ['keypoints', 'detector', 'face'];
    const stageMs = (g: GroupStats, s: string): number => (s === 'face' ? FACE_STAGES.reduce((a, k) => a + (g.stagesMean[k] ?? 0), 0) : (g.stagesMean[s] ?? 0));
    out += table(
      ['group', ...inf.flatMap((s) => [`${s} model`, `${s} js`])],
      groups.map((g) => [g.group, ...inf.flatMap((s) => [fmt(g.inferMean?.[s] ?? 0, 0), fmt(stageMs(g, s) - (g.inferMean?.[s] ?? 0), 0)])]),
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

/** The images of the groups whose name contains one of `only` (all when absent); none matching is an error naming the groups. */
export function onlyGroups(images: readonly BenchImage[], only: readonly string[] | undefined): BenchImage[] {
  if (!only?.length) return [...images];
  const kept = images.filter((img) => only.some((o) => img.group.includes(o)));
  if (kept.length === 0) {
    const groups = [...new Set(images.map((i) => i.group))];
    throw new Error(`--only ${only.join(',')}: no image group matches; the groups are: ${groups.join('; ')}`);
  }
  return kept;
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const quick = !!opts.quick;
  const iterations = opts.iterations ?? (quick ? 1 : 3);
  const warmup = opts.warmup ?? (quick ? 1 : 2);
  const variants = opts.variants ?? (quick ? 1 : 2);
  const httpIterations = quick ? 1 : 2;
  const dataDir = defaultDataDir(opts.data);
  const root = repoRoot();
  const notes: string[] = [];

  log(`bench: data ${dataDir}`);
  const fixed = await fixedImages(dataDir, quick);
  const synth = await syntheticImages(dataDir, { seed: opts.seed, variants });
  const only = opts.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const images: BenchImage[] = onlyGroups([...fixed, ...synth], only);
  log(`bench: ${images.filter((i) => !i.synth).length} photos + ${images.filter((i) => i.synth).length} rendered scenes (seed ${opts.seed}), ${iterations} iteration(s), warm-up ${warmup}${opts.warmPass ? ' and one untimed pass over every image' : ''}${only ? `, groups matching ${only.map((o) => JSON.stringify(o)).join(' or ')}` : ''}`);

  const config = loadConfig();
  const t0 = performance.now();
  // like the server: an engine worker pool, unless --workers 0 or --profile (which instruments the main-thread engine)
  const workers = opts.profile ? 0 : (opts.workers ?? config.engineWorkers);
  const engine = await buildServerEngine({ config, workers });
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
      loadByPhase: {},
    },
    options: { ...opts, dataDir, iterations, warmup, variants, httpIterations, workers, ortThreads: config.ortThreads, executionProviderRequested: config.executionProvider },
    engine: { modelVersion: engine.modelVersion, executionProvider: engine.executionProvider, models: engine.models, loadMs, rssAfterLoadMiB },
    images: images.map((i) => ({ id: i.id, group: i.group, width: i.width, height: i.height, bytes: i.bytes.length, heads: i.synth?.heads.length })),
    inProcess: undefined as unknown as BenchReport['inProcess'],
    notes,
  };

  const provider = engine.executionProvider === 'cuda' ? 'cuda' : 'cpu';
  let defacePy: string | undefined;
  try {
    const load = (phase: string): void => {
      report.machine.loadByPhase[phase] = os.loadavg()[0];
    };
    // 1. in-process
    load('in-process');
    const bar = progressBar('in-process', { total: images.length * iterations });
    report.inProcess = await runInProcess(engine, images, { iterations, warmup, warmPass: opts.warmPass, profile: !!opts.profile, parallel: Math.max(1, workers), onProgress: () => bar.increment() });
    bar.stop();

    // 2. HTTP: 1, 2, 4 clients over the same requests
    if (opts.http) {
      const clients = opts.concurrency ? parseClients(opts.clients) : [1];
      const requests = repeat(images, httpIterations);
      const runClients = async (http: HttpBench, what: string): Promise<HttpPhaseResult[]> => {
        log(`bench: HTTP (${what}) on ${http.url}: ${requests.length} POST /predict per client count (${clients.join(', ')})`);
        const firstOfGroup = [...new Map(images.map((i) => [i.group, i])).values()];
        await http.run(firstOfGroup, 1); // warm-up of the HTTP path
        const phases: HttpPhaseResult[] = [];
        for (const c of clients) {
          const r = await http.run(requests, c);
          phases.push(r);
          log(`bench: HTTP (${what}) ${c} client(s): ${fmt(r.requestsPerSec, 2)} req/s, p95 ${fmt(r.latency.p95, 0)} ms, engine calls at once ${r.maxEngineInFlight < 0 ? '?' : r.maxEngineInFlight}, peak RSS ${fmt(r.peakRssMiB, 0)} MiB, failed ${r.failed}`);
          if (r.failed) notes.push(`HTTP (${what}) with ${c} client(s): ${r.failed} request(s) failed, first error: ${r.firstError}`);
        }
        return phases;
      };
      load('http');
      const http = await startHttpBench(engine, { ...config, queue: { ...config.queue, engineConcurrency: Math.max(1, workers) } });
      try {
        report.http = await runClients(http, 'in this process');
      } finally {
        await http.close();
      }
      // the server as it ships, in a process of its own: its peak RSS without the bench's images, client and tsx
      if (opts.serverProcess && workers > 0) {
        load('server');
        try {
          execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'pipe' });
          const child = await startServerProcess({ entry: path.join(root, 'dist', 'backend', 'cli', 'main.js'), env: { ENGINE_WORKERS: String(workers), EXECUTION_PROVIDER: config.executionProvider } });
          const external = externalHttpBench(child);
          try {
            const phases = await runClients(external, 'built server, own process');
            report.serverProcess = { workers, phases, peakRssMiB: child.peakRssMiB() };
          } finally {
            await external.close();
          }
        } catch (e) {
          notes.push(`the built server in its own process could not be measured: ${(e as Error).message.split('\n')[0]}`);
        }
      }
    }

    // 3. deface on the same images
    if (opts.deface) {
      try {
        defacePy = await ensureDefaceVenv(root, opts.python, log);
        log(`bench: deface on the same ${images.length} images, ${iterations} iteration(s)`);
        load('deface');
        report.deface = await runDefaceSpeed(defacePy, root, images, { iterations, warmup, warmPass: opts.warmPass, provider });
      } catch (e) {
        if (!(e instanceof PeerUnavailable)) throw e;
        notes.push(`deface skipped: ${e.message}`);
        log(`bench: deface skipped: ${e.message}`);
        defacePy = undefined;
      }
    }

    // 3b. ours and deface alternated: a ratio per round, so that a load change between phases shows
    if (defacePy && report.deface && (opts.rounds ?? 0) > 0) {
      report.rounds = [];
      for (let r = 1; r <= opts.rounds!; r++) {
        log(`bench: round ${r} of ${opts.rounds}: ours, then deface, one pass each`);
        const load = os.loadavg()[0];
        const ours = await runInProcess(engine, images, { iterations: 1, warmup: 1, profile: false, parallel: Math.max(1, workers) });
        const peer = await runDefaceSpeed(defacePy, root, images, { iterations: 1, warmup: 1, provider });
        const perGroup = (gs: readonly { group: string; imagesPerSec: number }[]): Record<string, number> => Object.fromEntries(gs.map((g) => [g.group, g.imagesPerSec]));
        report.rounds.push({ load, ours: perGroup(ours.groups), deface: perGroup(peer.groups) });
      }
    } else if ((opts.rounds ?? 0) > 0) {
      notes.push('--rounds skipped: it alternates ours with deface, and deface did not run in this bench');
    }

    // 4. face-mask quality on FASSEG, ours vs deface's ellipses
    if (opts.quality) {
      load('quality');
      const perSet = quick ? 6 : undefined;
      const n = perSet ? 2 * perSet : fassegIndex(dataDir, 'frontal02-train').entries.length + fassegIndex(dataDir, 'multipose01-train').entries.length;
      const qbar = progressBar('quality', { total: n });
      const q = await runQuality(engine, defacePy, root, dataDir, { perSet, provider, onProgress: () => qbar.increment() });
      qbar.stop();
      if (q.defaceError) notes.push(`deface masks failed: ${q.defaceError}`);
      report.quality = { summary: q.summary, rows: q.rows, defaceError: q.defaceError };
    }
    // 5. what learning from corrections costs
    if (opts.learning) {
      load('learning');
      const counts = quick ? [20] : [20, 50, 200];
      log(`bench: refiner training for ${counts.join(', ')} corrections`);
      report.learning = await runLearningBench(counts, (r) => log(`bench: ${r.corrections} corrections trained in ${fmt(r.ms / 1000, 1)} s, peak RSS ${fmt(r.peakRssMiB, 0)} MiB`));
    }
  } finally {
    await engine.close();
  }

  const text = formatReport(report, !!opts.profile);
  process.stdout.write(`${text}\n`);

  const jsonPath = opts.json ?? path.join(root, 'bench', 'results', `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await mkdir(path.dirname(path.resolve(jsonPath)), { recursive: true });
  await writeFile(jsonPath, JSON.stringify({ ...report, text }, null, 2));
  log(`bench: results written to ${jsonPath}`);
  return report;
}

function parseClients(list: string): number[] {
  const cs = list.split(',').map((v) => Number.parseInt(v.trim(), 10));
  if (cs.some((c) => !Number.isSafeInteger(c) || c < 1)) throw new Error(`--clients: expected a list like 1,2,4, got "${list}"`);
  return cs;
}

function repeat<T>(items: readonly T[], times: number): T[] {
  return Array.from({ length: times }, () => items).flat();
}

const ratio = (a: number | undefined, b: number | undefined): string => (a !== undefined && b !== undefined && b > 0 ? `${fmt(a / b, 2)}x` : '-');

export function formatReport(report: BenchReport, profile: boolean): string {
  const ip = report.inProcess;
  const http = report.http;
  const df = report.deface;
  const http1 = http?.find((h) => h.clients === 1);
  const out: string[] = [];
  out.push('');
  out.push(`engine ${report.engine.modelVersion}  provider ${report.engine.executionProvider}  models ${Object.values(report.engine.models).join(', ')}  ${report.options.workers ? `${report.options.workers} engine worker thread(s), one image more in flight (decoded ahead, as the server's /predict)` : 'engine on the main thread, one image at a time'}`);
  out.push(
    `machine ${report.machine.cpus} CPUs (${report.machine.cpuModel}), ${fmt(report.machine.totalMemGiB, 0)} GiB, load average at start ${report.machine.loadavg.map((v) => v.toFixed(2)).join(' ')}` +
      (report.machine.loadavg[0] > report.machine.cpus * 0.5 ? '  <- busy machine: timings are noisy' : ''),
  );
  const lp = Object.entries(report.machine.loadByPhase ?? {});
  if (lp.length) out.push(`1-min load average when each phase began: ${lp.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} (ours and deface run one after the other: a load change between them skews the ratio)`);
  if (df) out.push(`deface ${df.deface} (${df.backend}, ${df.provider}, onnxruntime ${df.onnxruntime}), defaults: threshold 0.2, mask scale 1.3, blur ellipses, full-resolution detection`);
  out.push('');
  out.push('Throughput and latency, ours vs deface (same images, same run; ours = decode + segment + RLE, deface = decode + CenterFace + anonymise)');
  const dg = new Map(df?.groups.map((g) => [g.group, g]) ?? []);
  const hg = new Map(http1?.groups.map((g) => [g.group, g]) ?? []);
  const rows = ip.groups.map((g) => {
    const d = dg.get(g.group);
    const h = hg.get(g.group);
    return [
      g.group,
      String(g.samples),
      fmt(g.imagesPerSec, 2),
      fmt(g.latency.p50, 0),
      fmt(g.latency.p95, 0),
      fmt(g.latency.p99, 0),
      h ? fmt(h.latency.p95, 0) : '-',
      d ? fmt(d.imagesPerSec, 2) : '-',
      d ? fmt(d.latency.p95, 0) : '-',
      ratio(g.imagesPerSec, d?.imagesPerSec),
      g.headsPlaced !== undefined ? `${g.headsFound}/${g.headsPlaced}` : fmt(g.facesMean, 1),
      d ? (d.headsPlaced !== undefined ? `${d.headsFound}/${d.headsPlaced}` : fmt(d.facesMean, 1)) : '-',
    ];
  });
  rows.push([
    'all',
    String(ip.samples?.length ?? ip.groups.reduce((a, g) => a + g.samples, 0)),
    fmt(ip.imagesPerSec, 2),
    fmt(ip.latency.p50, 0),
    fmt(ip.latency.p95, 0),
    fmt(ip.latency.p99, 0),
    http1 ? fmt(http1.latency.p95, 0) : '-',
    df ? fmt(df.imagesPerSec, 2) : '-',
    df ? fmt(df.latency.p95, 0) : '-',
    ratio(ip.imagesPerSec, df?.imagesPerSec),
    '',
    '',
  ]);
  out.push(
    table(['group', 'runs', 'ours img/s', 'p50 ms', 'p95 ms', 'p99 ms', 'HTTP p95', 'deface img/s', 'deface p95', 'ours/deface', 'ours faces', 'deface faces'], rows),
  );
  out.push(
    `peak RSS: ours in-process ${fmt(mib(ip.peakRssBytes), 0)} MiB (after model load ${fmt(report.engine.rssAfterLoadMiB, 0)} MiB)` +
      (df ? `, deface ${fmt(df.peakRssMiB, 0)} MiB` : '') +
      `; ours used ${fmt(ip.cpuMs / ip.wallMs, 2)} of ${report.machine.cpus} cores in-process`,
  );
  out.push('(faces: "found/placed" pasted heads on rendered scenes, else mean faces per image)');
  if (report.rounds?.length) {
    out.push('');
    out.push(`Ours/deface in ${report.rounds.length} more rounds, ours then deface, one pass each (1-min load at each round's start: ${report.rounds.map((r) => r.load.toFixed(2)).join(', ')})`);
    const rr = roundRatios(report.rounds);
    out.push(table(['group', ...report.rounds.map((_, i) => `round ${i + 1}`), 'median'], rr.map((g) => [g.group, ...g.ratios.map((v) => (Number.isFinite(v) ? `${fmt(v, 2)}x` : '-')), Number.isFinite(g.median) ? `${fmt(g.median, 2)}x` : '-'])));
  }

  if (report.learning?.length) {
    out.push('');
    out.push(formatLearningBench(report.learning));
  }

  const q = report.quality?.summary;
  if (q?.length) {
    out.push('');
    out.push('Face-mask quality on FASSEG (mean IoU above the chin, as faceseg eval; deface = its ellipses at mask scale 1.3 (default) and 1.0)');
    out.push(
      table(
        ['set', 'images', 'ours IoU', 'prec', 'recall', 'found', 'deface IoU', 'prec', 'recall', 'IoU @1.0', 'found', 'ours/deface IoU'],
        q.map((s) => [
          s.set,
          String(s.images),
          fmt(s.ours.iou, 3),
          fmt(s.ours.precision, 3),
          fmt(s.ours.recall, 3),
          String(s.ours.found),
          fmt(s.deface['1.3']?.iou, 3),
          fmt(s.deface['1.3']?.precision, 3),
          fmt(s.deface['1.3']?.recall, 3),
          fmt(s.deface['1.0']?.iou, 3),
          s.deface['1.3'] ? String(s.defaceFound) : '-',
          ratio(s.ours.iou, s.deface['1.3']?.iou),
        ]),
      ),
    );
  }

  if (http?.length) {
    out.push('');
    out.push('HTTP /predict under concurrent clients (server in this process, loopback, data: URIs, one task per request)');
    out.push(
      table(
        ['clients', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'engine calls at once', 'cores busy', 'peak RSS MiB', 'failed'],
        http.map((h) => [
          String(h.clients),
          String(h.requests),
          fmt(h.requestsPerSec, 2),
          fmt(h.latency.p50, 0),
          fmt(h.latency.p95, 0),
          fmt(h.latency.p99, 0),
          String(h.maxEngineInFlight),
          fmt(h.coresBusy, 2),
          fmt(h.peakRssMiB, 0),
          String(h.failed),
        ]),
      ),
    );
    const one = http.find((h) => h.clients === 1);
    const most = http.reduce((a, b) => (b.clients > a.clients ? b : a), http[0]);
    if (one && most.clients > 1) {
      const queued = most.maxEngineInFlight <= 1;
      out.push(
        queued
          ? `requests queue: at most ${most.maxEngineInFlight} engine call at a time with ${most.clients} clients; throughput ${ratio(most.requestsPerSec, one.requestsPerSec)} of 1 client, p50 ${fmt(most.latency.p50 / one.latency.p50, 1)}x`
          : `requests do NOT queue: up to ${most.maxEngineInFlight} engine calls ran at once with ${most.clients} clients (ONNX Runtime sessions share the cores); throughput ${ratio(most.requestsPerSec, one.requestsPerSec)} of 1 client, p50 ${fmt(most.latency.p50 / one.latency.p50, 1)}x, peak RSS ${fmt(most.peakRssMiB, 0)} MiB vs ${fmt(one.peakRssMiB, 0)} MiB`,
      );
    }
  }

  const sp = report.serverProcess;
  if (sp?.phases.length) {
    out.push('');
    out.push(`HTTP /predict against the built server in its own process (node dist/backend/cli/main.js serve, ENGINE_WORKERS=${sp.workers}; peak RSS = its high-water mark, VmHWM)`);
    out.push(
      table(
        ['clients', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'server cores busy', 'server peak RSS MiB', 'failed'],
        sp.phases.map((h) => [String(h.clients), String(h.requests), fmt(h.requestsPerSec, 2), fmt(h.latency.p50, 0), fmt(h.latency.p95, 0), fmt(h.latency.p99, 0), fmt(h.coresBusy, 2), fmt(h.peakRssMiB, 0), String(h.failed)]),
      ),
    );
  }

  out.push('');
  out.push('Per-stage mean ms over all images (in-process)');
  out.push(STAGES.map((s) => `${s} ${fmt(ip.stagesMean[s] ?? 0, 1)}`).join('  '));
  out.push('');
  out.push('Cost growth: mean ms per image vs faces and image size (rendered scenes, in-process)');
  out.push(growthTable(ip.groups));
  if (profile) {
    out.push('');
    out.push('Profile: mean ms per stage, by group');
    out.push(stageTable(ip.groups, true));
  }

  // the issue's targets, with where this run stands
  const t = ip.groups.find((g) => g.group === synthGroup(1280, 720, 3));
  const th = hg.get(synthGroup(1280, 720, 3));
  const peakAll = Math.max(mib(ip.peakRssBytes), ...(http ?? []).map((h) => h.peakRssMiB));
  out.push('');
  out.push(`Targets (${report.engine.executionProvider}, ${report.machine.cpus} cores)`);
  const mark = (ok: boolean | undefined): string => (ok === undefined ? '  ?' : ok ? ' ok' : ' NO');
  // issue 16: ratios to deface in this run, per group; with --rounds, judged on the median of the main phases' ratio and the rounds'
  const vsDeface = (group: string, k: number): string => {
    const ours = ip.groups.find((g) => g.group === group)?.imagesPerSec;
    const theirs = df?.groups.find((g) => g.group === group)?.imagesPerSec;
    const main: BenchRound = { load: 0, ours: ours === undefined ? {} : { [group]: ours }, deface: theirs === undefined ? {} : { [group]: theirs } };
    const rounds = report.rounds ?? [];
    const judged = roundRatios([main, ...rounds]).find((g) => g.group === group)?.median;
    const ok = judged !== undefined && Number.isFinite(judged) ? judged >= k : undefined;
    const extra = rounds.length && judged !== undefined && Number.isFinite(judged) ? ` (median of it and the ${rounds.length} rounds: ${fmt(judged, 2)}x)` : '';
    return `${mark(ok)}  ${group} >= ${k}x deface: ${ratio(ours, theirs)}${extra}`;
  };
  out.push(vsDeface(synthGroup(1280, 720, 3), 3));
  out.push(vsDeface(FASSEG_GROUP, 1));
  out.push(vsDeface(synthGroup(1920, 1080, 10), 2));
  out.push(`${mark(th ? th.latency.p95 < 300 : undefined)}  1280x720 3 faces HTTP p95 < 300 ms (one client): ${fmt(th?.latency.p95, 0)} ms`);
  out.push(`${mark(peakAll < 1024)}  peak RSS < 1 GiB, bench process: ${fmt(peakAll, 0)} MiB (in-process and under HTTP load; holds the image set, the client and tsx too)`);
  if (sp?.peakRssMiB !== undefined) out.push(`${mark(sp.peakRssMiB < 1024)}  peak RSS < 1 GiB, built server process: ${fmt(sp.peakRssMiB, 0)} MiB (VmHWM after ${sp.phases.length} HTTP runs)`);
  if (report.notes.length) {
    out.push('');
    out.push('Notes');
    for (const n of report.notes) out.push(`- ${n}`);
  }
  return out.join('\n');
}
