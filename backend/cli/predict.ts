// `faceseg predict`: predictions for a whole Label Studio project, written
// through Label Studio's API instead of its 100-second /predict call.
//
// Pages through the project's tasks, skips those that already hold a
// prediction of this engine's model_version (--tasks missing), downloads and
// decodes each image, runs the engine, and writes the predictions in batches.
// Ctrl-C (an aborted `signal`) stops taking new tasks; the tasks in flight
// finish and are written before it returns.
import type { AxiosInstance } from 'axios';
import { DEFAULT_LIMITS } from '../config.js';
import { LabelStudioAuth } from '../labelstudio/api-client.js';
import { parseLabelConfig, type FaceLabelConfig } from '../labelstudio/label-config.js';
import { ProjectClient, taskModelVersions, type LsTask, type PredictionPayload } from '../labelstudio/project-client.js';
import { FaceSegModel } from '../model/faceseg-model.js';
import { predictImage } from '../model/predict-tasks.js';
import { taskErrorOf } from '../model/task-error.js';
import { imageRef } from '../model/task-images.js';
import { ModelVersionSync, type SyncOutcome } from '../labelstudio/model-version-sync.js';
import { decodeImage } from '../media/decode.js';
import { createImageSource, type ImageSource } from '../media/image-source.js';
import type { FaceEngine, RgbImage } from '../pipeline/types.js';
import { progressBar, type Progress } from '../io/progress.js';
import { runPool, serializer } from './pool.js';
import { EnginePool } from '../engine-pool.js';

export type TaskSelection = 'missing' | 'all';

export interface Shard {
  index: number;
  count: number;
}

export interface PredictOptions {
  /** Label Studio base URL. */
  url: string;
  /** Legacy token or personal access token. */
  token?: string;
  project: number;
  /** missing (default): skip tasks holding a prediction of this model_version; all: predict every task. */
  tasks?: TaskSelection;
  /** Tasks in flight (downloads and decoding overlap). Default 4. */
  concurrency?: number;
  /** Predictions per write request. Default 20. */
  batch?: number;
  /** Tasks per page when listing. Default 100. */
  pageSize?: number;
  /** Only tasks with id % count == index. */
  shard?: Shard;
  /** FACE_LABEL: the label to use when the config has several. */
  faceLabel?: string;
  maxImageBytes?: number;
  maxImagePixels?: number;
  downloadTimeoutMs?: number;
  localFilesDocumentRoot?: string;
  runningInDocker?: boolean;
  /** First retry delay for API calls and downloads, ms. Default 500 / 300. */
  backoffMs?: number;
  quiet?: boolean;
  /** Abort to stop after the tasks in flight (Ctrl-C). */
  signal?: AbortSignal;
  /** Warnings (retries) go here; default stderr when not quiet. */
  warn?: (line: string) => void;
  /** Afterwards, point the project's model version at these predictions (see model-version-sync.ts). */
  setProjectVersion?: boolean;
  /** Waits before the tries of that, ms. Default [0, 2000]. */
  setProjectVersionDelaysMs?: number[];
}

export interface PredictDeps {
  client?: ProjectClient;
  imageSource?: ImageSource;
  http?: AxiosInstance;
  decode?: (bytes: Buffer) => Promise<RgbImage>;
}

export interface TaskFailure {
  task: number;
  /** Short machine-readable cause: not_found, unauthorized, decode_corrupt, engine, write, ... */
  reason: string;
  error: string;
}

export interface PredictSummary {
  project: number;
  modelVersion: string;
  /** Whether the project's model version now points at these predictions (score column, uncertainty sampling). */
  projectModelVersion?: SyncOutcome;
  /** Tasks listed (all shards). */
  seen: number;
  /** Predictions written. */
  done: number;
  /** Written predictions with at least one face. */
  withFaces: number;
  /** Skipped: already hold a prediction of this model_version. */
  skipped: number;
  /** Not in this shard. */
  otherShards: number;
  failed: TaskFailure[];
  /** Listing the tasks failed (after retries); the run stopped early. */
  fatal?: string;
  interrupted: boolean;
  elapsedMs: number;
}

