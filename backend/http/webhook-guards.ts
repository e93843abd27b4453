// What /webhook checks before its handler: how many events are in flight,
// and bounds of the body that the schema alone does not give (key counts,
// label config size, a plausible project id).
import type { NextFunction, Request, Response } from 'express';
import { MAX_LABEL_CONFIG_CHARS } from '../labelstudio/label-config.js';
import { HttpError, sendBusy } from './errors.js';
import { keyCounter } from './json-keys.js';

/** Most ':' bytes (an upper bound on JSON keys) a webhook body may hold; counted before JSON.parse. */
const MAX_WEBHOOK_KEYS = 50_000;
/** Most keys of the top-level object and of project/task/annotation (the schema copies them all). */
const MAX_WEBHOOK_OBJECT_KEYS = 1000;
/** Webhook events being verified or handled in the background at once (503 above): 16 x a 2 MB body at most. */
export const MAX_WEBHOOKS_IN_FLIGHT = 16;

/** Webhook events still being verified or handled in the background. */
export class WebhooksInFlight {
  count = 0;

  /** 503 + Retry-After while MAX_WEBHOOKS_IN_FLIGHT events are in flight. */
  readonly guard = (_req: Request, res: Response, next: NextFunction): void => {
    if (this.count < MAX_WEBHOOKS_IN_FLIGHT) return next();
    sendBusy(res, 'webhooks_in_flight', `${this.count} webhook events are still being handled`, 5);
  };

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await fn();
    } finally {
      this.count--;
    }
  }
}

/** A webhook body with more possible keys than a Label Studio event has. */
export const countWebhookKeys = keyCounter(MAX_WEBHOOK_KEYS, 'webhook body');

function moreKeysThan(v: unknown, limit: number): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  let n = 0;
  for (const _ in v) if (++n > limit) return true;
  return false;
}

/** Bounds of a webhook body that the schema alone does not give. */
export function webhookBounds(req: Request, _res: Response, next: NextFunction): void {
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
