// Confirms annotation webhooks with Label Studio's API before the backend
// learns from them. A webhook body is whatever the sender wrote; the API is
// the truth. So for ANNOTATION_CREATED / ANNOTATION_UPDATED (and the bulk
// ANNOTATIONS_CREATED) each annotation must exist, belong to the task and the
// project the body names, and its result is taken from the API, not from the
// body; the project's label config is taken from the API too. A delete must
// name its project, and an annotation that still exists is not deleted.
// Events that fail are dropped with a reason (logged by the caller).
import type { WebhookEvent } from './schemas.js';
import type { LsAnnotation, LsProject, ProjectClient } from './project-client.js';

export interface DroppedAnnotation {
  id: unknown;
  reason: 'bad_id' | 'not_found' | 'other_task' | 'other_project' | 'still_exists' | 'no_project' | 'too_many' | 'label_studio_error';
  detail?: string;
}

export interface VerifyOutcome {
  /** The event to learn from (annotations from the API), or undefined when nothing is left. */
  event?: WebhookEvent;
  dropped: DroppedAnnotation[];
}

export type WebhookVerifier = (event: WebhookEvent) => Promise<VerifyOutcome>;

/** What the verifier needs from Label Studio (ProjectClient implements it). */
export type LabelStudioReader = Pick<ProjectClient, 'findAnnotation' | 'findTask' | 'getProject'>;

