// The composition root: the one place that turns configuration into a running
// engine and server. Nothing else reads the environment.
import { loadConfig, type Config } from './config.js';
import { loadModelSet } from './models/index.js';
import { DEFAULT_SETTINGS, FaceSegEngine, type EngineSettings } from './pipeline/engine.js';
import type { Logger } from 'winston';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** onnxruntime-node ships the CUDA provider library only after its install script ran with ONNXRUNTIME_NODE_INSTALL=cuda12 (npm ci skips it). */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const dir = path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(path.join(dir, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

export interface EngineBuildOptions {
  config: Config;
  logger?: Logger;
  settings?: Partial<EngineSettings>;
}

export async function buildEngine(opts: EngineBuildOptions): Promise<FaceSegEngine> {
  const { config, logger } = opts;
  const models = await loadModelSet({
    manifestPath: config.modelsManifest,
    provider: config.executionProvider === 'auto' ? (cudaProviderInstalled() ? 'cuda' : 'cpu') : config.executionProvider,
    threads: config.ortThreads || undefined,
    personMatte: false,
    logger,
  });
  return new FaceSegEngine(
    { keypoints: models.keypoints, faceDetector: models.faceDetector, faceLandmarks: models.faceLandmarks, faceSegmenter: models.faceSegmenter },
    { fingerprint: models.fingerprint, provider: models.provider, settings: { ...DEFAULT_SETTINGS, ...(opts.settings ?? {}) }, onClose: () => models.close(),
      models: Object.fromEntries(Object.entries(models.entries).map(([role, e]) => [role, e?.id ?? ''])),
    },
  );
}

export { loadConfig };
