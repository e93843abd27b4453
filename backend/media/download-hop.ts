// One download attempt: GET with redirects followed by hand, so that every hop
// is checked (SSRF guard for hosts other than Label Studio's, http(s) only)
// and the Authorization header never travels to another host. The byte budget
// holds twice: a declared Content-Length over it is refused before reading,
// and a body that grows past it is cut off.
import type { Readable } from 'node:stream';
import type { AxiosInstance, AxiosRequestConfig, AxiosResponse } from 'axios';
import { type LabelStudioAuth, LabelStudioAuthError } from '../labelstudio/api-client.js';
import { forbiddenHost, networkError, Retryable, statusError, timedOut, type ErrorContext } from './download-errors.js';
import { describeUrl, ImageFetchError, tooLarge } from './fetch-error.js';
import { checkUrlHost, ForbiddenHostError, type HostPolicy } from './host-guard.js';

export interface HopContext extends ErrorContext {
  http: AxiosInstance;
  auth: LabelStudioAuth;
  maxBytes: number;
  maxRedirects: number;
  hostPolicy: HostPolicy;
  /** DNS lookup that refuses addresses the host policy forbids (used for every host but Label Studio's). */
  lookup: AxiosRequestConfig['lookup'];
}

/** One attempt. Throws Retryable for failures a later attempt may not see, ImageFetchError for the rest. */
export async function downloadOnce(c: HopContext, startUrl: string, signal: AbortSignal): Promise<Buffer> {
  let url = startUrl;
  for (let hop = 0; hop <= c.maxRedirects; hop++) {
    const res = await requestHop(c, url, startUrl, signal);
    const next = redirectTarget(c, res, url, startUrl);
    if (next !== undefined) {
      url = next;
      continue;
    }
    await refuseBadAnswer(c, res, url, hop);
    return readBody(c, res.data, signal, url);
  }
  throw new ImageFetchError('http_error', `Too many redirects (> ${c.maxRedirects}) for ${describeUrl(startUrl)}`);
}

async function requestHop(c: HopContext, url: string, startUrl: string, signal: AbortSignal): Promise<AxiosResponse<Readable>> {
  // Label Studio's own host is the operator's choice; every other host (and redirect) is checked
  const guarded = !c.isLs(url);
  if (guarded) {
    try {
      checkUrlHost(url, c.hostPolicy);
    } catch (err) {
      if (err instanceof ForbiddenHostError) throw forbiddenHost(err, url, startUrl);
      throw err;
    }
  }
  let headers: Record<string, string>;
  try {
    headers = await c.auth.headersFor(url);
  } catch (err) {
    if (err instanceof LabelStudioAuthError) throw new ImageFetchError('auth', err.message, err.status);
    throw err;
  }
  try {
    return await c.http.get<Readable>(url, {
      headers: { Accept: 'image/*,*/*;q=0.8', ...headers },
      responseType: 'stream',
      maxRedirects: 0,
      validateStatus: () => true,
      signal,
      timeout: c.timeoutMs,
      decompress: true,
      ...(guarded ? { lookup: c.lookup } : {}),
    });
  } catch (err) {
    const cause = err instanceof ForbiddenHostError ? err : (err as { cause?: unknown }).cause;
    if (cause instanceof ForbiddenHostError) throw forbiddenHost(cause, url, startUrl);
    if (signal.aborted || ((err as { code?: string }).code === 'ECONNABORTED' && /timeout/i.test(String((err as Error).message)))) {
      throw timedOut(c, url);
    }
    throw new Retryable(networkError(c, err, url));
  }
}

/** The next URL for a 3xx with a Location, else undefined. Never follows to a non-http(s) URL or the login page. */
function redirectTarget(c: HopContext, res: AxiosResponse<Readable>, url: string, startUrl: string): string | undefined {
  if (res.status < 300 || res.status >= 400 || !res.headers.location) return undefined;
  res.data.destroy();
  let nextUrl: URL;
  try {
    nextUrl = new URL(String(res.headers.location), url);
  } catch {
    throw new ImageFetchError('invalid_reference', `${describeUrl(url)} redirected to a Location that is not a URL`);
  }
  // file:, ftp:, data:... are never followed (and never retried)
  if (nextUrl.protocol !== 'http:' && nextUrl.protocol !== 'https:') {
    throw new ImageFetchError('forbidden_host', `${describeUrl(url)} redirected to a ${nextUrl.protocol} URL; only http(s) redirects are followed`);
  }
  const next = nextUrl.toString();
  if (c.isLs(url) && c.isLs(next) && /^\/user\/login/.test(new URL(next).pathname)) {
    throw new ImageFetchError(
      'unauthorized',
      `Label Studio redirected the image download to its login page (${describeUrl(startUrl)}): set LABEL_STUDIO_API_KEY to a valid token`,
      401,
    );
  }
  return next;
}

/** Throws for a non-2xx status, a Content-Length over the budget, or an HTML page. */
async function refuseBadAnswer(c: HopContext, res: AxiosResponse<Readable>, url: string, hop: number): Promise<void> {
  const status = res.status;
  const patOnLs = c.isLs(url) && c.auth.kind === 'pat';
  // a revoked access token: refresh it, and retry (below)
  if (status === 401 && patOnLs && hop === 0) c.auth.invalidate();
  if (status < 200 || status >= 300) {
    const e = statusError(c, status, url, await drain(res));
    if (status >= 500 || status === 429 || (status === 401 && patOnLs)) throw new Retryable(e);
    throw e;
  }
  const len = Number(res.headers['content-length']);
  if (Number.isFinite(len) && len > c.maxBytes) {
    res.data.destroy();
    throw tooLarge(`The image at ${describeUrl(url)}`, c.maxBytes, len);
  }
  if (/^text\/html/i.test(String(res.headers['content-type'] ?? ''))) {
    await drain(res);
    throw new ImageFetchError(
      'not_an_image',
      `Got an HTML page instead of an image from ${describeUrl(url)}` + (c.isLs(url) ? ' (probably the login page: check LABEL_STUDIO_API_KEY)' : ''),
    );
  }
}

/** The body, cut off as soon as it passes the byte budget. */
async function readBody(c: HopContext, stream: Readable, signal: AbortSignal, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > c.maxBytes) {
        stream.destroy();
        throw tooLarge(`The image at ${describeUrl(url)}`, c.maxBytes);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ImageFetchError) throw err;
    if (signal.aborted) throw timedOut(c, url);
    throw new Retryable(networkError(c, err, url));
  }
  return Buffer.concat(chunks, size);
}

/** The start of an error body (for the message), then the stream is closed. */
async function drain(res: AxiosResponse<Readable>, limit = 4096): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.data) {
      chunks.push(c as Buffer);
      n += (c as Buffer).length;
      if (n >= limit) break;
    }
  } catch {
    /* the message goes without the body */
  }
  res.data.destroy();
  return Buffer.concat(chunks).toString('utf8');
}
