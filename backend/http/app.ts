// The express app: routes of the Label Studio ML backend protocol, auth,
// validation and error mapping. The face engine and the image source are
// injected, so this file knows nothing about models.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Config } from '../config.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { FaceEngine, InteractiveHint, RgbImage } from '../pipeline/types.js';
import { LabelConfigCache, LabelConfigError, MAX_LABEL_CONFIG_CHARS, type FaceLabelConfig } from '../labelstudio/label-config.js';
import type { WebhookVerifier } from '../labelstudio/webhook-verifier.js';
import { emptyPrediction, type Prediction } from '../labelstudio/results.js';
import {
  describeZodError,
  PredictRequest,
  SetupRequest,
  WEBHOOK_ACTIONS,
  WebhookRequest,
  type ContextRegion,
  type Task,
  type WebhookAction,
  type WebhookEvent,
} from '../labelstudio/schemas.js';
import { ImageFetchError, type ImageSource } from '../media/image-source.js';
import type { ProjectSettings, RecordInput } from '../learning/service.js';
import { InboxFullError } from '../learning/store.js';
import { decodeImage, ImageDecodeError, probeImage } from '../media/decode.js';
import { FaceSegModel } from '../model/faceseg-model.js';
import { ByteBudget, type Release } from './byte-budget.js';
import { QueueFullError, WorkQueue } from './work-queue.js';
import { RecentFailures } from './recent-failures.js';
import { taskLogFields, taskLogMessage } from './task-log.js';
import { renderTeamPage, type TeamSummary } from './team-page.js';

export const MODEL_CLASS = 'FaceSegBackend';

export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  engine: FaceEngine;
  imageSource: ImageSource;
  /** Called for ANNOTATION_* and START_TRAINING webhooks; errors are logged, not returned. */
  onWebhook?: (event: WebhookEvent) => Promise<void>;
  /** Image decoder (defaults to sharp via decodeImage with config limits). */
  decode?: (bytes: Buffer) => Promise<RgbImage>;
  /** How many tasks' images to fetch and decode ahead of the one being segmented. Default 2. */
  prefetch?: number;
  /** The bounded queue in front of the engine (defaults to one built from config.queue). */
  queue?: WorkQueue;
  /** Webhook inbox: /webhook answers 201 only once accept() has committed the event (processed in the background); 503 when it throws. */
  webhookInbox?: { accept(event: WebhookEvent): Promise<unknown> };
  /** Active learning: a project's calibrated parameters, model_version and score map (undefined = defaults). */
  projectSettings?: (projectId: string) => Promise<ProjectSettings | undefined>;
  /** Active learning: told what each non-interactive task prediction sent (awaited before the answer). Must be quick. */
  onPredicted?: (p: RecordInput) => Promise<void> | void;
  /** Active learning: the body of GET /projects/:id/quality (behind basic auth). */
  projectQuality?: (projectId: string) => unknown;
  /** The model object (setup / predict / fit); built from engine and the learning deps above when absent. */
  model?: FaceSegModel;
  /** Confirms annotation webhooks with Label Studio before onWebhook sees them (compose.ts buildWebhookVerifier). */
  verifyWebhook?: WebhookVerifier;
  /** Memory budget for decoded images across requests (defaults to one of DECODED_IMAGE_BUDGET_BYTES). */
  imageBudget?: ByteBudget;
  /** Team page (GET /ui): per-project quality figures from the corrections. */
  teamSummary?: () => Promise<TeamSummary>;
  /** Told after a non-interactive /predict answered predictions of `modelVersion` for a project (model version sync). */
  onPredictionsSent?: (projectId: string, modelVersion: string) => void;
  /** The last task failures, shown on the team page (default: a ring of 50). */
  failures?: RecentFailures;
}

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** An HTTP reason phrase: printable ASCII on one line, short. */
export function reasonPhrase(message: string): string {
  const flat = message.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat || 'Bad Request';
}

/** A task-level failure with the reason used in logs and metrics. */
class TaskError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ba.length !== bb.length) {
    timingSafeEqual(ba, ba);
    return false;
  }
  return timingSafeEqual(ba, bb);
}

