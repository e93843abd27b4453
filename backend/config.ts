// The only module that reads process.env. Every variable is validated with
// zod; a bad one produces one clear line naming the variable.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { defaultModelDir } from './models/manifest.js';

export interface Limits {
  /** Largest JSON request body in bytes (413 above). */
  maxBodyBytes: number;
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
  /** Engine calls at once (the engine uses every core for one image). */
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
  /** Active learning from labelers' corrections (backend/learning). */
  learning: LearningConfig;
  /** 'auto' = CUDA when the runtime offers it, else CPU. */
  executionProvider: 'auto' | 'cpu' | 'cuda';
  /** ONNX Runtime intra-op threads; 0 = runtime default. */
  ortThreads: number;
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

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Byte size: a plain integer or a number with k/m/g suffix ("10mb"). */
const byteSize = z.string().transform((s, ctx) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?b?)\s*$/i.exec(s);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a byte size like 10485760 or 10mb, got "${s}"` });
    return z.NEVER;
  }
  const n = Math.floor(Number(m[1]) * unit);
  if (n < 1) {
    ctx.addIssue({ code: 'custom', message: 'must be at least 1 byte' });
    return z.NEVER;
  }
  return n;
});

function intVar(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.string().transform((s, ctx) => {
    const n = Number(s.trim());
    if (!/^\s*-?\d+\s*$/.test(s) || !Number.isSafeInteger(n)) {
      ctx.addIssue({ code: 'custom', message: `expected an integer, got "${s}"` });
      return z.NEVER;
    }
    if (n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min} and ${max}, got ${n}` });
      return z.NEVER;
    }
    return n;
  });
}

const boolVar = z.string().transform((s, ctx) => {
  const v = s.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  ctx.addIssue({ code: 'custom', message: `expected true or false, got "${s}"` });
  return z.NEVER;
});

function oneOf<const T extends readonly string[]>(values: T) {
  return z.string().transform((s, ctx) => {
    const v = s.trim().toLowerCase();
    if ((values as readonly string[]).includes(v)) return v as T[number];
    ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(', ')}, got "${s}"` });
    return z.NEVER;
  });
}

const httpUrl = z.string().transform((s, ctx) => {
  const v = s.trim();
  let u: URL | undefined;
  try {
    u = new URL(v);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !/^https?:\/\//i.test(v)) {
    ctx.addIssue({
      code: 'custom',
      message: `must start with http:// or https:// (e.g. http://label-studio:8080), got "${s}"`,
    });
    return z.NEVER;
  }
  return v.replace(/\/+$/, '');
});

