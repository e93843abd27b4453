// Build the model set once per process: read the manifest, verify files,
// create sessions on the chosen execution provider, warm every adapter up.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { atOneSize, BlazeFaceDetector, CenterFaceDetector, type FaceDetectorOptions, type ThresholdDetector } from './face-detector.js';
import { FaceMeshLandmarks, type FaceLandmarkOptions } from './face-landmarks.js';
import { GenericSegmenter } from './generic-segmenter.js';
import { type KeypointOptions, MoveNetKeypoints } from './keypoints.js';
import {
  defaultManifestPath,
  entryFor,
  loadManifest,
  ManifestError,
  type ModelEntry,
  type ModelEntryInput,
  ModelFileError,
  parseModelEntry,
  type Role,
  sha256File,
  verifyModelFile,
} from './manifest.js';
import { type ModelLogger, type Provider, SessionFactory, silentLogger } from './sessions.js';

export { COCO_KEYPOINTS } from './keypoints.js';
export { FACE_LANDMARK_NAMES } from './face-detector.js';
export { ModelFileError, ManifestError } from './manifest.js';
export type { Role, ModelEntry } from './manifest.js';
export type { Provider, ModelLogger } from './sessions.js';
export { cudaProviderInstalled } from './sessions.js';
export { MoveNetKeypoints, CenterFaceDetector, BlazeFaceDetector, FaceMeshLandmarks, GenericSegmenter };

/** A user ONNX for a role: the file, and its spec (a manifest entry without `file`). */
export interface ModelOverride {
  path: string;
  /** Required for face-segmenter unless a sidecar JSON (<file>.json) exists; other roles reuse the default entry's spec. */
  entry?: Omit<ModelEntryInput, 'file'>;
}

export interface LoadModelSetOptions {
  manifestPath?: string;
  /** Folder the manifest's `file` paths are relative to (default: the manifest's folder). */
  modelDir?: string;
  provider: Provider;
  /** intraOpNumThreads per session. */
  threads?: number;
  /**
   * role -> a user model: a path to an .onnx (spec from a sidecar <file>.json,
   * else the role's default entry), a path to a .json model entry whose `file`
   * is relative to it, or { path, entry }.
   */
  overrides?: Partial<Record<Role, string | ModelOverride>>;
  /** role -> manifest entry id, to pick a non-default entry (e.g. face-detector: blazeface-back-256). */
  select?: Partial<Record<Role, string>>;
  keypoints?: KeypointOptions;
  faceDetector?: FaceDetectorOptions;
  faceLandmarks?: FaceLandmarkOptions;
  /** One input shape per session (square letterboxes, no coarse detector pass, a fixed mesh batch, one face-parser crop per call); default: on CUDA only. */
  oneShape?: boolean;
  logger?: ModelLogger;
}

/** The mesh batch of every call when oneShape: 8 crops (group photos of up to 8 faces in one call, portraits pay 7 blank crops). */
export const ONE_SHAPE_MESH_BATCH = 8;

export interface ModelSet {
  keypoints: MoveNetKeypoints;
  /** CenterFaceDetector or BlazeFaceDetector; detect(img, threshold?) overrides the threshold per call. */
  faceDetector: ThresholdDetector;
  faceLandmarks: FaceMeshLandmarks;
  faceSegmenter?: GenericSegmenter;
  /** Execution provider the sessions run on: 'cpu' or 'cuda'. */
  provider: string;
  /** Short hash of the loaded models' role, id and sha256, for model_version. */
  fingerprint: string;
  /** The entries in use, by role. */
  entries: Partial<Record<Role, ModelEntry>>;
  close(): Promise<void>;
}

interface Resolved {
  entry: ModelEntry;
  file: string;
  sha256: string;
}

async function resolveOverride(role: Role, ov: string | ModelOverride, fallback: ModelEntry | undefined): Promise<Resolved> {
  const o: ModelOverride = typeof ov === 'string' ? { path: ov } : ov;
  const abs = path.resolve(o.path);
  // a user's file: "regenerate the shipped models" would be the wrong advice
  if (!existsSync(abs)) throw new ModelFileError(abs, undefined, undefined, `given for the ${role} role does not exist`, 'check the path (FACE_PARSER: `npm run models:parser` makes the optional face parser)');
  let spec: Omit<ModelEntryInput, 'file'> | undefined = o.entry;
  let file = abs;
  if (abs.endsWith('.json')) {
    const raw = JSON.parse(await readFile(abs, 'utf8').catch((e) => {
      throw new ManifestError(abs, `cannot be read (${(e as Error).message})`);
    })) as ModelEntryInput;
    spec = raw;
    file = path.resolve(path.dirname(abs), raw.file);
  } else if (!spec) {
    for (const side of [`${abs}.json`, abs.replace(/\.onnx$/, '.json')]) {
      try {
        spec = JSON.parse(await readFile(side, 'utf8')) as ModelEntryInput;
        break;
      } catch {
        /* no sidecar */
      }
    }
  }
  if (!spec) {
    if (!fallback || role === 'face-segmenter') {
      throw new ManifestError(abs, `a ${role} model needs a spec: pass { path, entry } or put a model entry in ${abs}.json`);
    }
    spec = { ...fallback, id: `user:${path.basename(abs)}`, sha256: undefined, upstream: undefined, license: 'user-supplied' };
  }
  const entry = parseModelEntry({ ...spec, role, file }, abs);
  const checked = await verifyModelFile(entry, path.dirname(file));
  return { entry, file: checked, sha256: entry.sha256 ?? (await sha256File(checked)) };
}

