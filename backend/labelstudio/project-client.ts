// The few Label Studio REST calls that `faceseg predict` needs: read a
// project's label config, page through its tasks and write predictions.
//
// Checked against the label-studio 1.23.2 sources:
//   GET  /api/projects/{id}/                      -> {id, title, label_config, ...}
//   GET  /api/tasks/?project={id}&page=N&page_size=M[&fields=all]
//        -> {tasks: [...], total, total_annotations, total_predictions}
//        (data_manager TaskListAPI; very old servers answered a plain list).
//        A page past the end is a 404 "Invalid page." (DRF PageNumberPagination).
//        Only with fields=all does a task carry `predictions` (full list, each
//        with model_version) and `predictions_model_versions` (a comma-joined
//        string cut at 500 characters).
//   POST /api/projects/{id}/import/predictions     [{task, result, score, model_version}, ...]
//        -> 201 {created: N} (bulk; no trailing slash in the route)
//   POST /api/predictions/                         {task, result, score, model_version} -> 201
//   GET  /api/annotations/{id}/                    -> {id, result, task, project?, ...} (404 once deleted)
//   GET  /api/tasks/{id}/                          -> {id, data, project, ...}
//   PATCH /api/projects/{id}/                      {model_version} -> 200; refused (400) unless the
//        version is an ML backend's title or predictions with it exist (projects/serializers.py
//        validate_model_version)
//   GET  /api/ml?project={id}                      -> [{id, title, model_version, ...}] (asks every
//        connected backend's /health and /setup first: project.update_ml_backends_state)
//
// Every call goes through rest-call.ts (retries, auth, error messages).
import type { AxiosResponse } from 'axios';
import { LabelStudioApiError, LabelStudioRest, type RestCallOptions, type RestMethod } from './rest-call.js';
import type { Region } from './results.js';

export { LabelStudioApiError } from './rest-call.js';

export interface LsProject {
  id: number;
  title?: string;
  label_config: string;
  /** The version whose predictions the Data Manager's score column and uncertainty sampling use. */
  model_version?: string | null;
  /** Predictions stored in the project (Label Studio's project serializer counts them). */
  total_predictions_number?: number;
}

export interface LsMlBackend {
  id: number;
  title?: string | null;
  model_version?: string | null;
}

export interface LsTask {
  id: number;
  data: Record<string, unknown>;
  predictions?: Array<{ model_version?: string | null } | number>;
  predictions_model_versions?: string | string[] | null;
  [key: string]: unknown;
}

export interface LsAnnotation {
  id: number;
  /** The task id (some serializers nest the task object). */
  task: number | { id: number } | null;
  project?: number | null;
  result?: unknown;
  [key: string]: unknown;
}

export interface TaskPage {
  tasks: LsTask[];
  /** Tasks in the whole project, when the server says. */
  total?: number;
}

export interface PredictionPayload {
  task: number;
  result: Region[];
  score: number;
  model_version: string;
}

/** Model versions of the predictions a task already holds (from whichever field the server sent). */
export function taskModelVersions(task: LsTask): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(task.predictions)) {
    for (const p of task.predictions) {
      if (p && typeof p === 'object' && typeof p.model_version === 'string') out.add(p.model_version);
    }
  }
  const pmv = task.predictions_model_versions;
  if (Array.isArray(pmv)) {
    for (const v of pmv) if (typeof v === 'string' && v) out.add(v);
  } else if (typeof pmv === 'string' && pmv) {
    // SQLite: "a,b"; the serializer prints lists as "a, b" without quotes
    for (const v of pmv.split(',')) if (v.trim()) out.add(v.trim());
  }
  return out;
}

export type ProjectClientOptions = RestCallOptions;

export class ProjectClient {
  readonly baseUrl: string;
  private readonly rest: LabelStudioRest;
  /** False once the server showed it has no bulk prediction import. */
  private bulkImport = true;

  constructor(options: ProjectClientOptions) {
    this.rest = new LabelStudioRest(options);
    this.baseUrl = this.rest.baseUrl;
  }

  private call<T>(method: RestMethod, path: string, what: string, body?: unknown): Promise<AxiosResponse<T>> {
    return this.rest.call<T>(method, path, what, body);
  }