const EnvSchema = z.object({
  PORT: intVar(1, 65535).optional(),
  HOST: z.string().optional(),
  LABEL_STUDIO_URL: httpUrl.optional(),
  LABEL_STUDIO_API_KEY: z.string().optional(),
  BASIC_AUTH_USER: z.string().optional(),
  BASIC_AUTH_PASS: z.string().optional(),
  LOG_LEVEL: oneOf(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const).optional(),
  LOG_FORMAT: oneOf(['json', 'text'] as const).optional(),
  MODEL_DIR: z.string().optional(),
  MODELS_MANIFEST: z.string().optional(),
  ACTIVE_LEARNING: boolVar.optional(),
  LEARNING_DB: z.string().optional(),
  LEARNING_MAX_PROJECTS: intVar(1, 1_000_000).optional(),
  LEARNING_MAX_CORRECTIONS: intVar(1, 1_000_000).optional(),
  LEARNING_MAX_PREDICTIONS: intVar(1, 10_000_000).optional(),
  LEARNING_REFRESH_MS: intVar(0, 3_600_000).optional(),
  CALIBRATION_MIN_CORRECTIONS: intVar(0, 1_000_000).optional(),
  EXECUTION_PROVIDER: oneOf(['auto', 'cpu', 'cuda'] as const).optional(),
  ORT_THREADS: intVar(0, 1024).optional(),
  FACE_LABEL: z.string().optional(),
  LOCAL_FILES_DOCUMENT_ROOT: z.string().optional(),
  MAX_BODY_BYTES: byteSize.optional(),
  MAX_TASKS_PER_REQUEST: intVar(1).optional(),
  MAX_IMAGE_BYTES: byteSize.optional(),
  MAX_IMAGE_PIXELS: intVar(1).optional(),
  DOWNLOAD_TIMEOUT_MS: intVar(100).optional(),
  RUNNING_IN_DOCKER: boolVar.optional(),
  ENGINE_CONCURRENCY: intVar(1, 64).optional(),
  QUEUE_MAX_LENGTH: intVar(0, 100_000).optional(),
  PREDICT_TIMEOUT_MS: intVar(1000).optional(),
  ALLOW_PRIVATE_IMAGE_HOSTS: boolVar.optional(),
  ALLOW_LINK_LOCAL: boolVar.optional(),
  WEBHOOK_SECRET: z.string().optional(),
  WEBHOOK_VERIFY: boolVar.optional(),
  WEBHOOK_MAX_BODY_BYTES: byteSize.optional(),
  MAX_CONTEXT_REGIONS: intVar(1, 10_000).optional(),
  DECODED_IMAGE_BUDGET_BYTES: byteSize.optional(),
  DECODE_TIMEOUT_MS: intVar(100).optional(),
  SHUTDOWN_GRACE_MS: intVar(0).optional(),
});

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 50 * 1024 ** 2,
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
 * Read and validate the configuration. Empty variables count as unset (a
 * docker-compose `FOO=` line). Throws ConfigError listing every bad variable.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  probe: ConfigProbe = { exists: existsSync },
): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') raw[key] = v;
  }
  const parsed = EnvSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const problems: string[] = [];
  if ((e.BASIC_AUTH_USER === undefined) !== (e.BASIC_AUTH_PASS === undefined)) {
    problems.push('BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together (or neither)');
  }
  if (e.BASIC_AUTH_USER?.includes(':')) problems.push('BASIC_AUTH_USER: must not contain ":"');
  const secret = e.WEBHOOK_SECRET?.trim();
  if (secret !== undefined && (secret.length < 16 || !/^[\x21-\x7e]+$/.test(secret))) {
    problems.push('WEBHOOK_SECRET: must be at least 16 printable characters without spaces (e.g. openssl rand -hex 32)');
  }
  if (problems.length) throw new ConfigError(problems);

  // default: the models/ folder of this install (also from dist/ and from any working directory)
  const modelDir = path.resolve(e.MODEL_DIR ?? defaultModelDir());
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
    learning: {
      enabled: e.ACTIVE_LEARNING ?? true,
      db: learningDb(modelDir, e.LEARNING_DB),
      minCorrections: e.CALIBRATION_MIN_CORRECTIONS ?? 20,
      maxProjects: e.LEARNING_MAX_PROJECTS ?? 1000,
      maxCorrections: e.LEARNING_MAX_CORRECTIONS ?? 2000,
      maxPredictions: e.LEARNING_MAX_PREDICTIONS ?? 20000,
      refreshMs: e.LEARNING_REFRESH_MS ?? 5000,
    },
    executionProvider: e.EXECUTION_PROVIDER ?? 'auto',
    ortThreads: e.ORT_THREADS ?? 0,
    faceLabel: e.FACE_LABEL?.trim(),
    localFilesDocumentRoot: e.LOCAL_FILES_DOCUMENT_ROOT ? path.resolve(e.LOCAL_FILES_DOCUMENT_ROOT) : undefined,
    limits: {
      maxBodyBytes: e.MAX_BODY_BYTES ?? DEFAULT_LIMITS.maxBodyBytes,
      maxTasksPerRequest: e.MAX_TASKS_PER_REQUEST ?? DEFAULT_LIMITS.maxTasksPerRequest,
      maxImageBytes: e.MAX_IMAGE_BYTES ?? DEFAULT_LIMITS.maxImageBytes,
      maxImagePixels: e.MAX_IMAGE_PIXELS ?? DEFAULT_LIMITS.maxImagePixels,
      downloadTimeoutMs: e.DOWNLOAD_TIMEOUT_MS ?? DEFAULT_LIMITS.downloadTimeoutMs,
      webhookMaxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES ?? DEFAULT_LIMITS.webhookMaxBodyBytes,
      maxContextRegions: e.MAX_CONTEXT_REGIONS ?? DEFAULT_LIMITS.maxContextRegions,
      decodedImageBudgetBytes: e.DECODED_IMAGE_BUDGET_BYTES ?? DEFAULT_LIMITS.decodedImageBudgetBytes,
      decodeTimeoutMs: e.DECODE_TIMEOUT_MS ?? DEFAULT_LIMITS.decodeTimeoutMs,
    },
    queue: {
      engineConcurrency: e.ENGINE_CONCURRENCY ?? 1,
      maxLength: e.QUEUE_MAX_LENGTH ?? 32,
      predictTimeoutMs: e.PREDICT_TIMEOUT_MS ?? 100_000,
    },
    imageHosts: {
      allowPrivate: e.ALLOW_PRIVATE_IMAGE_HOSTS ?? true,
      allowLinkLocal: e.ALLOW_LINK_LOCAL ?? false,
    },
    runningInDocker: e.RUNNING_IN_DOCKER ?? (probe.exists('/.dockerenv') || probe.exists('/run/.containerenv')),
    webhook: {
      secret,
      verify: e.WEBHOOK_VERIFY ?? (e.LABEL_STUDIO_URL !== undefined && !!e.LABEL_STUDIO_API_KEY?.trim()),
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS ?? 10_000,
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
