// Keeps a project's model_version on the version of our latest predictions,
// so that the Data Manager's "Prediction score" column and uncertainty
// sampling see them with no manual step.
//
// Why this is needed (label-studio 1.23.2):
//   - data_manager/managers.py annotate_predictions_score averages only the
//     predictions whose model_version equals project.model_version (the
//     ff_front_dev_1682 flag that would use the backends' /setup versions is
//     off in feature_flags.json); projects/functions/next_task.py
//     _try_uncertainty_sampling filters on it too;
//   - ml/api.py MLBackendListAPI.perform_create sets project.model_version to
//     the connection's *title* when it is empty, and nothing a backend answers
//     in /setup or /predict changes it: /setup's model_version only lands on
//     the MLBackend row, each prediction keeps its own model_version.
// So after predictions with a new version are stored we do what picking the
// version in Settings -> Annotation -> Prelabeling does: PATCH the project.
// Label Studio accepts it only once predictions with that version exist
// (projects/serializers.py validate_model_version), hence the retries.
import type { Logger } from '../logging.js';
import { withRetry } from '../util/retry.js';
import { LabelStudioApiError, type LsMlBackend } from './project-client.js';

export interface VersionSyncClient {
  getProject(id: number): Promise<{ model_version?: string | null; total_predictions_number?: number }>;
  listMlBackends(projectId: number): Promise<LsMlBackend[]>;
  setProjectModelVersion(projectId: number, modelVersion: string): Promise<void>;
}

export interface ModelVersionSyncOptions {
  client: VersionSyncClient;
  logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** Our versions start with this (engine.versionFor). */
  versionPrefix?: string;
  /** Waits before each try: Label Studio stores predictions after our /predict answer. */
  delaysMs?: number[];
  /**
   * Added to the first wait per task of the /predict that announced the
   * version (default 40, at most storeWaitMaxMs in all). Label Studio 1.23.2
   * stores a batch's predictions after our answer, on SQLite one commit
   * each: 100 tasks took it 2.8-4.2 s on 2 cores (e2e, 2026-12-01), 7.2 s
   * on a busier day (2026-12-02). A PATCH sent inside that window fails with
   * "database is locked": a 500 and a traceback in Label Studio's log, and a
   * retry; settleMs below waits for the end of the window instead.
   */
  storeWaitPerTaskMs?: number;
  storeWaitMaxMs?: number;
  /**
   * Before its PATCH a try reads the project's prediction count again after
   * this wait (default 1000) and goes on only once the count held still:
   * Label Studio still storing the batch (slower than storeWaitPerTaskMs
   * allowed for) would answer the PATCH with "database is locked". At most
   * storeWaitMaxMs of such waits per try; a server that reports no count
   * gets the PATCH at once.
   */
  settleMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Projects whose synced version is remembered (oldest forgotten first;
   * default 1000, the learning store's project cap). Project ids come from
   * /predict bodies, so the memory must not grow with what callers send.
   */
  maxProjects?: number;
  /** Projects synced at once (default 8); a notify beyond that is dropped and the next /predict asks again. */
  maxRunning?: number;
}

export type SyncOutcome = 'already' | 'set' | 'foreign' | 'failed' | 'skipped';

/**
 * True when the project's current version is ours to replace: unset, one of
 * our own older versions, or the title of a connection that runs our backend
 * (what Label Studio puts there on connect). Anything else was picked by a
 * person (another model, an import) and is left alone.
 */
export function isReplaceable(current: string | null | undefined, backends: readonly LsMlBackend[], prefix: string): boolean {
  if (!current) return true;
  if (current.startsWith(prefix)) return true;
  return backends.some((b) => b.title === current && typeof b.model_version === 'string' && b.model_version.startsWith(prefix));
}

/** Answers after which another try cannot help: the token may not read or change the project, or it does not exist. */
const FINAL_STATUS = new Set([401, 403, 404]);

export class ModelVersionSync {
  private readonly synced = new Map<number, string>();
  private readonly running = new Map<number, Promise<SyncOutcome>>();
  /** The version to sync after the running one, per project: one follow-up at most, the latest wins. */
  private readonly next = new Map<number, { version: string; tasks: number; done: Promise<SyncOutcome> }>();
  private readonly prefix: string;
  private readonly delays: number[];
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxProjects: number;
  private readonly maxRunning: number;
  private readonly perTask: number;
  private readonly maxStoreWait: number;
  private readonly settleMs: number;

  constructor(private readonly o: ModelVersionSyncOptions) {
    this.prefix = o.versionPrefix ?? 'faceseg-';
    this.delays = o.delaysMs ?? [1_000, 3_000, 10_000, 30_000];
    this.perTask = o.storeWaitPerTaskMs ?? 40;
    this.maxStoreWait = o.storeWaitMaxMs ?? 20_000;
    this.settleMs = o.settleMs ?? 1_000;
    if (this.delays.length === 0) throw new RangeError('model version sync needs at least one try (delaysMs)');
    // not unref'd: `faceseg predict` must not exit while it waits
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.maxProjects = o.maxProjects ?? 1000;
    this.maxRunning = o.maxRunning ?? 8;
  }

