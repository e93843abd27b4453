// The only module that reads process.env. Every variable is validated with
// zod (config-env.ts); a bad one produces one clear line naming the variable.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultModelDir } from './models/manifest.js';
import { readEnv, type Env } from './config-env.js';

export { ConfigError } from './config-env.js';

export interface Limits {
  /** Largest JSON request body in bytes (413 above). */
  maxBodyBytes: number;
  /** Most ':' bytes (an upper bound on keys) a /predict or /setup body may hold (400 above), counted before parsing. */
  maxJsonKeys: number;
  /** Most tasks one /predict may carry (413 above). */
  maxTasksPerRequest: number;
  /** Largest image download in bytes. */
  maxImageBytes: number;
  /** Largest decoded image in pixels (sharp limitInputPixels). */
  maxImagePixels: number;
  /** Deadline for one image download, milliseconds. */
  downloadTimeoutMs: number;
  /** Largest /webhook body in bytes (413 above), checked before parsing. */
  webhookMaxBodyBytes: number;
  /** Most interactive regions (clicks, boxes) one /predict context may carry (400 above). */
  maxContextRegions: number;
  /** Decoded pixels (width*height*3 bytes) in flight across all requests; decodes wait for room. */
  decodedImageBudgetBytes: number;
  /** Deadline for decoding one image (libvips), milliseconds. */
  decodeTimeoutMs: number;
}

export interface WebhookConfig {
  /** WEBHOOK_SECRET: /webhook requires it in the X-Webhook-Secret header (401 otherwise). */
  secret?: string;
  /** WEBHOOK_VERIFY: confirm annotations with Label Studio's API before learning (needs LABEL_STUDIO_URL and a token). */
  verify: boolean;
}

export interface QueueConfig {
  /** Engine calls at once; default: one per engine worker. */
  engineConcurrency: number;
  /** Admitted /predict requests that may wait beyond those running (503 above). */
  maxLength: number;
  /** The caller's /predict read timeout (Label Studio: 100 s): 503 when the wait would pass it. */
  predictTimeoutMs: number;
}

export interface ImageHostPolicy {
  /** Loopback and private ranges (10/8, 172.16/12, 192.168/16, fc00::/7, ...). Default true: Label Studio often runs next door. */
  allowPrivate: boolean;
  /** Link-local and cloud metadata addresses (169.254/16, fe80::/10, metadata.google.internal...). Default false. */
  allowLinkLocal: boolean;
}

export interface Config {
  port: number;
  host: string;
  /** Label Studio base URL without a trailing slash, or undefined. */
  labelStudioUrl?: string;
  /** Legacy token or personal access token (JWT refresh token). */
  labelStudioApiKey?: string;
  basicAuth?: { user: string; pass: string };
  logLevel: 'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';
  logFormat: 'json' | 'text';
  modelDir: string;
  modelsManifest: string;
  /** FACE_PARSER: an ONNX face parser with its <file>.json spec (`npm run models:parser` makes one), or null. */
  faceParser: string | null;
  /** A refiner prior (JSON, e.g. from `faceseg prior`): what projects without a refiner of their own get; null = none. */
  refinerPrior: string | null;
  /** ALWAYS_TILE: large images always searched on full-resolution tiles too (crowds behind people; slower). Default false. */
  alwaysTile: boolean;
  /** BEARD: whether beard and stubble inside the jaw line count as face ('include', the default: anonymisation must cover them). */
  beard: 'include' | 'exclude';
  /** Active learning from labelers' corrections (backend/learning). */
  learning: LearningConfig;
  /** 'auto' = CUDA when the runtime offers it, else CPU. */
  executionProvider: 'auto' | 'cpu' | 'cuda';
  /** ONNX Runtime intra-op threads; 0 = the default: cores (with engine workers: cores / workers), 1 on CUDA. */
  ortThreads: number;
  /**
   * Engine worker threads of the server, each with its own models, so that
   * images are segmented in parallel; 0 = the engine on the main thread.
   * Default: one per core this process may use, at most 4.
   */
  engineWorkers: number;
  /** Label value to use for faces when the label config has several labels. */
  faceLabel?: string;
  /** Where Label Studio's local-files storage lives, to read files directly. */
  localFilesDocumentRoot?: string;
  limits: Limits;
  /** The work queue in front of the engine (backend/http/work-queue.ts). */
  queue: QueueConfig;
  /** Which image hosts may be downloaded from (SSRF guard). */
  imageHosts: ImageHostPolicy;
  /** True when we think we run inside a container (localhost hints). */
  runningInDocker: boolean;
  /** /webhook authentication and verification. */
  webhook: WebhookConfig;
  /** After a shutdown signal, exit hard this long after the in-flight deadline (a stuck native decode). */
  shutdownGraceMs: number;
}

