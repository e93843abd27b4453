// Who may call: basic auth on every route but /webhook (Label Studio sends
// webhooks without it), and /webhook's shared secret. Both compare in
// constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ba.length !== bb.length) {
    timingSafeEqual(ba, ba);
    return false;
  }
  return timingSafeEqual(ba, bb);
}

export function isWebhookPath(req: Request): boolean {
  return req.path.replace(/\/+$/, '') === '/webhook';
}

export function basicAuth(user: string, pass: string): RequestHandler {
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

/** Basic auth on everything but /webhook. */
export function basicAuthButWebhook(user: string, pass: string): RequestHandler {
  const guard = basicAuth(user, pass);
  return (req, res, next) => (isWebhookPath(req) ? next() : guard(req, res, next));
}

/** /webhook's shared secret (X-Webhook-Secret), compared in constant time, before the body is read. */
export function webhookSecret(secret: string | undefined): RequestHandler {
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