  /** Fire and forget: called after predictions with `version` were sent for `tasks` tasks of the project. */
  notify(projectId: number, version: string, tasks = 1): void {
    void this.sync(projectId, version, tasks);
  }

  /** The wait before the first try after an answer of `tasks` predictions. */
  firstWaitMs(tasks: number): number {
    const n = Number.isFinite(tasks) && tasks > 0 ? tasks : 1;
    return this.delays[0] + Math.min(this.maxStoreWait, this.perTask * n);
  }

  /** Syncs in flight, and follow-ups waiting behind them (for tests and the team page). */
  get pending(): { running: number; queued: number; remembered: number } {
    return { running: this.running.size, queued: this.next.size, remembered: this.synced.size };
  }

  /**
   * One sync per project at a time; a version already synced costs nothing.
   * While one runs, later calls share a single follow-up for the newest version.
   */
  sync(projectId: number, version: string, tasks = 1): Promise<SyncOutcome> {
    if (this.synced.get(projectId) === version) return Promise.resolve('already');
    const busy = this.running.get(projectId);
    if (busy) return this.queueAfter(projectId, version, busy, tasks);
    if (this.running.size >= this.maxRunning) {
      this.o.logger.debug('model version sync: too many projects at once, skipped until their next prediction', { project: projectId });
      return Promise.resolve('skipped');
    }
    const p = this.run(projectId, version, tasks).finally(() => this.running.delete(projectId));
    this.running.set(projectId, p);
    return p;
  }

  private queueAfter(projectId: number, version: string, busy: Promise<SyncOutcome>, tasks: number): Promise<SyncOutcome> {
    const queued = this.next.get(projectId);
    if (queued) {
      queued.version = version;
      queued.tasks = Math.max(queued.tasks, tasks);
      return queued.done;
    }
    const entry: { version: string; tasks: number; done: Promise<SyncOutcome> } = {
      version,
      tasks,
      done: busy.then((): Promise<SyncOutcome> | SyncOutcome => {
        this.next.delete(projectId);
        return this.synced.get(projectId) === entry.version ? 'already' : this.sync(projectId, entry.version, entry.tasks);
      }),
    };
    this.next.set(projectId, entry);
    return entry.done;
  }

  private remember(projectId: number, version: string): void {
    this.synced.delete(projectId);
    this.synced.set(projectId, version);
    if (this.synced.size > this.maxProjects) this.synced.delete(this.synced.keys().next().value as number);
  }

  private async run(projectId: number, version: string, tasks: number): Promise<SyncOutcome> {
    await this.sleep(this.firstWaitMs(tasks));
    try {
      return await withRetry(() => this.tryOnce(projectId, version), {
        retries: this.delays.length - 1,
        delayMs: (n) => this.delays[n + 1],
        shouldRetry: (err) => !(err instanceof LabelStudioApiError && err.status !== undefined && FINAL_STATUS.has(err.status)),
        sleep: this.sleep,
        onRetry: ({ error }) => this.o.logger.debug('model version sync: not yet', { project: projectId, error: errorText(error) }),
      });
    } catch (err) {
      this.o.logger.warn(
        `could not set project ${projectId}'s model version to ${version} (${errorText(err)}): pick it in Settings -> Annotation -> Prelabeling to sort by prediction score`,
        { project: projectId },
      );
      return 'failed';
    }
  }

  /**
   * Returns once the project's prediction count (first read: `count`) is the
   * same on two reads settleMs apart, or after storeWaitMaxMs of waits (why:
   * the settleMs option). Returns at once when a read has no count.
   */
  private async storeSettled(projectId: number, count: number | undefined): Promise<void> {
    let last = count;
    for (let waited = 0; typeof last === 'number' && waited < this.maxStoreWait; waited += this.settleMs) {
      await this.sleep(this.settleMs);
      const now = (await this.o.client.getProject(projectId)).total_predictions_number;
      if (now === last) return;
      last = now;
    }
  }

  /** One look at the project; throws to try again (400 = the predictions are not stored yet). */
  private async tryOnce(projectId: number, version: string): Promise<SyncOutcome> {
    const project = await this.o.client.getProject(projectId);
    const current = project.model_version ?? '';
    if (current === version) {
      this.remember(projectId, version);
      return 'already';
    }
    const backends = current && !current.startsWith(this.prefix) ? await this.o.client.listMlBackends(projectId) : [];
    if (!isReplaceable(current, backends, this.prefix)) {
      this.o.logger.info(`project ${projectId} shows predictions of "${current}" (set in Settings -> Annotation): left as it is`, { project: projectId });
      this.remember(projectId, version);
      return 'foreign';
    }
    await this.storeSettled(projectId, project.total_predictions_number);
    await this.o.client.setProjectModelVersion(projectId, version);
    this.remember(projectId, version);
    this.o.logger.info(
      `project ${projectId}: model version ${current || '(none)'} -> ${version}, so the prediction score column and uncertainty sampling use our predictions`,
      { project: projectId },
    );
    return 'set';
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