export interface LearningConfig {
  /** ACTIVE_LEARNING: record predictions and corrections, calibrate per project. Default true. */
  enabled: boolean;
  /** LEARNING_DB: a SQLite file (default MODEL_DIR/learning.sqlite) or a postgres:// URL (replicas on several machines). */
  db: string;
  /** CALIBRATION_MIN_CORRECTIONS: refit a project after this many new corrections; 0 = only on START_TRAINING. */
  minCorrections: number;
  /** LEARNING_MAX_PROJECTS: projects with stored data; the least recently written is dropped past it. */
  maxProjects: number;
  /** LEARNING_MAX_CORRECTIONS: corrections kept per project, the oldest dropped first. */
  maxCorrections: number;
  /** LEARNING_MAX_PREDICTIONS: prediction records kept per project, the oldest dropped first. */
  maxPredictions: number;
  /** LEARNING_REFRESH_MS: how often a replica checks whether a project's calibration changed. */
  refreshMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 50 * 1024 ** 2,
  // 1000 tasks with their data and a few annotations each stay far below; base64 images hold no ':'
  maxJsonKeys: 500_000,
  maxTasksPerRequest: 1000,
  maxImageBytes: 50 * 1024 ** 2,
  maxImagePixels: 100_000_000,
  downloadTimeoutMs: 30_000,
  webhookMaxBodyBytes: 2 * 1024 ** 2,
  maxContextRegions: 20,
  // one 100 MP image (300 MB decoded) or many photos at once; libvips peaks at about 2.4x this while
  // decoding, so a pod needs about runtime + models + 2.4 x budget + the engine's work on one image
  decodedImageBudgetBytes: 400 * 1024 ** 2,
  decodeTimeoutMs: 20_000,
};

export interface ConfigProbe {
  /** Used only when RUNNING_IN_DOCKER is unset: looks for /.dockerenv etc. */
  exists(file: string): boolean;
}

