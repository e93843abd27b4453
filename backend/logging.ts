// winston logger: JSON or text lines, child loggers per request, and a
// redaction step so that tokens, passwords and Authorization headers never
// reach a log line.
import winston from 'winston';
import type Transport from 'winston-transport';
import type { Config } from './config.js';

export type Logger = winston.Logger;

const SECRET_KEY = /authorization|password|passwd|secret|token|api[-_]?key|cookie|^pass$|^access$|^refresh$/i;
// Each pattern can start only at a fixed literal or at the start of a run of
// its own characters (lookbehind), and the open-ended parts are bounded, so
// the work is linear in the string (the old URL pattern was quadratic on a
// run of letters); strings are also cut to MAX_LOG_STRING before any runs.
export const SECRET_TEXT: Array<[RegExp, string]> = [
  [/\b(Token|Bearer|Basic)[ \t]{1,16}[A-Za-z0-9._~+/=-]{6,}/g, '$1 [redacted]'],
  // a JWT anywhere in a message (also one cut short by truncation)
  [/(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{1,}(?:\.[A-Za-z0-9_-]*)?/g, '[redacted-jwt]'],
  // credentials in URLs: scheme://user:pass@host
  [/(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/)[^/\s:@]{1,256}:[^/\s@]{0,256}@/g, '$1[redacted]@'],
  // signed URL query parameters (S3, GCS, Azure SAS)
  [/([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential|Signature|sig|token|access_token)=)[^&\s"]+/gi, '$1[redacted]'],
];

/** Longest string a log field keeps (longer ones are cut before redaction). */
export const MAX_LOG_STRING = 4096;
/** Most entries of one array or object a log field keeps. */
const MAX_LOG_ENTRIES = 100;

function truncate(s: string): string {
  return s.length > MAX_LOG_STRING ? `${s.slice(0, MAX_LOG_STRING)}…[${s.length - MAX_LOG_STRING} more chars]` : s;
}

const truncate256 = (k: string) => `${k.slice(0, 256)}…`;

/** Mask secrets in a string (cut to MAX_LOG_STRING first). */
export function redactText(s: string): string {
  let out = truncate(s);
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
  if (Array.isArray(value)) {
    const head = value.slice(0, MAX_LOG_ENTRIES).map((v) => redact(v, depth + 1));
    return value.length > MAX_LOG_ENTRIES ? [...head, `…[${value.length - MAX_LOG_ENTRIES} more]`] : head;
  }
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${(value as Uint8Array).byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    if (++n > MAX_LOG_ENTRIES) {
      out['…'] = 'more keys left out';
      break;
    }
    const v = (value as Record<string, unknown>)[k];
    out[k.length > 256 ? truncate256(k) : k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? '[redacted]' : redact(v, depth + 1);
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

/** Control characters (line breaks first) as \uXXXX escapes. */
export function escapeControls(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, options: LoggerOptions = {}): Logger {
  const text = winston.format.printf((info) => {
    const { timestamp, level, message, ...rest } = info;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    // a task id or URL with a line break must not start a fake log line
    return `${timestamp} ${level}: ${escapeControls(String(message))}${extra}`;
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
