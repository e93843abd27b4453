// winston logger: JSON or text lines, child loggers per request, and a
// redaction step so that tokens, passwords and Authorization headers never
// reach a log line.
import winston from 'winston';
import type Transport from 'winston-transport';
import type { Config } from './config.js';

export type Logger = winston.Logger;

const SECRET_KEY = /authorization|password|passwd|secret|token|api[-_]?key|cookie|^pass$|^access$|^refresh$/i;
const SECRET_TEXT: Array<[RegExp, string]> = [
  [/\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/g, '$1 [redacted]'],
  // a JWT anywhere in a message
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  // credentials in URLs: scheme://user:pass@host
  [/(\w+:\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1[redacted]@'],
  // signed URL query parameters (S3, GCS, Azure SAS)
  [/([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential|Signature|sig|token|access_token)=)[^&\s"]+/gi, '$1[redacted]'],
];

/** Mask secrets in a string. */
export function redactText(s: string): string {
  let out = s;
  for (const [re, rep] of SECRET_TEXT) out = out.replace(re, rep);
  return out;
}

/** Deep copy with secret-looking keys masked and secret-looking strings redacted. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (value instanceof Error) {
    return { name: value.name, message: redactText(value.message), ...(redact({ ...value }, depth + 1) as object) };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${(value as Uint8Array).byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const v = info[key];
    if (SECRET_KEY.test(key) && v !== undefined && v !== null && v !== '') info[key] = '[redacted]';
    else info[key] = redact(v);
  }
  return info;
});

export interface LoggerOptions {
  /** Replace the console transport (tests). */
  transports?: Transport[];
  silent?: boolean;
}

export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, options: LoggerOptions = {}): Logger {
  const text = winston.format.printf((info) => {
    const { timestamp, level, message, ...rest } = info;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${timestamp} ${level}: ${String(message)}${extra}`;
  });
  return winston.createLogger({
    level: config.logLevel,
    silent: options.silent,
    format: winston.format.combine(
      winston.format.errors({ stack: false }),
      redactFormat(),
      winston.format.timestamp(),
      config.logFormat === 'json' ? winston.format.json() : text,
    ),
    transports: options.transports ?? [new winston.transports.Console({ stderrLevels: ['error'] })],
  });
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return createLogger({ logLevel: 'error', logFormat: 'json' }, { silent: true });
}