  /** GET /api/annotations/{id}/, or undefined when Label Studio answers 404 (no such annotation, or deleted). */
  async findAnnotation(id: number): Promise<LsAnnotation | undefined> {
    try {
      const res = await this.call<LsAnnotation>('GET', `/api/annotations/${id}/`, `reading annotation ${id}`);
      const a = res.data;
      if (!a || typeof a !== 'object' || typeof a.id !== 'number') {
        throw new LabelStudioApiError(`reading annotation ${id}: the answer is not an annotation`, res.status);
      }
      return a;
    } catch (e) {
      if (e instanceof LabelStudioApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** GET /api/tasks/{id}/, or undefined when Label Studio answers 404. */
  async findTask(id: number): Promise<(LsTask & { project?: number | null }) | undefined> {
    try {
      const res = await this.call<LsTask & { project?: number | null }>('GET', `/api/tasks/${id}/`, `reading task ${id}`);
      return res.data && typeof res.data === 'object' ? res.data : undefined;
    } catch (e) {
      if (e instanceof LabelStudioApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async getProject(id: number): Promise<LsProject> {
    const res = await this.call<LsProject>('GET', `/api/projects/${id}/`, `reading project ${id}`).catch((e: unknown) => {
      if (e instanceof LabelStudioApiError && e.status === 404) {
        throw new LabelStudioApiError(`Project ${id} not found at ${this.baseUrl} (404): check --project and --url`, 404);
      }
      throw e;
    });
    const p = res.data;
    if (!p || typeof p !== 'object' || typeof p.label_config !== 'string') {
      throw new LabelStudioApiError(`reading project ${id}: the answer has no label_config; is ${this.baseUrl} a Label Studio server?`, res.status);
    }
    return p;
  }

  /** One page of tasks (1-based). `withPredictions` asks for fields=all so that model versions come along. */
  async getTaskPage(projectId: number, page: number, pageSize: number, withPredictions: boolean): Promise<TaskPage | undefined> {
    const q = new URLSearchParams({ project: String(projectId), page: String(page), page_size: String(pageSize) });
    if (withPredictions) q.set('fields', 'all');
    let res: AxiosResponse<unknown>;
    try {
      res = await this.call<unknown>('GET', `/api/tasks/?${q}`, `listing tasks (page ${page})`);
    } catch (e) {
      // past the last page: DRF answers 404 "Invalid page."
      if (e instanceof LabelStudioApiError && e.status === 404 && page > 1) return undefined;
      throw e;
    }
    const d = res.data;
    if (Array.isArray(d)) return { tasks: d as LsTask[] };
    if (d && typeof d === 'object' && Array.isArray((d as { tasks?: unknown }).tasks)) {
      const o = d as { tasks: LsTask[]; total?: unknown };
      return { tasks: o.tasks, total: typeof o.total === 'number' ? o.total : undefined };
    }
    if (d && typeof d === 'object' && Array.isArray((d as { results?: unknown }).results)) {
      const o = d as { results: LsTask[]; count?: unknown };
      return { tasks: o.results, total: typeof o.count === 'number' ? o.count : undefined };
    }
    throw new LabelStudioApiError(`listing tasks (page ${page}): unexpected answer from ${this.baseUrl}/api/tasks/ (neither a list nor {tasks, total})`);
  }

  /**
   * Every task of a project, page by page. Stops at an empty or short page,
   * at `total`, or at the 404 a page past the end gets.
   */
  async *tasks(projectId: number, opts: { pageSize?: number; withPredictions?: boolean; onTotal?: (total: number) => void } = {}): AsyncGenerator<LsTask> {
    const pageSize = opts.pageSize ?? 100;
    let seen = 0;
    const ids = new Set<number>();
    for (let page = 1; ; page++) {
      const p = await this.getTaskPage(projectId, page, pageSize, opts.withPredictions ?? false);
      if (!p) return;
      if (page === 1) opts.onTotal?.(p.total ?? p.tasks.length);
      let fresh = 0;
      for (const t of p.tasks) {
        if (ids.has(t.id)) continue; // a task shifting between pages while we read
        ids.add(t.id);
        fresh++;
        yield t;
      }
      if (fresh === 0) return; // a server that ignores `page` sends the same tasks again
      seen += p.tasks.length;
      // a plain list is the whole project (servers without pagination)
      if (p.total === undefined && p.tasks.length !== pageSize) return;
      if (p.tasks.length === 0) return;
      if (p.total !== undefined && seen >= p.total) return;
    }
  }

  /**
   * Write predictions. Uses the bulk import when the server has it; on a
   * server without it (404/405) or when the bulk call is refused as a whole
   * (400), falls back to one POST /api/predictions/ per task so that one bad
   * prediction does not sink the others. Returns per-task errors.
   */
  async writePredictions(projectId: number, preds: PredictionPayload[]): Promise<Map<number, string>> {
    const errors = new Map<number, string>();
    if (preds.length === 0) return errors;
    if (this.bulkImport && preds.length > 1) {
      try {
        await this.call('POST', `/api/projects/${projectId}/import/predictions`, `writing ${preds.length} predictions`, preds);
        return errors;
      } catch (e) {
        const status = e instanceof LabelStudioApiError ? e.status : undefined;
        if (status === 404 || status === 405) this.bulkImport = false;
        else if (status !== 400) {
          for (const p of preds) errors.set(p.task, (e as Error).message);
          return errors;
        }
      }
    }
    for (const p of preds) {
      try {
        await this.call('POST', '/api/predictions/', `writing the prediction of task ${p.task}`, p);
      } catch (e) {
        errors.set(p.task, (e as Error).message);
      }
    }
    return errors;
  }

  /** The ML backends connected to a project (title = what the project's model_version is set to on connect). */
  async listMlBackends(projectId: number): Promise<LsMlBackend[]> {
    const res = await this.call<unknown>('GET', `/api/ml?project=${projectId}`, `listing the ML backends of project ${projectId}`);
    const d = res.data;
    const list = Array.isArray(d) ? d : d && typeof d === 'object' && Array.isArray((d as { results?: unknown }).results) ? (d as { results: unknown[] }).results : [];
    return list.filter((b): b is LsMlBackend => !!b && typeof b === 'object' && typeof (b as { id?: unknown }).id === 'number');
  }

  /** What Settings -> Annotation -> Prelabeling does when a version is picked by hand. */
  async setProjectModelVersion(projectId: number, modelVersion: string): Promise<void> {
    await this.call('PATCH', `/api/projects/${projectId}/`, `setting the model version of project ${projectId}`, { model_version: modelVersion });
  }
}
