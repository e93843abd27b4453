// The model manifest (models/manifest.json): which ONNX file plays which role,
// its checksum, provenance, licence and tensor contract. This module is the
// only reader of the manifest; `npm run models:export` writes it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const ROLES = ['keypoints', 'face-detector', 'face-landmarks', 'face-segmenter'] as const;
export type Role = (typeof ROLES)[number];

const REGENERATE = 'run `npm run models:export` to regenerate';

const Dim = z.union([z.number().int(), z.string()]);
const Triple = z.tuple([z.number(), z.number(), z.number()]);

export const InputSpecSchema = z.object({
  name: z.string(),
  shape: z.array(Dim),
  dtype: z.enum(['float32', 'int32', 'uint8']),
  layout: z.enum(['NCHW', 'NHWC']),
  channelOrder: z.enum(['RGB', 'BGR']).default('RGB'),
  /** Value range the model expects, informative. */
  range: z.tuple([z.number(), z.number()]).optional(),
  normalisation: z.string().optional(),
  /** Native input size [width, height] where the model has one. */
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
  /** value = (pixel * scale - mean[c]) / std[c], c in channelOrder (used by the generic segmenter). */
  scale: z.number().optional(),
  mean: Triple.optional(),
  std: Triple.optional(),
});
export type InputSpec = z.infer<typeof InputSpecSchema>;

export const OutputSpecSchema = z.object({
  name: z.string(),
  shape: z.array(Dim),
  meaning: z.string().default(''),
});
export type OutputSpec = z.infer<typeof OutputSpecSchema>;

/** How to read a user-supplied face parser's output (role face-segmenter). */
export const SegmenterSpecSchema = z.object({
  /** Class channels that count as face; their probabilities are summed. */
  faceClasses: z.array(z.number().int().nonnegative()).min(1),
  /**
   * Class channels that count as hair. With them the parser refines the
   * landmark region (hair removed, sure face added) instead of replacing it.
   */
  hairClasses: z.array(z.number().int().nonnegative()).min(1).optional(),
  outputLayout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
  /** logits: softmax over classes; probabilities: used as is; sigmoid: one channel of logits. */
  outputKind: z.enum(['logits', 'probabilities', 'sigmoid']).default('logits'),
});
export type SegmenterSpec = z.infer<typeof SegmenterSpecSchema>;

export const ModelEntrySchema = z.object({
  role: z.enum(ROLES),
  id: z.string().min(1),
  /** Which adapter decodes the outputs (movenet-multipose, centerface, blazeface, facemesh, generic). */
  decoder: z.string().min(1),
  /** The entry used for its role when several exist. */
  default: z.boolean().default(true),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits').optional(),
  bytes: z.number().int().nonnegative().optional(),
  upstream: z
    .object({
      package: z.string(),
      version: z.string(),
      path: z.string(),
      origin: z.string().optional(),
      archiveSha256: z.string().optional(),
    })
    .optional(),
  license: z.string().default('unknown'),
  export: z.string().optional(),
  input: InputSpecSchema,
  outputs: z.array(OutputSpecSchema).min(1),
  /** Landmark count (face-landmarks). */
  points: z.number().int().positive().optional(),
  segmenter: SegmenterSpecSchema.optional(),
});
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type ModelEntryInput = z.input<typeof ModelEntrySchema>;

export const ManifestSchema = z.object({
  schema: z.literal(1),
  models: z.array(ModelEntrySchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Repository root models/ folder (works from backend/models and dist/backend/models). */
export function defaultModelDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..';
  return path.resolve(here, up, 'models');
}

export function defaultManifestPath(): string {
  return path.join(defaultModelDir(), 'manifest.json');
}

/** A model file that is missing or does not match its recorded checksum. */
export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    readonly expectedSha256: string | undefined,
    readonly actualSha256: string | undefined,
    reason: string,
    /** What to do about it; default: regenerate the shipped models. */
    hint = REGENERATE,
  ) {
    super(
      `model file ${file} ${reason}` +
        (expectedSha256 ? ` (expected sha256 ${expectedSha256}${actualSha256 ? `, got ${actualSha256}` : ''})` : '') +
        `; ${hint}`,
    );
    this.name = 'ModelFileError';
  }
}

export class ManifestError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`model manifest ${file}: ${reason}; ${REGENERATE}`);
    this.name = 'ManifestError';
  }
}

export async function loadManifest(file: string = defaultManifestPath()): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ManifestError(file, `cannot be read (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(file, `is not valid JSON (${(e as Error).message})`);
  }
  return parseManifest(json, file);
}

export function parseManifest(json: unknown, file = 'manifest'): Manifest {
  const r = ManifestSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ManifestError(file, `is invalid (${issues})`);
  }
  return r.data;
}

export function parseModelEntry(json: unknown, file = 'model spec'): ModelEntry {
  const r = ModelEntrySchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ManifestError(file, `is invalid (${issues})`);
  }
  return r.data;
}

/** The default entry of a role, or undefined. */
export function entryFor(manifest: Manifest, role: Role, id?: string): ModelEntry | undefined {
  const all = manifest.models.filter((m) => m.role === role);
  if (id) return all.find((m) => m.id === id);
  return all.find((m) => m.default) ?? all[0];
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Resolve an entry's file against `modelDir` and check it exists and matches
 * the recorded sha256 (when the entry has one). Returns the absolute path.
 */
export async function verifyModelFile(entry: ModelEntry, modelDir: string): Promise<string> {
  const file = path.resolve(modelDir, entry.file);
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a file');
  } catch {
    throw new ModelFileError(file, entry.sha256, undefined, `for ${entry.role} model ${entry.id} is missing`);
  }
  if (entry.sha256) {
    const actual = await sha256File(file);
    if (actual !== entry.sha256) {
      throw new ModelFileError(file, entry.sha256, actual, `for ${entry.role} model ${entry.id} is corrupt or outdated`);
    }
  }
  return file;
}