/**
 * Read and validate the configuration (config-env.ts). Empty variables count
 * as unset (a docker-compose `FOO=` line). Throws ConfigError listing every bad variable.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  probe: ConfigProbe = { exists: existsSync },
): Config {
  const e = readEnv(env);
  // default: the models/ folder of this install (also from dist/ and from any working directory)
  const modelDir = path.resolve(e.MODEL_DIR ?? defaultModelDir());
  const engineWorkers = e.ENGINE_WORKERS ?? Math.min(4, os.availableParallelism());
  return {
    port: e.PORT ?? 9090,
    host: e.HOST?.trim() ?? '0.0.0.0',
    labelStudioUrl: e.LABEL_STUDIO_URL,
    labelStudioApiKey: e.LABEL_STUDIO_API_KEY?.trim(),
    basicAuth: e.BASIC_AUTH_USER !== undefined ? { user: e.BASIC_AUTH_USER, pass: e.BASIC_AUTH_PASS! } : undefined,
    logLevel: e.LOG_LEVEL ?? 'info',
    logFormat: e.LOG_FORMAT ?? 'text',
    modelDir,
    modelsManifest: path.resolve(modelDir, e.MODELS_MANIFEST ?? 'manifest.json'),
    faceParser: e.FACE_PARSER === undefined || e.FACE_PARSER === 'off' ? null : path.resolve(e.FACE_PARSER),
    refinerPrior: e.REFINER_PRIOR === undefined || e.REFINER_PRIOR === 'off' ? null : path.resolve(e.REFINER_PRIOR),
    alwaysTile: e.ALWAYS_TILE ?? false,
    beard: e.BEARD ?? 'include',
    learning: learningFrom(e, modelDir),
    executionProvider: e.EXECUTION_PROVIDER ?? 'auto',
    ortThreads: e.ORT_THREADS ?? 0,
    engineWorkers,
    faceLabel: e.FACE_LABEL?.trim(),
    localFilesDocumentRoot: e.LOCAL_FILES_DOCUMENT_ROOT ? path.resolve(e.LOCAL_FILES_DOCUMENT_ROOT) : undefined,
    limits: limitsFrom(e),
    queue: {
      engineConcurrency: e.ENGINE_CONCURRENCY ?? Math.max(1, engineWorkers),
      maxLength: e.QUEUE_MAX_LENGTH ?? 32,
      predictTimeoutMs: e.PREDICT_TIMEOUT_MS ?? 100_000,
    },
    imageHosts: {
      allowPrivate: e.ALLOW_PRIVATE_IMAGE_HOSTS ?? true,
      allowLinkLocal: e.ALLOW_LINK_LOCAL ?? false,
    },
    runningInDocker: e.RUNNING_IN_DOCKER ?? (probe.exists('/.dockerenv') || probe.exists('/run/.containerenv')),
    webhook: {
      secret: e.WEBHOOK_SECRET?.trim(),
      verify: e.WEBHOOK_VERIFY ?? (e.LABEL_STUDIO_URL !== undefined && !!e.LABEL_STUDIO_API_KEY?.trim()),
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS ?? 10_000,
  };
}

function learningFrom(e: Env, modelDir: string): LearningConfig {
  return {
    enabled: e.ACTIVE_LEARNING ?? true,
    db: learningDb(modelDir, e.LEARNING_DB),
    minCorrections: e.CALIBRATION_MIN_CORRECTIONS ?? 20,
    maxProjects: e.LEARNING_MAX_PROJECTS ?? 1000,
    maxCorrections: e.LEARNING_MAX_CORRECTIONS ?? 2000,
    maxPredictions: e.LEARNING_MAX_PREDICTIONS ?? 20000,
    refreshMs: e.LEARNING_REFRESH_MS ?? 5000,
  };
}

function limitsFrom(e: Env): Limits {
  return {
    maxBodyBytes: e.MAX_BODY_BYTES ?? DEFAULT_LIMITS.maxBodyBytes,
    maxJsonKeys: e.MAX_JSON_KEYS ?? DEFAULT_LIMITS.maxJsonKeys,
    maxTasksPerRequest: e.MAX_TASKS_PER_REQUEST ?? DEFAULT_LIMITS.maxTasksPerRequest,
    maxImageBytes: e.MAX_IMAGE_BYTES ?? DEFAULT_LIMITS.maxImageBytes,
    maxImagePixels: e.MAX_IMAGE_PIXELS ?? DEFAULT_LIMITS.maxImagePixels,
    downloadTimeoutMs: e.DOWNLOAD_TIMEOUT_MS ?? DEFAULT_LIMITS.downloadTimeoutMs,
    webhookMaxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES ?? DEFAULT_LIMITS.webhookMaxBodyBytes,
    maxContextRegions: e.MAX_CONTEXT_REGIONS ?? DEFAULT_LIMITS.maxContextRegions,
    decodedImageBudgetBytes: e.DECODED_IMAGE_BUDGET_BYTES ?? DEFAULT_LIMITS.decodedImageBudgetBytes,
    decodeTimeoutMs: e.DECODE_TIMEOUT_MS ?? DEFAULT_LIMITS.decodeTimeoutMs,
  };
}

/** A postgres:// URL as given; a SQLite path relative to MODEL_DIR. */
function learningDb(modelDir: string, v: string | undefined): string {
  const s = v?.trim();
  if (s && /^postgres(ql)?:\/\//i.test(s)) return s;
  return path.resolve(modelDir, s ?? 'learning.sqlite');
}

/** True when the URL's host is a loopback name, which inside a container means the container itself. */
export function isLoopbackUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || h === '0.0.0.0' || /^127\./.test(h);
  } catch {
    return false;
  }
}

/** Warnings worth logging at start-up (not errors: the server can still run). */
export function configWarnings(c: Config): string[] {
  const w: string[] = [];
  if (!c.labelStudioUrl) w.push('LABEL_STUDIO_URL is not set: only absolute http(s) and data: image URLs can be fetched');
  else if (!c.labelStudioApiKey) w.push('LABEL_STUDIO_API_KEY is not set: uploaded, local-files and cloud images will fail with 401');
  if (c.learning.enabled && !c.webhook.secret) {
    w.push('WEBHOOK_SECRET is not set: anyone who can reach /webhook can send corrections to active learning (see the README, "Webhook secret")');
  }
  if (c.webhook.verify && (!c.labelStudioUrl || !c.labelStudioApiKey)) {
    w.push('WEBHOOK_VERIFY=true needs LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY: every annotation webhook will be dropped');
  }
  return w;
}

/**
 * The start-up warning when Label Studio did not answer at LABEL_STUDIO_URL.
 * Only then is a container worth mentioning: a container marker file alone
 * (CI sandboxes have /.dockerenv) says nothing about where Label Studio runs.
 */
export function unreachableWarning(c: Config, reason: string): string {
  const base = `Label Studio did not answer at ${c.labelStudioUrl} (${reason}): image downloads from it will fail until it does`;
  if (c.runningInDocker && isLoopbackUrl(c.labelStudioUrl)) {
    return (
      `${base}. This looks like a container, where localhost is the container itself: ` +
      'use the Label Studio service name (e.g. http://label-studio:8080) or the host address (e.g. http://host.docker.internal:8080)'
    );
  }
  return base;
}
