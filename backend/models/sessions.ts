// The one place that creates onnxruntime sessions: execution provider choice
// (CUDA when asked and available, else CPU), thread count, log silencing.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

export type Provider = 'cpu' | 'cuda';

/** The subset of a winston logger the models use. */
export interface ModelLogger {
  info(message: string): unknown;
  warn(message: string): unknown;
  debug?(message: string): unknown;
}

export const silentLogger: ModelLogger = { info: () => undefined, warn: () => undefined };

export interface SessionFactoryOptions {
  provider: Provider;
  /** intraOpNumThreads per session; default: every core this process may use (os.availableParallelism) on the CPU, 1 on CUDA. */
  threads?: number;
  logger?: ModelLogger;
}

// onnxruntime's own logger: errors only (its warnings about unused
// initializers and shape merges would flood the logs).
ort.env.logLevel = 'error';

/** onnxruntime-node's folder of native binaries (bin/napi-vN/platform/arch). */
function ortBinDir(): string {
  const req = createRequire(import.meta.url);
  return path.join(path.dirname(req.resolve('onnxruntime-node/package.json')), 'bin');
}

const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'];

/**
 * Whether onnxruntime-node has its CUDA provider library for this platform
 * (only after its install script ran with ONNXRUNTIME_NODE_INSTALL=cuda12, as
 * on the GPU image; npm ci skips it). Every napi-vN folder is looked at, so a
 * new N-API level (napi-vN) does not hide it. When the folder cannot be read the answer
 * is false, with the reason logged: a CPU start is the safe default.
 */
export function cudaProviderInstalled(log: ModelLogger = silentLogger, binDir?: string): boolean {
  let bin = binDir;
  try {
    bin ??= ortBinDir();
    for (const napi of readdirSync(bin)) {
      const dir = path.join(bin, napi, process.platform, process.arch);
      if (CUDA_PROVIDER_FILES.some((f) => existsSync(path.join(dir, f)))) return true;
    }
    return false;
  } catch (e) {
    log.warn(`models: cannot look for the CUDA provider library in ${bin ?? 'onnxruntime-node/bin'} (${(e as Error).message}); assuming there is none`);
    return false;
  }
}

/**
 * Session options, each set on purpose rather than left to the runtime:
 * - every graph optimisation (constant folding, conv+bn+activation fusion);
 * - sequential execution, one inter-op thread: the models are single chains
 *   of convolutions, the parallel executor only adds scheduling;
 * - intra-op threads: `threads`, else every core this process may use
 *   (onnxruntime-node runs inference on the calling JS thread, so a second
 *   engine call cannot overlap it: the intra-op pool is what keeps the cores busy);
 * - the CPU memory arena on: the detector's input size varies with the
 *   image, and the arena keeps its largest buffers instead of allocating them
 *   again for every call;
 * - memory patterns off: a pattern is planned and kept per input shape, and
 *   the detector and keypoint inputs take a new shape with almost every aspect
 *   ratio. Measured on the bench's 100 images, one engine, one thread: peak RSS
 *   503-527 MiB without vs 542-575 MiB with, CPU 258-289 vs 301-304 ms per
 *   image, outputs byte-identical.
 */
export function cpuSessionOptions(threads?: number): ort.InferenceSession.SessionOptions {
  return {
    logSeverityLevel: 3,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    intraOpNumThreads: threads && threads > 0 ? threads : availableParallelism(),
    enableCpuMemArena: true,
    enableMemPattern: false,
  };
}

/** The provider a configured 'auto' | 'cpu' | 'cuda' means here: 'auto' is CUDA when its provider library is installed. */
export function resolveProvider(asked: Provider | 'auto', log: ModelLogger = silentLogger): Provider {
  return asked === 'auto' ? (cudaProviderInstalled(log) ? 'cuda' : 'cpu') : asked;
}

/**
 * CUDA sessions: the CPU options with one intra-op thread unless `threads`
 * says otherwise. The nodes CUDA leaves to the CPU are small shape arithmetic,
 * and a pool of spinning threads per session only slows each run: on an H200
 * host (16 cores, 2026-11-30, one session, steady state) MoveNet took 15.1 ms
 * with 16 threads and 3.2 ms with 1, CenterFace 640x640 4.4 vs 2.6 ms, the
 * face mesh at batch 4 21.6 vs 8.0 ms.
 */
export function cudaSessionOptions(threads?: number): ort.InferenceSession.SessionOptions {
  return { ...cpuSessionOptions(threads && threads > 0 ? threads : 1), executionProviders: ['cuda'] };
}

export const RUN_OPTIONS: ort.InferenceSession.RunOptions = { logSeverityLevel: 3 };

export class SessionFactory {
  private cudaFailed = false;
  private announced = false;
  /** The provider actually used by the sessions created so far ('cpu' or 'cuda'). */
  provider: Provider;
  private readonly sessions: ort.InferenceSession[] = [];

  constructor(private readonly opts: SessionFactoryOptions) {
    this.provider = opts.provider;
  }

  private baseOptions(): ort.InferenceSession.SessionOptions {
    return cpuSessionOptions(this.opts.threads);
  }

  /** Create a session for `file`; `label` names it in log lines. */
  async create(file: string, label: string): Promise<ort.InferenceSession> {
    const log = this.opts.logger ?? silentLogger;
    let session: ort.InferenceSession | undefined;
    if (this.opts.provider === 'cuda' && !this.cudaFailed && !cudaProviderInstalled(log)) {
      this.cudaFailed = true;
      log.warn('models: CUDA requested but onnxruntime-node has no CUDA provider library ' +
        '(on a GPU host run ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js); falling back to CPU');
    }
    if (this.opts.provider === 'cuda' && !this.cudaFailed) {
      try {
        session = await ort.InferenceSession.create(file, cudaSessionOptions(this.opts.threads));
        this.provider = 'cuda';
      } catch (e) {
        this.cudaFailed = true;
        const why = (e as Error).message.split('\n')[0].slice(0, 300);
        log.warn(`models: CUDA execution provider unavailable (${why}); falling back to CPU`);
      }
    }
    if (!session) {
      session = await ort.InferenceSession.create(file, { ...this.baseOptions(), executionProviders: ['cpu'] });
      this.provider = 'cpu';
    }
    if (!this.announced) {
      this.announced = true;
      log.info(`models: using the ${this.provider.toUpperCase()} execution provider` +
        ` with ${(this.provider === 'cpu' ? this.baseOptions() : cudaSessionOptions(this.opts.threads)).intraOpNumThreads} intra-op thread(s) per session`);
    }
    log.debug?.(`models: loaded ${label} from ${file} on ${this.provider}`);
    this.sessions.push(session);
    return session;
  }

  async closeAll(): Promise<void> {
    const all = this.sessions.splice(0);
    await Promise.all(all.map((s) => s.release().catch(() => undefined)));
  }
}

/** Read an output as Float32Array (throws when missing or not float32). */
export function floatOutput(out: ort.InferenceSession.OnnxValueMapType, name: string): { data: Float32Array; dims: readonly number[] } {
  const t = out[name] as ort.Tensor | undefined;
  if (!t) throw new Error(`model output ${name} missing`);
  if (t.type !== 'float32') throw new Error(`model output ${name} is ${t.type}, expected float32`);
  return { data: t.data as Float32Array, dims: t.dims };
}