export interface VerifierOptions {
  client: LabelStudioReader;
  /** Most annotations verified from one bulk event; the rest are dropped. Default 100. */
  maxAnnotations?: number;
  /** How long a project's label config is reused. Default 60 s. */
  projectTtlMs?: number;
  now?: () => number;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Label Studio id: a positive integer (also as a string); anything else cannot go into an API path. */
export function lsId(v: unknown): number | undefined {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim().split('.')[0] : '';
  return /^[1-9]\d{0,14}$/.test(s) ? Number(s) : undefined;
}

function taskIdOf(a: LsAnnotation): number | undefined {
  return lsId(isObj(a.task) ? a.task.id : a.task);
}

export function createWebhookVerifier(options: VerifierOptions): WebhookVerifier {
  const { client } = options;
  const maxAnnotations = options.maxAnnotations ?? 100;
  const ttl = options.projectTtlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const projects = new Map<number, { at: number; project: Promise<LsProject> }>();

  function project(id: number): Promise<LsProject> {
    const hit = projects.get(id);
    if (hit && now() - hit.at < ttl) return hit.project;
    const p = client.getProject(id);
    p.catch(() => projects.delete(id));
    if (projects.size >= 256) projects.delete(projects.keys().next().value!);
    projects.set(id, { at: now(), project: p });
    return p;
  }

  /** The API's copy of one annotation, or why it is not used. */
  async function confirm(annotation: unknown, task: unknown, projectId: number): Promise<{ annotation: LsAnnotation; taskId: number } | DroppedAnnotation> {
    const rawId = isObj(annotation) ? annotation.id : annotation;
    const id = lsId(rawId);
    if (id === undefined) return { id: rawId, reason: 'bad_id' };
    const claimedTask = lsId(isObj(task) ? task.id : undefined) ?? lsId(isObj(annotation) ? annotation.task : undefined);
    const found = await client.findAnnotation(id);
    if (!found) return { id, reason: 'not_found' };
    const taskId = taskIdOf(found);
    if (taskId === undefined || (claimedTask !== undefined && claimedTask !== taskId)) {
      return { id, reason: 'other_task', detail: `annotation ${id} is on task ${taskId}, the webhook says ${claimedTask}` };
    }
    let owner = lsId(found.project);
    if (owner === undefined) owner = lsId((await client.findTask(taskId))?.project);
    if (owner !== projectId) return { id, reason: 'other_project', detail: `annotation ${id} is in project ${owner}, the webhook says ${projectId}` };
    return { annotation: found, taskId };
  }

  async function guarded<T>(id: unknown, fn: () => Promise<T | DroppedAnnotation>): Promise<T | DroppedAnnotation> {
    try {
      return await fn();
    } catch (err) {
      return { id, reason: 'label_studio_error', detail: (err as Error).message ?? String(err) };
    }
  }

  const isDropped = (v: unknown): v is DroppedAnnotation => isObj(v) && typeof v.reason === 'string' && !('annotation' in v);

  return async (event) => {
    const body = event.body as Json;
    const projectId = lsId(isObj(body.project) ? body.project.id : event.projectId);
    const dropped: DroppedAnnotation[] = [];
    switch (event.action) {
      case 'START_TRAINING':
        return { event, dropped };
      case 'ANNOTATION_DELETED':
      case 'ANNOTATIONS_DELETED': {
        const raw = Array.isArray(body.annotations) ? body.annotations : body.annotation !== undefined ? [body.annotation] : [];
        if (projectId === undefined) return { dropped: raw.map((a) => ({ id: isObj(a) ? a.id : a, reason: 'no_project' as const })) };
        const kept: unknown[] = [];
        for (const [i, a] of raw.entries()) {
          const id = lsId(isObj(a) ? a.id : a);
          if (i >= maxAnnotations) dropped.push({ id, reason: 'too_many' });
          else if (id === undefined) dropped.push({ id: isObj(a) ? a.id : a, reason: 'bad_id' });
          else {
            const r = await guarded(id, async () => ((await client.findAnnotation(id)) ? ({ id, reason: 'still_exists' } as DroppedAnnotation) : { id }));
            if (isDropped(r)) dropped.push(r);
            else kept.push({ id });
          }
        }
        if (!kept.length) return { dropped };
        const next: Json = { ...body, project: { ...(isObj(body.project) ? body.project : {}), id: projectId } };
        if (Array.isArray(body.annotations)) next.annotations = kept;
        else next.annotation = kept[0];
        return { event: { ...event, projectId, body: next as WebhookEvent['body'] }, dropped };
      }
      case 'ANNOTATION_CREATED':
      case 'ANNOTATION_UPDATED':
      case 'ANNOTATIONS_CREATED': {
        const bulk = Array.isArray(body.annotation);
        const anns = bulk ? (body.annotation as unknown[]) : [body.annotation];
        const tasks = Array.isArray(body.task) ? body.task : [];
        if (projectId === undefined) return { dropped: anns.map((a) => ({ id: isObj(a) ? a.id : a, reason: 'no_project' as const })) };
        const keptAnns: LsAnnotation[] = [];
        const keptTasks: Json[] = [];
        for (const [i, a] of anns.entries()) {
          const task = bulk ? (tasks[i] ?? tasks.find((t) => isObj(t) && isObj(a) && lsId(t.id) === lsId(a.task))) : body.task;
          if (i >= maxAnnotations) {
            dropped.push({ id: isObj(a) ? a.id : a, reason: 'too_many' });
            continue;
          }
          const r = await guarded(isObj(a) ? a.id : a, () => confirm(a, task, projectId));
          if (isDropped(r)) dropped.push(r);
          else {
            keptAnns.push(r.annotation);
            keptTasks.push({ ...(isObj(task) ? task : {}), id: r.taskId });
          }
        }
        if (!keptAnns.length) return { dropped };
        let labelConfig: string;
        try {
          labelConfig = (await project(projectId)).label_config;
        } catch (err) {
          return { dropped: [...dropped, ...keptAnns.map((a) => ({ id: a.id, reason: 'label_studio_error' as const, detail: (err as Error).message }))] };
        }
        const next: Json = {
          ...body,
          project: { ...(isObj(body.project) ? body.project : {}), id: projectId, label_config: labelConfig },
          annotation: bulk ? keptAnns : keptAnns[0],
          task: bulk ? keptTasks : keptTasks[0],
        };
        return { event: { ...event, projectId, body: next as WebhookEvent['body'] }, dropped };
      }
    }
  };
}