interface ResolvedSet {
  keypoints: Resolved;
  detector: Resolved;
  landmarks: Resolved;
  segmenter?: Resolved;
}

/** Every role's file, checked: the default (or selected) manifest entry, or the user's override. */
async function resolveModels(opts: LoadModelSetOptions, manifestPath: string): Promise<ResolvedSet> {
  const manifest = await loadManifest(manifestPath);
  const modelDir = opts.modelDir ?? path.dirname(manifestPath);
  const resolve = async (role: Role): Promise<Resolved | undefined> => {
    const id = opts.select?.[role];
    const def = entryFor(manifest, role, id);
    if (id && !def) throw new ManifestError(manifestPath, `has no ${role} model with id ${id}`);
    const ov = opts.overrides?.[role];
    if (ov) return resolveOverride(role, ov, def);
    if (!def) return undefined;
    const file = await verifyModelFile(def, modelDir);
    return { entry: def, file, sha256: def.sha256 ?? (await sha256File(file)) };
  };
  const required = async (role: Role): Promise<Resolved> => {
    const r = await resolve(role);
    if (!r) throw new ManifestError(manifestPath, `has no ${role} model`);
    return r;
  };
  return {
    keypoints: await required('keypoints'),
    detector: await required('face-detector'),
    landmarks: await required('face-landmarks'),
    segmenter: await resolve('face-segmenter'),
  };
}

type CreateFaceDetector = (session: InferenceSession, entry: ModelEntry, opts?: FaceDetectorOptions) => Promise<CenterFaceDetector | BlazeFaceDetector>;

/** The face detector adapter for each manifest `decoder`. */
const FACE_DETECTORS = new Map<string, CreateFaceDetector>([
  ['centerface', CenterFaceDetector.create],
  ['blazeface', BlazeFaceDetector.create],
]);

async function createFaceDetector(factory: SessionFactory, r: Resolved, opts: FaceDetectorOptions | undefined, manifestPath: string) {
  const create = FACE_DETECTORS.get(r.entry.decoder);
  if (!create) {
    const known = [...FACE_DETECTORS.keys()].join(', ');
    throw new ManifestError(manifestPath, `face-detector decoder ${r.entry.decoder} is not supported (${known})`);
  }
  return create(await factory.create(r.file, r.entry.id), r.entry, opts);
}

/** Short hash of the models' role, id and sha256: changes whenever a model file does. */
function fingerprintOf(used: Resolved[]): string {
  const text = used.map((u) => `${u.entry.role}:${u.entry.id}:${u.sha256}`).join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * Load the model set. Throws ModelFileError (naming the file, the expected
 * sha256 and `npm run models:export`) when a shipped file is missing or corrupt.
 */
export async function loadModelSet(opts: LoadModelSetOptions): Promise<ModelSet> {
  const log = opts.logger ?? silentLogger;
  const manifestPath = opts.manifestPath ?? defaultManifestPath();
  const r = await resolveModels(opts, manifestPath);
  const factory = new SessionFactory({ provider: opts.provider, threads: opts.threads, logger: log });
  const session = (x: Resolved) => factory.create(x.file, x.entry.id);
  try {
    const keypointSession = await session(r.keypoints);
    // On CUDA a session whose input shape differs from its previous call's
    // spends seconds of CPU before it runs (FaceLandmarkOptions.fixedBatch):
    // square letterboxes, no coarse detector pass, every mesh call at one batch.
    const oneShape = opts.oneShape ?? factory.provider === 'cuda';
    const keypoints = await MoveNetKeypoints.create(keypointSession, r.keypoints.entry, { square: oneShape, ...opts.keypoints });
    const detector = await createFaceDetector(factory, r.detector, oneShape ? { square: true, ...opts.faceDetector } : opts.faceDetector, manifestPath);
    const faceDetector = oneShape ? atOneSize(detector) : detector;
    const landmarkSession = await session(r.landmarks);
    const faceLandmarks = await FaceMeshLandmarks.create(landmarkSession, r.landmarks.entry, oneShape ? { fixedBatch: true, maxBatch: ONE_SHAPE_MESH_BATCH, ...opts.faceLandmarks } : opts.faceLandmarks);
    const faceSegmenter = r.segmenter ? await GenericSegmenter.create(await session(r.segmenter), r.segmenter.entry, { oneCropPerCall: oneShape }) : undefined;
    const used = [r.keypoints, r.detector, r.landmarks, r.segmenter].filter((x): x is Resolved => !!x);
    const fingerprint = fingerprintOf(used);
    const entries: Partial<Record<Role, ModelEntry>> = Object.fromEntries(used.map((u) => [u.entry.role, u.entry]));
    log.info(`models: loaded ${used.map((u) => `${u.entry.role}=${u.entry.id}`).join(', ')} (fingerprint ${fingerprint}, provider ${factory.provider})`);
    const close = () => factory.closeAll();
    return { keypoints, faceDetector, faceLandmarks, faceSegmenter, provider: factory.provider, fingerprint, entries, close };
  } catch (e) {
    await factory.closeAll();
    throw e;
  }
}