/** Parse "i/n" for --shard. */
export function parseShard(s: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(s);
  if (!m) throw new Error(`--shard must look like i/n (e.g. 0/3), got "${s}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new Error(`--shard ${s}: need 0 <= i < n`);
  return { index, count };
}

/** What one run works with; built once by runPredict, read by the steps below. */
interface PredictRun {
  opts: PredictOptions;
  model: FaceSegModel;
  client: ProjectClient;
  source: ImageSource;
  decode: (bytes: Buffer) => Promise<RgbImage>;
  cfg: FaceLabelConfig;
  summary: PredictSummary;
  bar: Progress;
  /** Models one image at a time. */
  engineSerial: <R>(fn: () => Promise<R>) => Promise<R>;
  /** Faces found per task whose prediction is not written yet (summary.withFaces). */
  faceCount: Map<number, number>;
}

/** Predict a whole project. Throws only for setup problems (project, label config); per-task problems land in `failed`. */
export async function runPredict(engineOrModel: FaceEngine | FaceSegModel, opts: PredictOptions, deps: PredictDeps = {}): Promise<PredictSummary> {
  // the same model object as the HTTP routes: the project's refiner, calibration and version, predictions recorded
  const model = engineOrModel instanceof FaceSegModel ? engineOrModel : new FaceSegModel(engineOrModel);
  const t0 = Date.now();
  const url = opts.url.replace(/\/+$/, '');
  const { client, source, decode } = connect(url, opts, deps);
  const project = await client.getProject(opts.project);
  const cfg = parseLabelConfig(project.label_config, { faceLabel: opts.faceLabel });
  const summary = emptySummary(opts.project, await model.modelVersion(String(opts.project)));
  const bar = progressBar('predict', { fields: 'done {done} skipped {skipped} failed {failed}', initial: { done: 0, skipped: 0, failed: 0 }, quiet: opts.quiet, lines: true });
  const run: PredictRun = { opts, model, client, source, decode, cfg, summary, bar, // an engine worker pool queues its own calls; a main-thread engine runs one at a time
    engineSerial: model.engine instanceof EnginePool ? <R>(fn: () => Promise<R>) => fn() : serializer(), faceCount: new Map() };
  await predictTasks(run);
  // the Data Manager's score column shows only the project's model version (model-version-sync.ts)
  if (opts.setProjectVersion && summary.done > 0 && !summary.fatal && !summary.interrupted) {
    const note = opts.warn ?? ((x: string) => void (opts.quiet ? undefined : process.stderr.write(`${x}\n`)));
    summary.projectModelVersion = await new ModelVersionSync({
      client,
      logger: { info: () => undefined, debug: () => undefined, warn: (m: string) => note(m) } as never,
      delaysMs: opts.setProjectVersionDelaysMs ?? [0, 2000],
    }).sync(opts.project, summary.modelVersion);
  }
  summary.elapsedMs = Date.now() - t0;
  return summary;
}

/** The Label Studio client, image source and decoder of a run (the injected ones in tests). */
function connect(url: string, opts: PredictOptions, deps: PredictDeps): Pick<PredictRun, 'client' | 'source' | 'decode'> {
  const warn = opts.warn ?? ((line: string) => (opts.quiet ? undefined : process.stderr.write(`\n${line}\n`)));
  const auth = new LabelStudioAuth({ baseUrl: url, apiKey: opts.token, http: deps.http });
  const client =
    deps.client ??
    new ProjectClient({
      baseUrl: url,
      auth,
      http: deps.http,
      backoffMs: opts.backoffMs,
      onRetry: ({ what, attempt, error, delayMs }) => warn(`retry ${attempt} in ${delayMs} ms, ${what}: ${error.message}`),
    });
  const source =
    deps.imageSource ??
    createImageSource({
      labelStudioUrl: url,
      auth,
      http: deps.http,
      maxBytes: opts.maxImageBytes ?? DEFAULT_LIMITS.maxImageBytes,
      timeoutMs: opts.downloadTimeoutMs ?? DEFAULT_LIMITS.downloadTimeoutMs,
      localFilesDocumentRoot: opts.localFilesDocumentRoot,
      runningInDocker: opts.runningInDocker,
      backoffMs: opts.backoffMs,
    });
  const maxPixels = opts.maxImagePixels ?? DEFAULT_LIMITS.maxImagePixels;
  return { client, source, decode: deps.decode ?? ((bytes: Buffer) => decodeImage(bytes, { maxPixels })) };
}

function emptySummary(project: number, modelVersion: string): PredictSummary {
  return { project, modelVersion, seen: 0, done: 0, withFaces: 0, skipped: 0, otherShards: 0, failed: [], interrupted: false, elapsedMs: 0 };
}

/** List, predict and write every task; sets summary.fatal (listing failed) and summary.interrupted. */
async function predictTasks(run: PredictRun): Promise<void> {
  const { opts, client, summary, bar } = run;
  const batchSize = Math.max(1, opts.batch ?? 20);
  const tick = () => bar.increment({ done: summary.done, skipped: summary.skipped + summary.otherShards, failed: summary.failed.length });
  const tasks = client.tasks(opts.project, {
    pageSize: opts.pageSize ?? 100,
    withPredictions: (opts.tasks ?? 'missing') === 'missing',
    onTotal: (n) => bar.setTotal(n),
  });
  let fatal: string | undefined;
  const next = async (): Promise<LsTask | undefined> => {
    if (fatal || opts.signal?.aborted) return undefined;
    try {
      const r = await tasks.next();
      return r.done ? undefined : r.value;
    } catch (e) {
      fatal ??= (e as Error).message;
      return undefined;
    }
  };
  const pending: PredictionPayload[] = [];
  const write = predictionWriter(run, tick);
  const one = async (task: LsTask): Promise<void> => {
    const payload = await predictTask(run, task);
    if (payload === undefined) return tick();
    pending.push(payload);
    if (pending.length >= batchSize) await write(pending.splice(0, batchSize));
  };
  try {
    await runPool(next, opts.concurrency ?? 4, one, () => fatal !== undefined || (opts.signal?.aborted ?? false));
    while (pending.length) await write(pending.splice(0, batchSize));
  } finally {
    bar.stop();
    await tasks.return(undefined).catch(() => undefined);
  }
  summary.fatal = fatal;
  summary.interrupted = opts.signal?.aborted ?? false;
}

/** Batched writes, one request at a time, in the order predictions finish; counts what was written. */
function predictionWriter(run: PredictRun, tick: () => void): (chunk: PredictionPayload[]) => Promise<void> {
  const { client, opts, summary } = run;
  const serial = serializer();
  return (chunk) =>
    serial(async () => {
      const errors = await client.writePredictions(opts.project, chunk).catch((e: unknown) => new Map(chunk.map((p) => [p.task, (e as Error).message])));
      for (const p of chunk) {
        const err = errors.get(p.task);
        if (err !== undefined) summary.failed.push({ task: p.task, reason: 'write', error: err });
        else {
          summary.done++;
          if ((run.faceCount.get(p.task) ?? 0) > 0) summary.withFaces++;
        }
        run.faceCount.delete(p.task);
        tick();
      }
    });
}

/** The prediction of one task, or undefined when it is skipped or failed (counted in the summary). */
async function predictTask(run: PredictRun, task: LsTask): Promise<PredictionPayload | undefined> {
  const { opts, summary, cfg } = run;
  summary.seen++;
  if (opts.shard && task.id % opts.shard.count !== opts.shard.index) {
    summary.otherShards++;
    return undefined;
  }
  if ((opts.tasks ?? 'missing') === 'missing' && taskModelVersions(task).has(summary.modelVersion)) {
    summary.skipped++;
    return undefined;
  }
  try {
    const image = await run.decode(await run.source.fetch(imageRef({ data: task.data ?? {} }, cfg), { taskId: task.id }));
    const { seg, prediction: pred } = await predictImage(run.model, { project: String(opts.project), taskId: task.id, image, cfg, run: run.engineSerial });
    run.faceCount.set(task.id, seg.faces.length);
    return { task: task.id, result: pred.result, score: pred.score, model_version: pred.model_version };
  } catch (e) {
    const { reason, message } = taskErrorOf(e, 'error');
    summary.failed.push({ task: task.id, reason, error: message });
    return undefined;
  }
}

/** The lines printed at the end of `faceseg predict`. */
export function formatPredictSummary(s: PredictSummary, maxListed = 20): string {
  const lines: string[] = [];
  const secs = (s.elapsedMs / 1000).toFixed(1);
  lines.push(`project ${s.project}, model_version ${s.modelVersion}`);
  lines.push(
    `  written: ${s.done} (${s.withFaces} with faces, ${s.done - s.withFaces} without)` +
      `\n  skipped: ${s.skipped} already predicted by this model_version` +
      (s.otherShards ? `, ${s.otherShards} in other shards` : '') +
      `\n  failed:  ${s.failed.length}` +
      `\n  time:    ${secs} s`,
  );
  if (s.failed.length) {
    const byReason = new Map<string, TaskFailure[]>();
    for (const f of s.failed) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f]);
    lines.push('failures:');
    let listed = 0;
    for (const [reason, fs] of byReason) {
      lines.push(`  ${reason} (${fs.length}):`);
      for (const f of fs) {
        if (listed++ >= maxListed) break;
        lines.push(`    task ${f.task}: ${f.error}`);
      }
    }
    if (s.failed.length > maxListed) lines.push(`  ... and ${s.failed.length - maxListed} more (use --json FILE for the full list)`);
  }
  if (s.fatal) lines.push(`stopped early: ${s.fatal}`);
  if (s.interrupted) lines.push('interrupted: the tasks in flight were finished and written; run the same command again to continue');
  return lines.join('\n');
}
