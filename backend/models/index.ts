// Build the model set once per process: read the manifest, verify files,
// create sessions on the chosen execution provider, warm every adapter up.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaceDetection, FaceDetectorPort } from '../pipeline/ports.js';
import type { RgbImage } from '../pipeline/types.js';
import { BlazeFaceDetector, CenterFaceDetector, type FaceDetectorOptions } from './face-detector.js';
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
import { PersonMatte } from './person-matte.js';
import { type ModelLogger, type Provider, SessionFactory, silentLogger } from './sessions.js';

export { COCO_KEYPOINTS } from './keypoints.js';
export { FACE_LANDMARK_NAMES } from './face-detector.js';
export { ModelFileError, ManifestError } from './manifest.js';
export type { Role, ModelEntry } from './manifest.js';
export type { Provider, ModelLogger } from './sessions.js';
export { cudaProviderInstalled } from './sessions.js';
export { MoveNetKeypoints, CenterFaceDetector, BlazeFaceDetector, FaceMeshLandmarks, PersonMatte, GenericSegmenter };

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
  /** Load the person matte (default true). */
  personMatte?: boolean;
  keypoints?: KeypointOptions;
  faceDetector?: FaceDetectorOptions;
  faceLandmarks?: FaceLandmarkOptions;
  logger?: ModelLogger;
}

export interface ModelSet {
  keypoints: MoveNetKeypoints;
  /** CenterFaceDetector or BlazeFaceDetector; detect(img, threshold?) overrides the threshold per call. */
  faceDetector: FaceDetectorPort & { detect(img: RgbImage, threshold?: number): Promise<FaceDetection[]> };
  faceLandmarks: FaceMeshLandmarks;
  personMatte?: PersonMatte;
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

/**
 * Load the model set. Throws ModelFileError (naming the file, the expected
 * sha256 and `npm run models:export`) when a shipped file is missing or corrupt.
 */
export async function loadModelSet(opts: LoadModelSetOptions): Promise<ModelSet> {
  const log = opts.logger ?? silentLogger;
  const manifestPath = opts.manifestPath ?? defaultManifestPath();
  const manifest = await loadManifest(manifestPath);
  const modelDir = opts.modelDir ?? path.dirname(manifestPath);

  const resolve = async (role: Role, required: boolean): Promise<Resolved | undefined> => {
    const def = entryFor(manifest, role, opts.select?.[role]);
    if (opts.select?.[role] && !def) {
      throw new ManifestError(manifestPath, `has no ${role} model with id ${opts.select[role]}`);
    }
    const ov = opts.overrides?.[role];
    if (ov) return resolveOverride(role, ov, def);
    if (!def) {
      if (required) throw new ManifestError(manifestPath, `has no ${role} model`);
      return undefined;
    }
    const file = await verifyModelFile(def, modelDir);
    return { entry: def, file, sha256: def.sha256 ?? (await sha256File(file)) };
  };

  const r = {
    keypoints: (await resolve('keypoints', true))!,
    detector: (await resolve('face-detector', true))!,
    landmarks: (await resolve('face-landmarks', true))!,
    matte: opts.personMatte === false ? undefined : await resolve('person-matte', false),
    segmenter: await resolve('face-segmenter', false),
  };

  const factory = new SessionFactory({ provider: opts.provider, threads: opts.threads, logger: log });
  try {
    const keypoints = await MoveNetKeypoints.create(await factory.create(r.keypoints.file, r.keypoints.entry.id), r.keypoints.entry, opts.keypoints);
    const detSession = await factory.create(r.detector.file, r.detector.entry.id);
    let faceDetector: CenterFaceDetector | BlazeFaceDetector;
    switch (r.detector.entry.decoder) {
      case 'centerface':
        faceDetector = await CenterFaceDetector.create(detSession, r.detector.entry, opts.faceDetector);
        break;
      case 'blazeface':
        faceDetector = await BlazeFaceDetector.create(detSession, r.detector.entry, opts.faceDetector);
        break;
      default:
        throw new ManifestError(manifestPath, `face-detector decoder ${r.detector.entry.decoder} is not supported (centerface, blazeface)`);
    }
    const faceLandmarks = await FaceMeshLandmarks.create(await factory.create(r.landmarks.file, r.landmarks.entry.id), r.landmarks.entry, opts.faceLandmarks);
    const personMatte = r.matte ? await PersonMatte.create(await factory.create(r.matte.file, r.matte.entry.id), r.matte.entry) : undefined;
    const faceSegmenter = r.segmenter
      ? await GenericSegmenter.create(await factory.create(r.segmenter.file, r.segmenter.entry.id), r.segmenter.entry)
      : undefined;

    const used = [r.keypoints, r.detector, r.landmarks, r.matte, r.segmenter].filter((x): x is Resolved => !!x);
    const fingerprint = createHash('sha256')
      .update(used.map((u) => `${u.entry.role}:${u.entry.id}:${u.sha256}`).join('\n'))
      .digest('hex')
      .slice(0, 12);
    const entries: Partial<Record<Role, ModelEntry>> = {};
    for (const u of used) entries[u.entry.role] = u.entry;
    log.info(`models: loaded ${used.map((u) => `${u.entry.role}=${u.entry.id}`).join(', ')} (fingerprint ${fingerprint}, provider ${factory.provider})`);
    return {
      keypoints,
      faceDetector,
      faceLandmarks,
      personMatte,
      faceSegmenter,
      provider: factory.provider,
      fingerprint,
      entries,
      close: () => factory.closeAll(),
    };
  } catch (e) {
    await factory.closeAll();
    throw e;
  }
}
