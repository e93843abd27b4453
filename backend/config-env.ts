// The environment variables the configuration is read from: their zod
// schema, value parsers (byte sizes, integers in a range, booleans, choices,
// http(s) URLs) and the checks across variables. config.ts turns the result
// into a Config.
import { z } from 'zod';

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
  FACE_PARSER: z.string().trim().min(1).optional(),
  REFINER_PRIOR: z.string().trim().min(1).optional(),
  ALWAYS_TILE: boolVar.optional(),
  BEARD: oneOf(['include', 'exclude'] as const).optional(),
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
  ENGINE_WORKERS: intVar(0, 64).optional(),
  QUEUE_MAX_LENGTH: intVar(0, 100_000).optional(),
  PREDICT_TIMEOUT_MS: intVar(1000).optional(),
  ALLOW_PRIVATE_IMAGE_HOSTS: boolVar.optional(),
  ALLOW_LINK_LOCAL: boolVar.optional(),
  WEBHOOK_SECRET: z.string().optional(),
  WEBHOOK_VERIFY: boolVar.optional(),
  WEBHOOK_MAX_BODY_BYTES: byteSize.optional(),
  MAX_CONTEXT_REGIONS: intVar(1, 10_000).optional(),
  MAX_JSON_KEYS: intVar(1_000, 100_000_000).optional(),
  DECODED_IMAGE_BUDGET_BYTES: byteSize.optional(),
  DECODE_TIMEOUT_MS: intVar(100).optional(),
  SHUTDOWN_GRACE_MS: intVar(0).optional(),
});

export type Env = z.infer<typeof EnvSchema>;

/** The variables validated; empty ones count as unset (a docker-compose `FOO=` line). Throws ConfigError listing every bad one. */
export function readEnv(env: Record<string, string | undefined>): Env {
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
  return e;
}
