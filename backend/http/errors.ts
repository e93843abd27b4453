// Error mapping: every failure leaves as JSON {error, detail} with the status
// that says whose fault it is (4xx the caller's, 503 busy, 500 ours).
import type { NextFunction, Request, Response } from 'express';
import type { Limits } from '../config.js';
import type { Logger } from '../logging.js';
import { isWebhookPath } from './auth.js';
import { QueueFullError } from './work-queue.js';

export class HttpError extends Error {
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

export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}`));
}

/** 503 busy: Retry-After and the JSON body every busy answer has ({error: "busy", reason, detail, retry_after}). */
export function sendBusy(res: Response, reason: string, detail: string, retryAfterS: number): void {
  res.setHeader('Retry-After', String(retryAfterS));
  res.status(503).json({ error: 'busy', reason, detail, retry_after: retryAfterS });
}

/** The last middleware: maps busy, HTTP, body-parser and unexpected errors. */
export function errorHandler(limits: Pick<Limits, 'maxBodyBytes' | 'webhookMaxBodyBytes'>, logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const log = req.log ?? logger;
    if (err instanceof QueueFullError) {
      log.warn(`503 ${err.reason}: ${err.message}`);
      sendBusy(res, err.reason, err.message, err.retryAfterS);
    } else if (err instanceof HttpError) {
      if (err.status >= 500) log.error(err.message);
      else if (err.status !== 404) log.warn(`${err.error}: ${err.message}`);
      // Label Studio shows users only the status line of a failed /setup, so the reason goes there too
      res.statusMessage = reasonPhrase(err.message);
      res.status(err.status).json({ error: err.error, detail: err.message });
    } else {
      otherError(err, req, res, log, limits);
    }
  };
}

function otherError(err: unknown, req: Request, res: Response, log: Logger, limits: Pick<Limits, 'maxBodyBytes' | 'webhookMaxBodyBytes'>): void {
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.too.large') {
    log.warn('request body too large');
    const webhook = isWebhookPath(req);
    res.status(413).json({
      error: 'payload_too_large',
      detail: webhook
        ? `The webhook body is larger than WEBHOOK_MAX_BODY_BYTES=${limits.webhookMaxBodyBytes}`
        : `The request body is larger than MAX_BODY_BYTES=${limits.maxBodyBytes}: send fewer tasks per request (images must be URLs, not inline data)`,
    });
  } else if (e.type === 'entity.parse.failed') {
    res.status(400).json({ error: 'invalid_json', detail: `The request body is not valid JSON: ${e.message}` });
  } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    res.status(e.status).json({ error: e.type ?? 'bad_request', detail: e.message ?? 'Bad request' });
  } else {
    log.error('unhandled error', { error: e.message ?? String(err) });
    res.status(500).json({ error: 'internal_error', detail: e.message ?? 'Internal error' });
  }
}
