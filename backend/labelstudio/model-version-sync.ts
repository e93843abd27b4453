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
import { LabelStudioApiError, type LsMlBackend } from './project-client.js';

export interface VersionSyncClient {
  getProject(id: number): Promise<{ model_version?: string | null }>;
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
  sleep?: (ms: number) => Promise<void>;
}

export type SyncOutcome = 'already' | 'set' | 'foreign' | 'failed';

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

export class ModelVersionSync {
  private readonly synced = new Map<number, string>();
  private readonly running = new Map<number, Promise<SyncOutcome>>();
  private readonly prefix: string;
  private readonly delays: number[];
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: ModelVersionSyncOptions) {
    this.prefix = o.versionPrefix ?? 'faceseg-';
    this.delays = o.delaysMs ?? [1_000, 3_000, 10_000, 30_000];
    // not unref'd: `faceseg predict` must not exit while it waits
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Fire and forget: called after predictions with `version` were sent for the project. */
  notify(projectId: number, version: string): void {
    void this.sync(projectId, version);
  }

  /** One sync per project at a time; a version already synced costs nothing. */
  sync(projectId: number, version: string): Promise<SyncOutcome> {
    if (this.synced.get(projectId) === version) return Promise.resolve('already');
    const busy = this.running.get(projectId);
    if (busy) return busy.then(() => (this.synced.get(projectId) === version ? 'already' : this.sync(projectId, version)));
    const p = this.run(projectId, version).finally(() => this.running.delete(projectId));
    this.running.set(projectId, p);
    return p;
  }

  private async run(projectId: number, version: string): Promise<SyncOutcome> {
    const log = this.o.logger;
    let lastError = '';
    for (const delay of this.delays) {
      await this.sleep(delay);
      try {
        const project = await this.o.client.getProject(projectId);
        const current = project.model_version ?? '';
        if (current === version) {
          this.synced.set(projectId, version);
          return 'already';
        }
        const backends = current && !current.startsWith(this.prefix) ? await this.o.client.listMlBackends(projectId) : [];
        if (!isReplaceable(current, backends, this.prefix)) {
          log.info(`project ${projectId} shows predictions of "${current}" (set in Settings -> Annotation): left as it is`, { project: projectId });
          this.synced.set(projectId, version);
          return 'foreign';
        }
        await this.o.client.setProjectModelVersion(projectId, version);
        this.synced.set(projectId, version);
        log.info(`project ${projectId}: model version ${current || '(none)'} -> ${version}, so the prediction score column and uncertainty sampling use our predictions`, { project: projectId });
        return 'set';
      } catch (err) {
        lastError = (err as Error).message ?? String(err);
        // 400 = the predictions are not stored yet; 401/403 = the token cannot change projects
        if (err instanceof LabelStudioApiError && (err.status === 401 || err.status === 403)) break;
        log.debug('model version sync: not yet', { project: projectId, error: lastError });
      }
    }
    log.warn(`could not set project ${projectId}'s model version to ${version} (${lastError}): pick it in Settings -> Annotation -> Prelabeling to sort by prediction score`, { project: projectId });
    return 'failed';
  }
}
