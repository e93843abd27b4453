// Messages for failed downloads: each says what to fix (token, URL, host).
import { isLoopbackUrl } from '../config.js';
import type { ApiKeyKind } from '../labelstudio/api-client.js';
import { describeUrl, ImageFetchError } from './fetch-error.js';
import type { ForbiddenHostError } from './host-guard.js';

/** What the messages need to know about the setup. */
export interface ErrorContext {
  /** True for URLs on the Label Studio host. */
  isLs(url: string): boolean;
  authKind: ApiKeyKind;
  labelStudioUrl?: string;
  runningInDocker?: boolean;
  timeoutMs: number;
}

/** A failure a later attempt may not see (network, 429, 5xx, a stale access token). */
export class Retryable extends Error {
  constructor(readonly inner: ImageFetchError) {
    super(inner.message);
  }
}

export function forbiddenHost(err: ForbiddenHostError, url: string, startUrl: string): ImageFetchError {
  const via = url === startUrl ? '' : ` (redirected from ${describeUrl(startUrl)})`;
  return new ImageFetchError('forbidden_host', `Refused to download ${describeUrl(url)}${via}: ${err.message}`);
}

export function timedOut(c: ErrorContext, url: string): ImageFetchError {
  return new ImageFetchError('timeout', `Image download timed out after ${c.timeoutMs} ms: ${describeUrl(url)}`);
}

function unauthorized(c: ErrorContext, url: string, where: string): ImageFetchError {
  return new ImageFetchError(
    'unauthorized',
    c.isLs(url)
      ? `Label Studio refused the image download (401 Unauthorized) at ${where}: set LABEL_STUDIO_API_KEY to a valid token ` +
          `(legacy token or personal access token from Account & Settings)${c.authKind === 'none' ? '; it is not set now' : ''}`
      : `The image host answered 401 Unauthorized for ${where}: the URL needs credentials this backend does not have`,
    401,
  );
}

function forbidden(c: ErrorContext, url: string, where: string): ImageFetchError {
  return new ImageFetchError(
    'forbidden',
    c.isLs(url)
      ? `Label Studio refused the image download (403 Forbidden) at ${where}: the API key's user may not have access to this project` +
          (url.includes('/data/local-files') ? ', or local files serving is off (set LOCAL_FILES_SERVING_ENABLED=true on Label Studio, or mount the files and set LOCAL_FILES_DOCUMENT_ROOT here)' : '')
      : `The image host answered 403 Forbidden for ${where} (expired signed URL or private bucket?)`,
    403,
  );
}

/** A non-2xx answer; `body` is the start of the response, shown for the statuses without a message of their own. */
export function statusError(c: ErrorContext, status: number, url: string, body: string): ImageFetchError {
  const where = describeUrl(url);
  if (status === 401) return unauthorized(c, url, where);
  if (status === 403) return forbidden(c, url, where);
  if (status === 404) return new ImageFetchError('not_found', `Image not found (404) at ${where}`, status);
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 160);
  return new ImageFetchError('http_error', `Image download failed with HTTP ${status} at ${where}${snippet ? `: ${snippet}` : ''}`, status);
}

export function networkError(c: ErrorContext, err: unknown, url: string): ImageFetchError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? 'ERROR';
  const where = describeUrl(url);
  const ls = c.labelStudioUrl;
  if (c.isLs(url) && c.runningInDocker && isLoopbackUrl(ls)) {
    return new ImageFetchError(
      'network',
      `Cannot reach Label Studio at ${ls} (${code}): this looks like a container, where localhost is the container itself. ` +
        'Set LABEL_STUDIO_URL to the Label Studio service name (e.g. http://label-studio:8080) or the host address (e.g. http://host.docker.internal:8080)',
    );
  }
  if (code === 'ENOTFOUND') {
    return new ImageFetchError('network', `Cannot resolve the host of ${where} (ENOTFOUND)${c.isLs(url) ? ': check LABEL_STUDIO_URL' : ''}`);
  }
  return new ImageFetchError('network', `Cannot download ${where}: ${code}${e.message && !e.message.includes(code) ? ` (${e.message})` : ''}`);
}
