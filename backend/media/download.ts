// Downloads with a deadline per attempt, and retries (with backoff) for
// network errors, 429 and 5xx, never for other 4xx.
import type { AxiosRequestConfig } from 'axios';
import type { LabelStudioAuth } from '../labelstudio/api-client.js';
import { exponentialDelay, withRetry } from '../util/retry.js';
import { Retryable } from './download-errors.js';
import { downloadOnce, type HopContext } from './download-hop.js';
import { guardedLookup } from './host-guard.js';
import type { ImageSourceOptions } from './types.js';

/** GET `url` as bytes; `signal` (the caller's) stops the download and any further attempt. */
export type Download = (url: string, signal?: AbortSignal) => Promise<Buffer>;

export function createDownloader(options: ImageSourceOptions & Required<Pick<ImageSourceOptions, 'http'>>, auth: LabelStudioAuth): Download {
  const hostPolicy = options.hostPolicy ?? { allowPrivate: true, allowLinkLocal: false };
  const ctx: HopContext = {
    http: options.http,
    auth,
    isLs: (url) => auth.isLabelStudioUrl(url),
    authKind: auth.kind,
    labelStudioUrl: options.labelStudioUrl,
    runningInDocker: options.runningInDocker,
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxBytes,
    maxRedirects: options.maxRedirects ?? 5,
    hostPolicy,
    // axios hands this to http.request as its DNS lookup (callback form, honours opts.all)
    lookup: guardedLookup(hostPolicy) as unknown as AxiosRequestConfig['lookup'],
  };
  const retry = {
    retries: options.retries ?? 2,
    delayMs: exponentialDelay(options.backoffMs ?? 300),
    shouldRetry: (err: unknown) => err instanceof Retryable,
    sleep: options.sleep,
  };

  return async (url, outer) => {
    try {
      return await withRetry(() => withDeadline(options.timeoutMs, outer, (signal) => downloadOnce(ctx, url, signal)), {
        ...retry,
        signal: outer,
      });
    } catch (err) {
      throw err instanceof Retryable ? err.inner : err;
    }
  };
}

/** Run `fn` with a signal that aborts after `ms` or when `outer` aborts. */
async function withDeadline<T>(ms: number, outer: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const onAbort = () => controller.abort();
  outer?.addEventListener('abort', onAbort);
  try {
    return await fn(controller.signal);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}
