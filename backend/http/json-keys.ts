// A bound on JSON keys, checked on the raw bytes before JSON.parse.
import type { Request, Response } from 'express';
import { HttpError } from './errors.js';

/**
 * A body-parser `verify` that refuses, before parsing, a JSON body with more
 * ':' bytes (an upper bound on its keys) than `limit`: JSON.parse and the
 * schemas cost per key (500 000 keys in one object hold the event loop ~0.75 s).
 */
export function keyCounter(limit: number, what: string): (req: Request, res: Response, buf: Buffer) => void {
  return (_req, _res, buf) => {
    let colons = 0;
    for (let i = buf.indexOf(58); i >= 0; i = buf.indexOf(58, i + 1)) {
      if (++colons > limit) throw new HttpError(400, 'invalid_request', `The ${what} has more than ${limit} keys`);
    }
  };
}
