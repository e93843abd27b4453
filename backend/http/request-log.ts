// Every request gets an id (the caller's X-Request-Id when it is sane), a
// logger that carries it, one access log line and the HTTP metrics.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLog(logger: Logger, metrics: Pick<Metrics, 'httpRequests' | 'httpDuration'>) {
  return (req: Request, res: Response, next: NextFunction): void => {
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
  };
}
