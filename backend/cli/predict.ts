// `faceseg predict`: predictions for a whole Label Studio project, written
// through Label Studio's API instead of its 100-second /predict call.
//
// Pages through the project's tasks, skips those that already hold a
// prediction of this engine's model_version (--tasks missing), downloads and
// decodes each image, runs the engine, and writes the predictions in batches.
// Ctrl-C (an aborted `signal`) stops taking new tasks; the tasks in flight
// finish and are written before it returns.
import type { AxiosInstance } from 'axios';
import cliProgress from 'cli-progress';
import { DEFAULT_LIMITS } from '../config.js';
import { LabelStudioAuth } from '../labelstudio/api-client.js';
import { parseLabelConfig, type FaceLabelConfig } from '../labelstudio/label-config.js';
import { ProjectClient, taskModelVersions, type LsTask, type PredictionPayload } from '../labelstudio/project-client.js';
import { FaceSegModel } from '../model/faceseg-model.js';
import { ModelVersionSync, type SyncOutcome } from '../labelstudio/model-version-sync.js';
import { decodeImage, ImageDecodeError } from '../media/decode.js';
import { createImageSource, ImageFetchError, type ImageSource } from '../media/image-source.js';
import type { FaceEngine, RgbImage } from '../pipeline/types.js';

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
  /** Tasks in flight (downloads and decoding overlap; the models run one image at a time). Default 4. */
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