/** /webhook's shared secret (X-Webhook-Secret), compared in constant time, before the body is read. */
function webhookSecret(secret: string | undefined) {
  const want = secret === undefined ? undefined : createHash('sha256').update(secret).digest();
  return (req: Request, res: Response, next: NextFunction) => {
    if (!want) return next();
    const got = createHash('sha256').update(req.get('x-webhook-secret') ?? '').digest();
    if (timingSafeEqual(got, want)) return next();
    res.status(401).json({
      error: 'unauthorized',
      detail: 'Missing or wrong X-Webhook-Secret header: add it (the value of WEBHOOK_SECRET) to the webhook in the project settings of Label Studio',
    });
  };
}

/** Most ':' bytes (an upper bound on JSON keys) a webhook body may hold; counted before JSON.parse. */
const MAX_WEBHOOK_KEYS = 50_000;
/** Most keys of the top-level object and of project/task/annotation (the schema copies them all). */
const MAX_WEBHOOK_OBJECT_KEYS = 1000;

/** Refuses, before parsing, a webhook body with more possible keys than a Label Studio event has (JSON.parse and zod cost per key). */
function countWebhookKeys(_req: Request, _res: Response, buf: Buffer) {
  let colons = 0;
  for (let i = buf.indexOf(58); i >= 0; i = buf.indexOf(58, i + 1)) {
    if (++colons > MAX_WEBHOOK_KEYS) throw new HttpError(400, 'invalid_request', `The webhook body has more than ${MAX_WEBHOOK_KEYS} keys`);
  }
}

function moreKeysThan(v: unknown, limit: number): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  let n = 0;
  for (const _ in v) if (++n > limit) return true;
  return false;
}

/** Bounds of a webhook body that the schema alone does not give. */
function webhookBounds(req: Request, _res: Response, next: NextFunction) {
  const body = req.body as { action?: unknown; project?: { id?: unknown; label_config?: unknown } | null; task?: unknown; annotation?: unknown } | undefined;
  if ([body, body?.project, body?.task, body?.annotation].some((o) => moreKeysThan(o, MAX_WEBHOOK_OBJECT_KEYS))) {
    return next(new HttpError(400, 'invalid_request', `A webhook object has more than ${MAX_WEBHOOK_OBJECT_KEYS} keys`));
  }
  const xml = body?.project?.label_config;
  if (typeof xml === 'string' && xml.length > MAX_LABEL_CONFIG_CHARS) {
    return next(new HttpError(400, 'invalid_label_config', `project.label_config is ${xml.length} characters long; the limit is ${MAX_LABEL_CONFIG_CHARS}`));
  }
  const action = body?.action;
  const id = body?.project?.id;
  const plausible = (typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(id));
  if (id !== undefined && id !== null && !plausible) {
    return next(new HttpError(400, 'invalid_request', 'project.id must be a Label Studio project id'));
  }
  if ((action === 'ANNOTATIONS_DELETED' || action === 'ANNOTATION_DELETED') && (id === undefined || id === null || id === '')) {
    return next(new HttpError(400, 'invalid_request', `${action} must name its project (project.id)`));
  }
  next();
}

function basicAuth(user: string, pass: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (m) {
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0 && safeEqual(decoded.slice(0, i), user) && safeEqual(decoded.slice(i + 1), pass)) return next();
    }
    res.setHeader('WWW-Authenticate', 'Basic realm="faceseg", charset="UTF-8"');
    res.status(401).json({
      error: 'unauthorized',
      detail: m
        ? 'Wrong basic auth user or password: check the ML backend connection settings in Label Studio (BASIC_AUTH_USER / BASIC_AUTH_PASS)'
        : 'Basic auth required: enable it in the ML backend connection settings in Label Studio',
    });
  };
}

/** Interactive-mode regions -> engine hints in image pixels. */
export function hintsFromContext(regions: readonly ContextRegion[] | null | undefined, width: number, height: number): InteractiveHint[] {
  const hints: InteractiveHint[] = [];
  for (const r of regions ?? []) {
    const v = r.value;
    if (!v || typeof v.x !== 'number' || typeof v.y !== 'number') continue;
    const type = (r.type ?? '').toLowerCase();
    if (type === 'keypointlabels' || type === 'keypoint') {
      const positive = r.is_positive ?? v.is_positive ?? true;
      hints.push({ kind: 'point', point: { x: (v.x / 100) * width, y: (v.y / 100) * height }, positive });
    } else if ((type === 'rectanglelabels' || type === 'rectangle') && typeof v.width === 'number' && typeof v.height === 'number') {
      hints.push({
        kind: 'box',
        box: { x: (v.x / 100) * width, y: (v.y / 100) * height, width: (v.width / 100) * width, height: (v.height / 100) * height },
      });
    }
  }
  return hints;
}

