import { describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, configWarnings, isLoopbackUrl, loadConfig, unreachableWarning } from '../../backend/config.js';

const noDocker = { exists: () => false };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, noDocker);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults', () => {
    const c = loadConfig({}, noDocker);
    expect(c).toMatchObject({
      port: 9090,
      host: '0.0.0.0',
      logLevel: 'info',
      logFormat: 'text',
      executionProvider: 'auto',
      ortThreads: 0,
      alwaysTile: false,
      beard: 'include',
      refinerPrior: null,
      // one engine worker per core, at most 4, and as many engine calls at once
      engineWorkers: Math.min(4, os.availableParallelism()),
      runningInDocker: false,
      limits: { maxBodyBytes: 50 * 1024 * 1024, maxTasksPerRequest: 1000, downloadTimeoutMs: 30000 },
      queue: { engineConcurrency: Math.min(4, os.availableParallelism()), maxLength: 32, predictTimeoutMs: 100_000 },
      imageHosts: { allowPrivate: true, allowLinkLocal: false },
    });
    expect(c.labelStudioUrl).toBeUndefined();
    expect(c.basicAuth).toBeUndefined();
    expect(c.modelDir).toBe(path.resolve('models'));
    expect(c.modelsManifest).toBe(path.resolve('models', 'manifest.json'));
  });

  it('reads every variable', () => {
    const c = loadConfig(
      {
        PORT: '8000',
        HOST: '127.0.0.1',
        LABEL_STUDIO_URL: 'https://ls.example.com/',
        LABEL_STUDIO_API_KEY: ' abc ',
        BASIC_AUTH_USER: 'u',
        BASIC_AUTH_PASS: 'p:w',
        LOG_LEVEL: 'DEBUG',
        LOG_FORMAT: 'json',
        MODEL_DIR: '/models',
        MODELS_MANIFEST: 'm.json',
        REFINER_PRIOR: '/priors/team.json',
        ALWAYS_TILE: 'true',
        BEARD: 'exclude',
        EXECUTION_PROVIDER: 'cuda',
        ORT_THREADS: '4',
        ENGINE_WORKERS: '3',
        FACE_LABEL: 'Gesicht',
        FACE_PARSER: '/models/optional/parser.onnx',
        LOCAL_FILES_DOCUMENT_ROOT: '/data/media',
        MAX_BODY_BYTES: '10mb',
        MAX_TASKS_PER_REQUEST: '50',
        MAX_JSON_KEYS: '20000',
        MAX_IMAGE_BYTES: '1024k',
        MAX_IMAGE_PIXELS: '1000000',
        DOWNLOAD_TIMEOUT_MS: '5000',
        RUNNING_IN_DOCKER: 'yes',
        ENGINE_CONCURRENCY: '2',
        QUEUE_MAX_LENGTH: '5',
        PREDICT_TIMEOUT_MS: '30000',
        ALLOW_PRIVATE_IMAGE_HOSTS: 'false',
        ALLOW_LINK_LOCAL: 'true',
        ACTIVE_LEARNING: 'false',
        LEARNING_DB: '/var/lib/faceseg/learning.db',
        CALIBRATION_MIN_CORRECTIONS: '5',
        LEARNING_MAX_PROJECTS: '10',
        LEARNING_MAX_CORRECTIONS: '100',
        LEARNING_MAX_PREDICTIONS: '5000',
        LEARNING_REFRESH_MS: '250',
      },
      noDocker,
    );
    expect(c).toEqual({
      port: 8000,
      host: '127.0.0.1',
      labelStudioUrl: 'https://ls.example.com',
      labelStudioApiKey: 'abc',
      basicAuth: { user: 'u', pass: 'p:w' },
      logLevel: 'debug',
      logFormat: 'json',
      modelDir: '/models',
      modelsManifest: '/models/m.json',
      faceParser: '/models/optional/parser.onnx',
      refinerPrior: '/priors/team.json',
      alwaysTile: true,
      beard: 'exclude',
      executionProvider: 'cuda',
      ortThreads: 4,
      engineWorkers: 3,
      faceLabel: 'Gesicht',
      localFilesDocumentRoot: '/data/media',
      limits: {
        maxBodyBytes: 10 * 1024 * 1024,
        maxJsonKeys: 20_000,
        maxTasksPerRequest: 50,
        maxImageBytes: 1024 * 1024,
        maxImagePixels: 1_000_000,
        downloadTimeoutMs: 5000,
        webhookMaxBodyBytes: 2 * 1024 * 1024,
        maxContextRegions: 20,
        decodedImageBudgetBytes: 400 * 1024 * 1024,
        decodeTimeoutMs: 20_000,
      },
      queue: { engineConcurrency: 2, maxLength: 5, predictTimeoutMs: 30000 },
      imageHosts: { allowPrivate: false, allowLinkLocal: true },
      learning: { enabled: false, db: '/var/lib/faceseg/learning.db', minCorrections: 5, maxProjects: 10, maxCorrections: 100, maxPredictions: 5000, refreshMs: 250 },
      runningInDocker: true,
      webhook: { secret: undefined, verify: true },
      shutdownGraceMs: 10_000,
    });
  });

  it('webhook settings: a secret of 16+ printable characters; verification on when Label Studio is reachable', () => {
    expect(problems({ WEBHOOK_SECRET: 'short' })[0]).toMatch(/WEBHOOK_SECRET: must be at least 16 printable characters/);
    expect(problems({ WEBHOOK_SECRET: 'has a space in it!!' })[0]).toMatch(/WEBHOOK_SECRET/);
    const c = loadConfig({ WEBHOOK_SECRET: ' 0123456789abcdef ', WEBHOOK_MAX_BODY_BYTES: '1mb', MAX_CONTEXT_REGIONS: '5' }, noDocker);
    expect(c.webhook).toEqual({ secret: '0123456789abcdef', verify: false });
    expect(c.limits).toMatchObject({ webhookMaxBodyBytes: 1024 ** 2, maxContextRegions: 5 });
    expect(loadConfig({ LABEL_STUDIO_URL: 'http://ls:8080', LABEL_STUDIO_API_KEY: 'k', WEBHOOK_VERIFY: 'false' }, noDocker).webhook.verify).toBe(false);
    expect(configWarnings(loadConfig({}, noDocker))).toContainEqual(expect.stringMatching(/WEBHOOK_SECRET is not set/));
  });

  it('active learning defaults: on, SQLite under MODEL_DIR, refit every 20 corrections', () => {
    expect(loadConfig({ MODEL_DIR: '/models' }, noDocker).learning).toEqual({
      enabled: true,
      db: '/models/learning.sqlite',
      minCorrections: 20,
      maxProjects: 1000,
      maxCorrections: 2000,
      maxPredictions: 20000,
      refreshMs: 5000,
    });
    // a postgres URL is kept as given (not resolved as a path under MODEL_DIR)
    expect(loadConfig({ MODEL_DIR: '/models', LEARNING_DB: 'postgresql://u:p@db:5432/faceseg' }, noDocker).learning.db).toBe('postgresql://u:p@db:5432/faceseg');
    expect(loadConfig({ MODEL_DIR: '/models', LEARNING_DB: 'data/l.sqlite' }, noDocker).learning.db).toBe('/models/data/l.sqlite');
    expect(problems({ LEARNING_MAX_PROJECTS: '0' })[0]).toMatch(/LEARNING_MAX_PROJECTS: must be between 1 and/);
    expect(problems({ LEARNING_REFRESH_MS: 'soon' })[0]).toMatch(/LEARNING_REFRESH_MS: expected an integer/);
    expect(problems({ CALIBRATION_MIN_CORRECTIONS: '-1' })[0]).toMatch(/CALIBRATION_MIN_CORRECTIONS: must be between 0 and/);
    expect(problems({ ALWAYS_TILE: 'sometimes' })[0]).toMatch(/ALWAYS_TILE/);
    expect(problems({ BEARD: 'trim' })[0]).toMatch(/BEARD/);
  });

  it('empty variables count as unset', () => {
    expect(loadConfig({ PORT: '', LABEL_STUDIO_URL: ' ' }, noDocker)).toMatchObject({ port: 9090, labelStudioUrl: undefined });
  });

  it('one clear message per bad variable', () => {
    const p = problems({ PORT: 'abc', LABEL_STUDIO_URL: 'localhost:8080', LOG_FORMAT: 'xml', MAX_BODY_BYTES: 'lots', EXECUTION_PROVIDER: 'tpu' });
    expect(p).toHaveLength(5);
    expect(p).toContainEqual(expect.stringMatching(/^PORT: expected an integer, got "abc"/));
    expect(p).toContainEqual(expect.stringMatching(/^LABEL_STUDIO_URL: must start with http:\/\/ or https:\/\//));
    expect(p).toContainEqual(expect.stringMatching(/^LOG_FORMAT: expected one of json, text/));
    expect(p).toContainEqual(expect.stringMatching(/^MAX_BODY_BYTES: expected a byte size/));
    expect(p).toContainEqual(expect.stringMatching(/^EXECUTION_PROVIDER: expected one of auto, cpu, cuda/));
    expect(problems({ PORT: '70000' })[0]).toMatch(/PORT: must be between 1 and 65535/);
    expect(problems({ BASIC_AUTH_USER: 'u' })[0]).toMatch(/set together/);
  });

  it('error message lists the problems', () => {
    expect(() => loadConfig({ PORT: 'x' }, noDocker)).toThrow(/Invalid configuration:\n  - PORT/);
  });

  it('detects containers when RUNNING_IN_DOCKER is unset', () => {
    expect(loadConfig({}, { exists: (f) => f === '/.dockerenv' }).runningInDocker).toBe(true);
    expect(loadConfig({ RUNNING_IN_DOCKER: 'false' }, { exists: () => true }).runningInDocker).toBe(false);
  });

  it('mentions containers only when Label Studio did not answer at a localhost URL inside one', () => {
    const c = loadConfig({ LABEL_STUDIO_URL: 'http://localhost:8080', LABEL_STUDIO_API_KEY: 'k', RUNNING_IN_DOCKER: '1' }, noDocker);
    // a marker file alone is no reason to warn: nothing about containers at start-up
    expect(configWarnings(c).join('\n')).not.toMatch(/container/);
    expect(unreachableWarning(c, 'ECONNREFUSED')).toMatch(/ECONNREFUSED.*container.*service name/);
    const bare = loadConfig({ LABEL_STUDIO_URL: 'http://localhost:8080', LABEL_STUDIO_API_KEY: 'k', RUNNING_IN_DOCKER: 'false' }, noDocker);
    expect(unreachableWarning(bare, 'ECONNREFUSED')).not.toMatch(/container/);
    expect(isLoopbackUrl('http://127.0.0.1:8080')).toBe(true);
    expect(isLoopbackUrl('http://label-studio:8080')).toBe(false);
  });
});
