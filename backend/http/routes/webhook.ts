// POST /webhook: Label Studio's project events. The secret is checked before
// the body is read, the body has its own small limit and bounds; an
// acknowledged event is committed to the inbox (or handed to the model's fit
// in the background: Label Studio waits only 1 s for the answer).
import express, { type Express, type Request, type Response } from 'express';
import type { Limits } from '../../config.js';
import type { WebhookVerifier } from '../../labelstudio/webhook-verifier.js';
import { describeZodError, WEBHOOK_ACTIONS, WebhookRequest, type WebhookAction, type WebhookEvent } from '../../labelstudio/schemas.js';
import { InboxFullError } from '../../learning/store.js';
import type { Logger } from '../../logging.js';
import type { FaceSegModel } from '../../model/faceseg-model.js';
import { webhookSecret } from '../auth.js';
import { HttpError, sendBusy } from '../errors.js';
import { countWebhookKeys, webhookBounds, WebhooksInFlight } from '../webhook-guards.js';

export interface WebhookDeps {
  secret?: string;
  limits: Pick<Limits, 'webhookMaxBodyBytes'>;
  model: Pick<FaceSegModel, 'fit' | 'learns'>;
  inbox?: { accept(event: WebhookEvent): Promise<unknown> };
  verify?: WebhookVerifier;
}

export function webhookRoute(app: Express, deps: WebhookDeps): void {
  const inFlight = new WebhooksInFlight();
  const bodyParser = express.json({ limit: deps.limits.webhookMaxBodyBytes, type: () => true, strict: true, verify: countWebhookKeys });
  app.post('/webhook', webhookSecret(deps.secret), inFlight.guard, bodyParser, webhookBounds, async (req: Request, res: Response) => {
    const parsed = WebhookRequest.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', describeZodError(parsed.error));
    const action = parsed.data.action;
    if (!(WEBHOOK_ACTIONS as readonly string[]).includes(action)) {
      res.status(200).json({ status: 'Unknown event' });
      return;
    }
    const event: WebhookEvent = { action: action as WebhookAction, projectId: parsed.data.project?.id, body: parsed.data };
    req.log.info('webhook', { action, project: event.projectId });
    if (deps.inbox) {
      // committed before the 201, so an acknowledged event survives a crash
      if (!(await commit(deps.inbox, event, req, res))) return;
    } else if (deps.model.learns) {
      const log = req.log;
      void Promise.resolve()
        .then(() => inFlight.run(() => deliver(deps, event, log)))
        .catch((err: unknown) => log.error('webhook handler failed', { action, error: (err as Error)?.message ?? String(err) }));
    }
    res.status(201).json({ status: 'ok', action });
  });
}

/** Stores the event; false (after a 503) when the inbox is full or down. */
async function commit(inbox: NonNullable<WebhookDeps['inbox']>, event: WebhookEvent, req: Request, res: Response): Promise<boolean> {
  try {
    await inbox.accept(event);
    return true;
  } catch (err) {
    const full = err instanceof InboxFullError;
    const detail = full ? (err as Error).message : `the webhook could not be stored: ${(err as Error)?.message ?? String(err)}`;
    req.log.log(full ? 'warn' : 'error', `503 webhook: ${detail}`);
    sendBusy(res, full ? 'inbox_full' : 'store_unavailable', detail, 30);
    return false;
  }
}

/** Annotation events are confirmed with Label Studio (when a verifier is set) before the model learns from them. */
async function deliver(deps: WebhookDeps, event: WebhookEvent, log: Logger): Promise<void> {
  let verified: WebhookEvent | undefined = event;
  if (deps.verify) {
    const out = await deps.verify(event);
    for (const d of out.dropped) {
      log.warn('webhook annotation dropped', { action: event.action, project: event.projectId, annotation: d.id, reason: d.reason, detail: d.detail });
    }
    verified = out.event;
  }
  if (verified) await deps.model.fit(verified);
}