/** "12.1699999" (project id and timestamp) -> "12". */
function projectKey(project: string | number | null | undefined): string | undefined {
  if (project === undefined || project === null || project === '') return undefined;
  return String(project).split('.')[0];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Projects whose /setup label config is kept for /predict calls without one. */
const MAX_PROJECT_CONFIGS = 1000;
/** Webhook events being verified or handled in the background at once (503 above): 16 x a 2 MB body at most. */
const MAX_WEBHOOKS_IN_FLIGHT = 16;

export function createApp(deps: AppDeps): express.Express {
  const { config, logger, metrics, engine, imageSource } = deps;
  const model =
    deps.model ??
    new FaceSegModel(engine, { projectSettings: deps.projectSettings, recordPrediction: deps.onPredicted, onWebhook: deps.onWebhook }, logger);
  const limits = config.limits;
  const labelConfigs = new LabelConfigCache({ faceLabel: config.faceLabel });
  /** Last label config seen per project, for /predict calls without label_config. */
  const projectConfigs = new Map<string, string>();
  const decode = deps.decode ?? ((bytes: Buffer) => decodeImage(bytes, { maxPixels: limits.maxImagePixels, timeoutMs: limits.decodeTimeoutMs }));
  // decoded bytes an image will take, from its header; an injected decoder is not budgeted
  const measure = deps.decode
    ? async () => 0
    : async (bytes: Buffer) => {
        const p = await probeImage(bytes, { maxPixels: limits.maxImagePixels });
        return p.width * p.height * 3;
      };
  const imageBudget = deps.imageBudget ?? new ByteBudget(limits.decodedImageBudgetBytes);
  const prefetch = Math.max(0, deps.prefetch ?? 2);
  const queue =
    deps.queue ??
    new WorkQueue({
      concurrency: config.queue.engineConcurrency,
      maxQueue: config.queue.maxLength,
      callerTimeoutMs: config.queue.predictTimeoutMs,
      registry: metrics.registry,
    });

  const failures = deps.failures ?? new RecentFailures(50);
  const taskCounts = { ok: 0, failed: 0 };
  const startedAt = Date.now();

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(helmet());

  // request id + access metrics
  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    req.id = given && REQUEST_ID.test(given) ? given : randomUUID();
    req.log = logger.child({ requestId: req.id });
    res.setHeader('X-Request-Id', req.id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? String(req.route.path) : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      // 503 busy is the queue working as designed (logged as a warning where it is raised)
      req.log.log(res.statusCode >= 500 && res.statusCode !== 503 ? 'error' : 'http', `${req.method} ${req.path} ${res.statusCode}`, {
        ms: Math.round(seconds * 1000),
      });
    });
    next();
  });

  // basic auth on everything but /webhook (Label Studio sends webhooks without it)
  if (config.basicAuth) {
    const guard = basicAuth(config.basicAuth.user, config.basicAuth.pass);
    app.use((req, res, next) => (req.path.replace(/\/+$/, '') === '/webhook' ? next() : guard(req, res, next)));
  }

  // /webhook: the secret before the body is read, its own small body limit, then its bounds
  let webhooksInFlight = 0;
  app.post(
    '/webhook',
    webhookSecret(config.webhook.secret),
    (_req: Request, res: Response, next: NextFunction) => {
      if (webhooksInFlight < MAX_WEBHOOKS_IN_FLIGHT) return next();
      res.setHeader('Retry-After', '5');
      res.status(503).json({ error: 'busy', reason: 'webhooks_in_flight', detail: `${webhooksInFlight} webhook events are still being handled`, retry_after: 5 });
    },
    express.json({ limit: limits.webhookMaxBodyBytes, type: () => true, strict: true, verify: countWebhookKeys }),
    webhookBounds,
  );

  // JSON bodies whatever the content type (Label Studio sends application/json)
  app.use(express.json({ limit: limits.maxBodyBytes, type: () => true, strict: true }));

  const health = (_req: Request, res: Response) => {
    res.json({ status: 'UP', model_class: MODEL_CLASS, model_version: engine.modelVersion });
  };
  // browsers get the team page; Label Studio (Accept */*) and scripts the JSON health body
  app.get('/', (req, res) => {
    if (req.accepts(['json', 'html']) === 'html') res.redirect(302, '/ui');
    else health(req, res);
  });
  app.get('/health', health);

  app.get('/ui', async (req, res) => {
    let team: TeamSummary | undefined;
    let teamError: string | undefined;
    if (deps.teamSummary) {
      try {
        team = await deps.teamSummary();
      } catch (err) {
        teamError = (err as Error).message ?? String(err);
        req.log.warn('team page: learning figures failed', { error: teamError });
      }
    }
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      renderTeamPage({
        status: 'UP',
        modelVersion: engine.modelVersion,
        provider: engine.executionProvider,
        startedAt,
        now: Date.now(),
        queue: queue.stats(),
        tasks: { ...taskCounts },
        failures: failures.list(),
        team,
        teamError,
      }),
    );
  });

  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.render());
  });

  function parseConfig(xml: string): FaceLabelConfig {
    try {
      return labelConfigs.get(xml);
    } catch (err) {
      if (err instanceof LabelConfigError) throw new HttpError(400, 'invalid_label_config', err.message);
      throw err;
    }
  }

  app.post('/setup', async (req, res) => {
    const parsed = SetupRequest.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', describeZodError(parsed.error));
    const cfg = parseConfig(parsed.data.schema);
    const key = projectKey(parsed.data.project);
    if (key !== undefined) {
      // bounded: the oldest project's config goes first (it comes back with the next /setup)
      projectConfigs.delete(key);
      if (projectConfigs.size >= MAX_PROJECT_CONFIGS) projectConfigs.delete(projectConfigs.keys().next().value!);
      projectConfigs.set(key, parsed.data.schema);
    }
    req.log.info('setup', {
      project: key,
      brush: `${cfg.brush.fromName}->${cfg.brush.toName}:${cfg.brush.label}`,
      rectangle: cfg.rectangle?.fromName,
      keypoints: cfg.keypoints?.fromName,
    });
    res.json({ model_version: (await model.setup(key)).modelVersion });
  });

  interface Prepared {
    image?: RgbImage;
    error?: TaskError;
    /** Gives the image's share of the memory budget back. */
    release?: Release;
    /** fetch and decode ms, for the per-task log line. */
    ms?: Record<string, number>;
  }

  /** Per request: decodes run in task order, so a later task never holds budget an earlier one waits for. */
  interface DecodeOrder {
    chain: Promise<unknown>;
    signal: AbortSignal;
  }

  async function timed<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      metrics.stageSeconds.observe({ stage }, (performance.now() - t0) / 1000);
    }
  }

  async function prepare(task: Task, cfg: FaceLabelConfig, order: DecodeOrder): Promise<Prepared> {
    const ms: Record<string, number> = {};
    const ref = task.data[cfg.image.dataKey];
    if (typeof ref !== 'string' || ref.trim() === '') {
      return {
        ms,
        error: new TaskError(
          'missing_image_field',
          `Task has no image at data.${cfg.image.dataKey} (the label config's <Image name="${cfg.image.name}" value="${cfg.image.value}">)`,
        ),
      };
    }
    try {
      const t0 = performance.now();
      const bytes = await timed('fetch', () => imageSource.fetch(ref, { taskId: task.id, signal: order.signal }));
      ms.fetch = performance.now() - t0;
      const turn = order.chain.then(async () => {
        const release = await imageBudget.acquire(await measure(bytes), order.signal);
        try {
          const t1 = performance.now();
          const image = await timed('decode', () => decode(bytes));
          ms.decode = performance.now() - t1;
          return { image, release, ms };
        } catch (err) {
          release();
          throw err;
        }
      });
      order.chain = turn.catch(() => undefined);
      return await turn;
    } catch (err) {
      if (err instanceof ImageFetchError) return { ms, error: new TaskError(err.code, err.message) };
      if (err instanceof ImageDecodeError) return { ms, error: new TaskError(`decode_${err.code}`, err.message) };
      return { ms, error: new TaskError('image', (err as Error).message ?? String(err)) };
    }
  }

  app.post('/predict', async (req, res) => {
    const parsed = PredictRequest.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', describeZodError(parsed.error));
    const body = parsed.data;
    const tasks = body.tasks;
    if (tasks.length > limits.maxTasksPerRequest) {
      throw new HttpError(
        413,
        'too_many_tasks',
        `This request holds ${tasks.length} tasks; the limit is MAX_TASKS_PER_REQUEST=${limits.maxTasksPerRequest}. ` +
          'Select fewer tasks, or write predictions for a whole project with the bulk command (faceseg predict-project)',
      );
    }
    const key = projectKey(body.project);
    const xml = body.label_config ?? (key !== undefined ? projectConfigs.get(key) : undefined);
    if (!xml) {
      throw new HttpError(400, 'invalid_request', 'label_config is missing and /setup was not called for this project');
    }
    const cfg = parseConfig(xml);
    const context = body.params?.context?.result ?? null;
    // each interactive region can add engine work (a click outside the found heads adds three crops)
    if (context && context.length > limits.maxContextRegions) {
      throw new HttpError(
        400,
        'too_many_regions',
        `The interactive context holds ${context.length} regions; the limit is MAX_CONTEXT_REGIONS=${limits.maxContextRegions}: remove some clicks`,
      );
    }
    const modelVersion = await model.modelVersion(key);
    const log = req.log;
    // admission: 503 + Retry-After when this work would finish past the caller's timeout
    const ticket = queue.admit(tasks.length);
    let gone = false;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) {
        gone = true;
        abort.abort(new Error('client went away'));
      }
      ticket.release();
    });
    const order: DecodeOrder = { chain: Promise.resolve(), signal: abort.signal };

    const pending: Array<Promise<Prepared> | undefined> = [];
    const start = (i: number) => {
      if (i < tasks.length && pending[i] === undefined) pending[i] = prepare(tasks[i], cfg, order);
    };
    const results: Prediction[] = [];
    let predicted = 0;
    for (let i = 0; i < tasks.length; i++) {
      if (gone) {
        log.warn('client went away: stopping', { done: i, tasks: tasks.length });
        for (const p of pending) void p?.then((pr) => pr.release?.());
        return;
      }
      for (let j = i; j <= i + prefetch; j++) start(j);
      const task = tasks[i];
      const prepared = await pending[i]!;
      pending[i] = undefined;
      try {
        if (prepared.error) throw prepared.error;
        const image = prepared.image!;
        const hints = hintsFromContext(context, image.width, image.height);
        let out;
        try {
          out = await model.predict({ project: key, taskId: task.id, image, cfg, hints, run: (fn) => ticket.run(fn) });
        } catch (err) {
          throw new TaskError('engine', `Face engine failed: ${(err as Error).message ?? String(err)}`);
        }
        const { seg, prediction } = out;
        metrics.observeTimings(seg.timings ?? {});
        metrics.tasks.inc({ outcome: 'ok' });
        metrics.faces.inc(seg.faces.length);
        const clicks = hints.filter((h) => h.kind === 'box' || h.positive);
        if (clicks.length > 0 && seg.faces.length === 0) {
          const where = clicks.map((h) => (h.kind === 'box' ? `box at ${Math.round(h.box.x)},${Math.round(h.box.y)}` : `${Math.round(h.point.x)},${Math.round(h.point.y)}`));
          log.info(`positive click found no face at ${where.join('; ')}: nothing returned`, { taskId: task.id });
        }
        const line = taskLogFields(task.id, seg, prediction.score, { ...prepared.ms, rle: seg.timings.rle ?? 0 }, context !== null);
        log.info(taskLogMessage(line), { project: key, ...line });
        taskCounts.ok++;
        predicted++;
        results.push(prediction);
      } catch (err) {
        const e = err instanceof TaskError ? err : new TaskError('internal', (err as Error).message ?? String(err));
        metrics.tasks.inc({ outcome: 'error' });
        metrics.taskErrors.inc({ reason: e.reason });
        log.warn('task failed', { taskId: task.id, reason: e.reason, error: e.message });
        taskCounts.failed++;
        failures.add({ at: Date.now(), taskId: String(task.id ?? '?'), project: key, reason: e.reason, message: e.message });
        results.push(emptyPrediction(modelVersion));
      } finally {
        prepared.release?.();
      }
    }
    ticket.release();
    res.json({ results });
    if (context === null && key !== undefined && /^\d+$/.test(key) && deps.onPredictionsSent && predicted > 0) {
      try {
        deps.onPredictionsSent(key, modelVersion);
      } catch (err) {
        log.warn('model version sync failed', { error: (err as Error).message ?? String(err) });
      }
    }
  });

  app.post('/webhook', async (req, res) => {
    const parsed = WebhookRequest.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', describeZodError(parsed.error));
    const action = parsed.data.action;
    if (!(WEBHOOK_ACTIONS as readonly string[]).includes(action)) {
      res.status(200).json({ status: 'Unknown event' });
      return;
    }
    const event: WebhookEvent = { action: action as WebhookAction, projectId: parsed.data.project?.id, body: parsed.data };
    req.log.info('webhook', { action, project: event.projectId });
    if (deps.webhookInbox) {
      // committed before the 201, so an acknowledged event survives a crash
      try {
        await deps.webhookInbox.accept(event);
      } catch (err) {
        const full = err instanceof InboxFullError;
        const detail = full ? (err as Error).message : `the webhook could not be stored: ${(err as Error)?.message ?? String(err)}`;
        req.log.log(full ? 'warn' : 'error', `503 webhook: ${detail}`);
        res.setHeader('Retry-After', '30');
        res.status(503).json({ error: 'busy', reason: full ? 'inbox_full' : 'store_unavailable', detail, retry_after: 30 });
        return;
      }
    } else if (deps.onWebhook) {
      const log = req.log;
      // Label Studio waits 1 s for a webhook answer: run the handler in the background.
      void Promise.resolve()
        .then(() => deliverWebhook(event, log))
        .catch((err: unknown) => log.error('webhook handler failed', { action, error: (err as Error)?.message ?? String(err) }));
    }
    res.status(201).json({ status: 'ok', action });
  });

  /** Annotation events are confirmed with Label Studio (when a verifier is set) before the handler learns from them. */
  async function deliverWebhook(event: WebhookEvent, log: Logger): Promise<void> {
    webhooksInFlight++;
    try {
      let verified: WebhookEvent | undefined = event;
      if (deps.verifyWebhook) {
        const out = await deps.verifyWebhook(event);
        for (const d of out.dropped) {
          log.warn('webhook annotation dropped', { action: event.action, project: event.projectId, annotation: d.id, reason: d.reason, detail: d.detail });
        }
        verified = out.event;
      }
      if (verified) await deps.onWebhook!(verified);
    } finally {
      webhooksInFlight--;
    }
  }

  if (deps.projectQuality) {
    const quality = deps.projectQuality;
    app.get('/projects/:id/quality', async (req, res) => {
      const id = String(req.params.id);
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(400, 'invalid_request', 'project id must be a Label Studio project id');
      res.json(await quality(id));
    });
  }

  app.use((req, _res, next) => {
    next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}`));
  });

  // error mapping: always JSON {error, detail}
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const log = req.log ?? logger;
    if (err instanceof QueueFullError) {
      log.warn(`503 ${err.reason}: ${err.message}`);
      res.setHeader('Retry-After', String(err.retryAfterS));
      res.status(503).json({ error: 'busy', reason: err.reason, detail: err.message, retry_after: err.retryAfterS });
      return;
    }
    if (err instanceof HttpError) {
      if (err.status >= 500) log.error(err.message);
      else if (err.status !== 404) log.warn(`${err.error}: ${err.message}`);
      // Label Studio shows users only the status line of a failed /setup, so the reason goes there too
      res.statusMessage = reasonPhrase(err.message);
      res.status(err.status).json({ error: err.error, detail: err.message });
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') {
      log.warn('request body too large');
      const webhook = req.path.replace(/\/+$/, '') === '/webhook';
      res.status(413).json({
        error: 'payload_too_large',
        detail: webhook
          ? `The webhook body is larger than WEBHOOK_MAX_BODY_BYTES=${limits.webhookMaxBodyBytes}`
          : `The request body is larger than MAX_BODY_BYTES=${limits.maxBodyBytes}: send fewer tasks per request (images must be URLs, not inline data)`,
      });
      return;
    }
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'invalid_json', detail: `The request body is not valid JSON: ${e.message}` });
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: e.type ?? 'bad_request', detail: e.message ?? 'Bad request' });
      return;
    }
    log.error('unhandled error', { error: e.message ?? String(err) });
    res.status(500).json({ error: 'internal_error', detail: e.message ?? 'Internal error' });
  });

  return app;
}
