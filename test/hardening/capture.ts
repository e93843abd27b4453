// A winston logger that keeps its entries, to read per-task error reasons.
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../backend/logging.js';

export interface Entry {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** A winston transport that appends every entry to `entries`. */
export function keepingTransport(entries: Entry[]): winston.transport {
  const stream = new Writable({
    objectMode: true,
    write(info: Entry, _enc, cb) {
      entries.push(info);
      cb();
    },
  });
  return new winston.transports.Stream({ stream });
}

export function captureLogger(): { logger: Logger; entries: Entry[] } {
  const entries: Entry[] = [];
  return { logger: winston.createLogger({ level: 'debug', transports: [keepingTransport(entries)] }), entries };
}

/** taskId -> reason of the 'task failed' log lines. */
export function failures(entries: Entry[]): Map<unknown, string> {
  return new Map(entries.filter((e) => e.message === 'task failed').map((e) => [e.taskId, String(e.reason)]));
}
