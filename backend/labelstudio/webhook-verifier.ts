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

/** What one verification needs: the API, the cached label configs, the bulk limit. */
interface VerifyContext {
  client: LabelStudioReader;
  project: (id: number) => Promise<LsProject>;
  maxAnnotations: number;
}

export function createWebhookVerifier(options: VerifierOptions): WebhookVerifier {
  const ctx: VerifyContext = {
    client: options.client,
    project: projectCache(options.client, options.projectTtlMs ?? 60_000, options.now ?? Date.now),
    maxAnnotations: options.maxAnnotations ?? 100,
  };
  return async (event) => {
    const body = event.body as Json;
    const projectId = lsId(isObj(body.project) ? body.project.id : event.projectId);
    switch (event.action) {
      case 'START_TRAINING':
        return { event, dropped: [] };
      case 'ANNOTATION_DELETED':
      case 'ANNOTATIONS_DELETED':
        return verifyDeletes(ctx, event, projectId);
      case 'ANNOTATION_CREATED':
      case 'ANNOTATION_UPDATED':
      case 'ANNOTATIONS_CREATED':
        return verifyAnnotations(ctx, event, projectId);
    }
  };
}

/** Projects (their label configs) for `ttl` ms, at most 256; a failed read is not kept. */
function projectCache(client: LabelStudioReader, ttl: number, now: () => number): (id: number) => Promise<LsProject> {
  const projects = new Map<number, { at: number; project: Promise<LsProject> }>();
  return (id) => {
    const hit = projects.get(id);
    if (hit && now() - hit.at < ttl) return hit.project;
    const p = client.getProject(id);
    p.catch(() => projects.delete(id));
    if (projects.size >= 256) projects.delete(projects.keys().next().value!);
    projects.set(id, { at: now(), project: p });
    return p;
  };
}

/** The API's copy of one annotation, or why it is not used. */
async function confirm(
  client: LabelStudioReader,
  annotation: unknown,
  task: unknown,
  projectId: number,
): Promise<{ annotation: LsAnnotation; taskId: number } | DroppedAnnotation> {
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

const rawIdOf = (a: unknown): unknown => (isObj(a) ? a.id : a);

/** A delete is kept only for annotations the API no longer has. */
async function verifyDeletes(ctx: VerifyContext, event: WebhookEvent, projectId: number | undefined): Promise<VerifyOutcome> {
  const body = event.body as Json;
  const raw = Array.isArray(body.annotations) ? body.annotations : body.annotation !== undefined ? [body.annotation] : [];
  if (projectId === undefined) return { dropped: raw.map((a) => ({ id: rawIdOf(a), reason: 'no_project' as const })) };
  const dropped: DroppedAnnotation[] = [];
  const kept: unknown[] = [];
  for (const [i, a] of raw.entries()) {
    const id = lsId(rawIdOf(a));
    if (i >= ctx.maxAnnotations) dropped.push({ id, reason: 'too_many' });
    else if (id === undefined) dropped.push({ id: rawIdOf(a), reason: 'bad_id' });
    else {
      const r = await guarded(id, async () => ((await ctx.client.findAnnotation(id)) ? ({ id, reason: 'still_exists' } as DroppedAnnotation) : { id }));
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

/** Created and updated annotations are replaced by the API's copies, with the project's label config from the API. */
async function verifyAnnotations(ctx: VerifyContext, event: WebhookEvent, projectId: number | undefined): Promise<VerifyOutcome> {
  const body = event.body as Json;
  const bulk = Array.isArray(body.annotation);
  const anns = bulk ? (body.annotation as unknown[]) : [body.annotation];
  if (projectId === undefined) return { dropped: anns.map((a) => ({ id: rawIdOf(a), reason: 'no_project' as const })) };
  const { kept, dropped } = await confirmAll(ctx, body, anns, bulk, projectId);
  if (!kept.length) return { dropped };
  let labelConfig: string;
  try {
    labelConfig = (await ctx.project(projectId)).label_config;
  } catch (err) {
    return { dropped: [...dropped, ...kept.map(({ annotation: a }) => ({ id: a.id, reason: 'label_studio_error' as const, detail: (err as Error).message }))] };
  }
  const next: Json = {
    ...body,
    project: { ...(isObj(body.project) ? body.project : {}), id: projectId, label_config: labelConfig },
    annotation: bulk ? kept.map((k) => k.annotation) : kept[0].annotation,
    task: bulk ? kept.map((k) => k.task) : kept[0].task,
  };
  return { event: { ...event, projectId, body: next as WebhookEvent['body'] }, dropped };
}

/** Each annotation (at most maxAnnotations) confirmed with the API, paired with its task. */
async function confirmAll(ctx: VerifyContext, body: Json, anns: unknown[], bulk: boolean, projectId: number) {
  const tasks = Array.isArray(body.task) ? body.task : [];
  const kept: Array<{ annotation: LsAnnotation; task: Json }> = [];
  const dropped: DroppedAnnotation[] = [];
  for (const [i, a] of anns.entries()) {
    const task = bulk ? (tasks[i] ?? tasks.find((t) => isObj(t) && isObj(a) && lsId(t.id) === lsId(a.task))) : body.task;
    if (i >= ctx.maxAnnotations) {
      dropped.push({ id: rawIdOf(a), reason: 'too_many' });
      continue;
    }
    const r = await guarded(rawIdOf(a), () => confirm(ctx.client, a, task, projectId));
    if (isDropped(r)) dropped.push(r);
    else kept.push({ annotation: r.annotation, task: { ...(isObj(task) ? task : {}), id: r.taskId } });
  }
  return { kept, dropped };
}