/** Run `fn` for every item with at most `n` at a time; stops taking items once `stop()` is true. */
export async function runPool<T>(next: () => Promise<T | undefined>, n: number, fn: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  const worker = async () => {
    for (;;) {
      if (stop()) return;
      const item = await next();
      if (item === undefined) return;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
}

/** A mutex: `serial(fn)` runs fns one after another (the models run one image at a time). */
export function serializer(): <R>(fn: () => Promise<R>) => Promise<R> {
  let chain: Promise<unknown> = Promise.resolve();
  return <R>(fn: () => Promise<R>) => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
}

export interface CountingBar {
  setTotal(n: number): void;
  increment(payload: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressLineOptions {
  /** Default: process.stderr.isTTY. */
  tty?: boolean;
  /** Where progress lines go when not a TTY (default: stderr). */
  write?: (line: string) => void;
  /** At most one line per this many ms (default 10 s), plus one at the end. */
  everyMs?: number;
  now?: () => number;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s < 90 ? `${s}s` : s < 5400 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`;
}

/**
 * A cli-progress bar with rate, ETA and counters on a terminal; elsewhere (CI,
 * nohup, a log file) one plain line every `everyMs`; nothing when quiet.
 */
export function countingBar(label: string, counters: string, initial: Record<string, string | number>, quiet = false, o: ProgressLineOptions = {}): CountingBar {
  if (quiet) return { setTotal: () => undefined, increment: () => undefined, stop: () => undefined };
  const now = o.now ?? Date.now;
  if (!(o.tty ?? process.stderr.isTTY)) {
    const write = o.write ?? ((l: string) => void process.stderr.write(`${l}\n`));
    const every = o.everyMs ?? 10_000;
    const t0 = now();
    let total = 0;
    let n = 0;
    let last = t0;
    let payload = { ...initial };
    const line = (): string => {
      const secs = Math.max(0.001, (now() - t0) / 1000);
      const rate = n / secs;
      const pct = total > 0 ? ` (${Math.min(100, Math.round((n / total) * 100))}%)` : '';
      const fields = counters.replace(/\{(\w+)\}/g, (_, k: string) => String(payload[k] ?? ''));
      return `${label}: ${n}/${total || '?'}${pct}, ${rate.toFixed(1)}/s, ETA ${total > 0 && n > 0 ? eta((total - n) / rate) : '?'}, ${fields}`;
    };
    return {
      setTotal(t) {
        total = t;
      },
      increment(p) {
        n++;
        payload = { ...payload, ...p };
        if (now() - last >= every) {
          last = now();
          write(line());
        }
      },
      stop() {
        if (n > 0) write(line());
      },
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted} | ${counters}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = now();
  let n = 0;
  let started = false;
  return {
    setTotal(total) {
      if (!started) {
        bar.start(Math.max(total, 1), 0, { ...initial, rate: '0.0' });
        started = true;
      } else bar.setTotal(total);
    },
    increment(payload) {
      if (!started) this.setTotal(1);
      n++;
      bar.increment(1, { ...payload, rate: (n / Math.max(0.001, (now() - t0) / 1000)).toFixed(1) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
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

function failureOf(task: number, err: unknown): TaskFailure {
  if (err instanceof ImageFetchError) return { task, reason: err.code, error: err.message };
  if (err instanceof ImageDecodeError) return { task, reason: `decode_${err.code}`, error: err.message };
  const e = err as Error & { reason?: string };
  return { task, reason: e.reason ?? 'error', error: e.message ?? String(err) };
}

class TaskError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Predict a whole project. Throws only for setup problems (project, label config); per-task problems land in `failed`. */
export async function runPredict(engineOrModel: FaceEngine | FaceSegModel, opts: PredictOptions, deps: PredictDeps = {}): Promise<PredictSummary> {
  // the same model object as the HTTP routes: the project's refiner, calibration and version, predictions recorded
  const model = engineOrModel instanceof FaceSegModel ? engineOrModel : new FaceSegModel(engineOrModel);
  const t0 = Date.now();
  const url = opts.url.replace(/\/+$/, '');
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
  const decode = deps.decode ?? ((bytes: Buffer) => decodeImage(bytes, { maxPixels }));
  const selection = opts.tasks ?? 'missing';
  const batchSize = Math.max(1, opts.batch ?? 20);

  const project = await client.getProject(opts.project);
  const cfg: FaceLabelConfig = parseLabelConfig(project.label_config, { faceLabel: opts.faceLabel });
  const modelVersion = await model.modelVersion(String(opts.project));

  const summary: PredictSummary = {
    project: opts.project,
    modelVersion,
    seen: 0,
    done: 0,
    withFaces: 0,
    skipped: 0,
    otherShards: 0,
    failed: [],
    interrupted: false,
    elapsedMs: 0,
  };
  const bar = countingBar('predict', 'done {done} skipped {skipped} failed {failed}', { done: 0, skipped: 0, failed: 0 }, opts.quiet);
  const tick = () => bar.increment({ done: summary.done, skipped: summary.skipped + summary.otherShards, failed: summary.failed.length });

  const tasks = client.tasks(opts.project, {
    pageSize: opts.pageSize ?? 100,
    withPredictions: selection === 'missing',
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

  // writes: batched, one request at a time, in the order predictions finish
  const pending: PredictionPayload[] = [];
  const faceCount = new Map<number, number>();
  const writeSerial = serializer();
  const write = (chunk: PredictionPayload[]) =>
    writeSerial(async () => {
      const errors = await client.writePredictions(opts.project, chunk).catch((e: unknown) => new Map(chunk.map((p) => [p.task, (e as Error).message])));
      for (const p of chunk) {
        const err = errors.get(p.task);
        if (err !== undefined) summary.failed.push({ task: p.task, reason: 'write', error: err });
        else {
          summary.done++;
          if ((faceCount.get(p.task) ?? 0) > 0) summary.withFaces++;
        }
        faceCount.delete(p.task);
        tick();
      }
    });

  const engineSerial = serializer();
  const one = async (task: LsTask): Promise<void> => {
    summary.seen++;
    if (opts.shard && task.id % opts.shard.count !== opts.shard.index) {
      summary.otherShards++;
      tick();
      return;
    }
    if (selection === 'missing' && taskModelVersions(task).has(modelVersion)) {
      summary.skipped++;
      tick();
      return;
    }
    let payload: PredictionPayload;
    try {
      const ref = task.data?.[cfg.image.dataKey];
      if (typeof ref !== 'string' || ref.trim() === '') {
        throw new TaskError(
          'missing_image_field',
          `Task has no image at data.${cfg.image.dataKey} (the label config's <Image name="${cfg.image.name}" value="${cfg.image.value}">)`,
        );
      }
      const bytes = await source.fetch(ref, { taskId: task.id });
      const image = await decode(bytes);
      const { seg, prediction: pred } = await model.predict({ project: String(opts.project), taskId: task.id, image, cfg, run: engineSerial }).catch((e: unknown) => {
        throw new TaskError('engine', `Face engine failed: ${(e as Error).message ?? String(e)}`);
      });
      payload = { task: task.id, result: pred.result, score: pred.score, model_version: pred.model_version };
      faceCount.set(task.id, seg.faces.length);
    } catch (e) {
      summary.failed.push(failureOf(task.id, e));
      tick();
      return;
    }
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
  // the Data Manager's score column shows only the project's model version (model-version-sync.ts)
  if (opts.setProjectVersion && summary.done > 0 && !fatal && !summary.interrupted) {
    const note = (l: string) => (opts.warn ?? ((x: string) => void (opts.quiet ? undefined : process.stderr.write(`${x}\n`))))(l);
    summary.projectModelVersion = await new ModelVersionSync({
      client,
      logger: { info: () => undefined, debug: () => undefined, warn: (m: string) => note(m) } as never,
      delaysMs: opts.setProjectVersionDelaysMs ?? [0, 2000],
    }).sync(opts.project, modelVersion);
  }
  summary.elapsedMs = Date.now() - t0;
  return summary;
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
