// Turns a task's image reference into bytes.
//
//   /data/upload/3/x.jpg             -> {LS}/data/upload/3/x.jpg (with auth)
//   /data/local-files/?d=dir/x.jpg   -> LOCAL_FILES_DOCUMENT_ROOT/dir/x.jpg when set, else via {LS}
//   s3:// gs:// azure-blob://        -> {LS}/tasks/{id}/presign/?fileuri=<base64url(uri)>, then the redirect
//   http(s)://...                    -> as is (auth only when it is the Label Studio host)
//   data:image/...;base64,...        -> decoded in place
//
// Downloads have a deadline and a byte limit, follow redirects by hand (so the
// Authorization header never travels to another host), and retry network
// errors and 5xx with backoff, never 4xx. Hosts other than Label Studio's pass
// the SSRF guard (host-guard.ts) on every hop: no link-local or metadata
// addresses, and no private ones when ALLOW_PRIVATE_IMAGE_HOSTS=false.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { isLoopbackUrl, type Config } from '../config.js';
import { LabelStudioAuth, LabelStudioAuthError } from '../labelstudio/api-client.js';
import { checkUrlHost, ForbiddenHostError, guardedLookup, type HostPolicy } from './host-guard.js';

export type ImageFetchErrorCode =
  | 'invalid_reference'
  | 'no_label_studio_url'
  | 'no_task_id'
  | 'auth'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'http_error'
  | 'not_an_image'
  | 'too_large'
  | 'timeout'
  | 'network'
  | 'path_traversal'
  | 'forbidden_host'
  | 'local_file';

export class ImageFetchError extends Error {
  constructor(
    readonly code: ImageFetchErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ImageFetchError';
  }
}

export interface FetchContext {
  /** The task id, needed for cloud storage URIs (presign). */
  taskId?: number | string | null;
  signal?: AbortSignal;
}

export interface ImageSource {
  fetch(ref: string, ctx?: FetchContext): Promise<Buffer>;
}

export interface ImageSourceOptions {
  labelStudioUrl?: string;
  localFilesDocumentRoot?: string;
  maxBytes: number;
  timeoutMs: number;
  runningInDocker?: boolean;
  auth?: LabelStudioAuth;
  http?: AxiosInstance;
  /** Extra attempts after a network error or 5xx. Default 2. */
  retries?: number;
  /** First backoff delay; doubles each retry. Default 300 ms. */
  backoffMs?: number;
  maxRedirects?: number;
  sleep?: (ms: number) => Promise<void>;
  /** SSRF guard for hosts other than Label Studio's. Default: private allowed, link-local/metadata refused. */
  hostPolicy?: HostPolicy;
}

export const CLOUD_SCHEMES = ['s3', 'gs', 'gcs', 'azure-blob', 'azure-spi'] as const;
const CLOUD_RE = new RegExp(`^(${CLOUD_SCHEMES.join('|')}):\\/\\/`, 'i');

export type ImageRef =
  | { kind: 'data'; ref: string }
  | { kind: 'local-files'; url?: string; file: string }
  | { kind: 'label-studio'; url: string }
  | { kind: 'cloud'; uri: string }
  | { kind: 'http'; url: string };

/** base64url WITH padding: Label Studio decodes it with Python's urlsafe_b64decode, which needs the '='. */
export function encodeFileUri(uri: string): string {
  return Buffer.from(uri, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export function presignUrl(labelStudioUrl: string, taskId: number | string, uri: string): string {
  return `${labelStudioUrl}/tasks/${encodeURIComponent(String(taskId))}/presign/?fileuri=${encodeURIComponent(encodeFileUri(uri))}`;
}

/** Strip query strings (signatures) from URLs shown in messages, except local-files' d. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.pathname.startsWith('/data/local-files')) return `${u.origin}${u.pathname}?d=${u.searchParams.get('d') ?? ''}`;
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return url.length > 200 ? `${url.slice(0, 200)}…` : url;
  }
}

function localFilesPath(u: URL): string | undefined {
  if (!/^\/data\/local-files\/?$/.test(u.pathname)) return undefined;
  return u.searchParams.get('d') ?? '';
}

/** Classify an image reference (pure: no I/O). */
export function classifyImageRef(ref: string, labelStudioUrl?: string): ImageRef {
  const r = ref.trim();
  if (/^data:/i.test(r)) return { kind: 'data', ref: r };
  if (CLOUD_RE.test(r)) return { kind: 'cloud', uri: r };
  if (/^https?:\/\//i.test(r)) {
    let u: URL;
    try {
      u = new URL(r);
    } catch {
      throw new ImageFetchError('invalid_reference', `The task's image URL is not a valid URL: ${describeUrl(r)}`);
    }
    const lsOrigin = labelStudioUrl ? new URL(labelStudioUrl).origin : undefined;
    if (u.origin === lsOrigin) {
      const file = localFilesPath(u);
      return file !== undefined ? { kind: 'local-files', url: r, file } : { kind: 'label-studio', url: r };
    }
    return { kind: 'http', url: r };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(r)) {
    throw new ImageFetchError(
      'invalid_reference',
      `Unsupported image URL scheme in "${describeUrl(r)}": use http(s)://, /data/upload/..., /data/local-files/?d=..., s3://, gs://, azure-blob:// or data:`,
    );
  }
  if (r === '') throw new ImageFetchError('invalid_reference', "The task's image field is empty");
  // relative to Label Studio
  const rel = r.startsWith('/') ? r : `/${r}`;
  const parsed = new URL(rel, 'http://relative.invalid');
  const file = localFilesPath(parsed);
  if (!labelStudioUrl) {
    if (file !== undefined) return { kind: 'local-files', file };
    throw new ImageFetchError(
      'no_label_studio_url',
      `The task's image "${describeUrl(r)}" is a path on the Label Studio server, but LABEL_STUDIO_URL is not set: ` +
        'set it to the address at which this backend reaches Label Studio (e.g. http://label-studio:8080) and set LABEL_STUDIO_API_KEY',
    );
  }
  const url = `${labelStudioUrl}${rel}`;
  return file !== undefined ? { kind: 'local-files', url, file } : { kind: 'label-studio', url };
}

const RETRY_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'ENETUNREACH', 'EHOSTUNREACH']);
const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Retryable extends Error {
  constructor(readonly inner: ImageFetchError) {
    super(inner.message);
  }
}

export function createImageSource(options: ImageSourceOptions): ImageSource {
  const http = options.http ?? axios.create();
  const auth = options.auth ?? new LabelStudioAuth({ baseUrl: options.labelStudioUrl });
  const retries = options.retries ?? 2;
  const backoff = options.backoffMs ?? 300;
  const maxRedirects = options.maxRedirects ?? 5;
  const sleep = options.sleep ?? sleepMs;
  const ls = options.labelStudioUrl;
  const isLs = (url: string) => auth.isLabelStudioUrl(url);
  const hostPolicy: HostPolicy = options.hostPolicy ?? { allowPrivate: true, allowLinkLocal: false };
  // axios hands this to http.request as its DNS lookup (callback form, honours opts.all)
  const lookup = guardedLookup(hostPolicy) as unknown as AxiosRequestConfig['lookup'];

  function forbidden(err: ForbiddenHostError, url: string, startUrl: string): ImageFetchError {
    const via = url === startUrl ? '' : ` (redirected from ${describeUrl(startUrl)})`;
    return new ImageFetchError('forbidden_host', `Refused to download ${describeUrl(url)}${via}: ${err.message}`);
  }

  function tooLarge(what: string, size?: number): ImageFetchError {
    const got = size !== undefined ? ` (${size} bytes)` : '';
    return new ImageFetchError('too_large', `${what} is larger than MAX_IMAGE_BYTES=${options.maxBytes}${got}`);
  }

  function statusError(status: number, url: string, body: string): ImageFetchError {
    const where = describeUrl(url);
    const fromLs = isLs(url);
    if (status === 401) {
      return new ImageFetchError(
        'unauthorized',
        fromLs
          ? `Label Studio refused the image download (401 Unauthorized) at ${where}: set LABEL_STUDIO_API_KEY to a valid token ` +
              `(legacy token or personal access token from Account & Settings)${auth.kind === 'none' ? '; it is not set now' : ''}`
          : `The image host answered 401 Unauthorized for ${where}: the URL needs credentials this backend does not have`,
        status,
      );
    }
    if (status === 403) {
      return new ImageFetchError(
        'forbidden',
        fromLs
          ? `Label Studio refused the image download (403 Forbidden) at ${where}: the API key's user may not have access to this project` +
              (url.includes('/data/local-files') ? ', or local files serving is off (set LOCAL_FILES_SERVING_ENABLED=true on Label Studio, or mount the files and set LOCAL_FILES_DOCUMENT_ROOT here)' : '')
          : `The image host answered 403 Forbidden for ${where} (expired signed URL or private bucket?)`,
        status,
      );
    }
    if (status === 404) {
      return new ImageFetchError('not_found', `Image not found (404) at ${where}`, status);
    }
    const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 160);
    return new ImageFetchError('http_error', `Image download failed with HTTP ${status} at ${where}${snippet ? `: ${snippet}` : ''}`, status);
  }

  function networkError(err: unknown, url: string): ImageFetchError {
    const e = err as { code?: string; message?: string };
    const code = e.code ?? 'ERROR';
    const where = describeUrl(url);
    if (isLs(url) && options.runningInDocker && isLoopbackUrl(ls)) {
      return new ImageFetchError(
        'network',
        `Cannot reach Label Studio at ${ls} (${code}): this looks like a container, where localhost is the container itself. ` +
          'Set LABEL_STUDIO_URL to the Label Studio service name (e.g. http://label-studio:8080) or the host address (e.g. http://host.docker.internal:8080)',
      );
    }
    if (code === 'ENOTFOUND') {
      return new ImageFetchError('network', `Cannot resolve the host of ${where} (ENOTFOUND)${isLs(url) ? ': check LABEL_STUDIO_URL' : ''}`);
    }
    return new ImageFetchError('network', `Cannot download ${where}: ${code}${e.message && !e.message.includes(code) ? ` (${e.message})` : ''}`);
  }

  async function readBody(stream: Readable, signal: AbortSignal, url: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream) {
        size += (chunk as Buffer).length;
        if (size > options.maxBytes) {
          stream.destroy();
          throw tooLarge(`The image at ${describeUrl(url)}`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof ImageFetchError) throw err;
      if (signal.aborted) throw new ImageFetchError('timeout', `Image download timed out after ${options.timeoutMs} ms: ${describeUrl(url)}`);
      throw new Retryable(networkError(err, url));
    }
    return Buffer.concat(chunks, size);
  }

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
      /* ignore */
    }
    res.data.destroy();
    return Buffer.concat(chunks).toString('utf8');
  }

  /** One attempt: GET with manual redirects. */
  async function attempt(startUrl: string, signal: AbortSignal): Promise<Buffer> {
    let url = startUrl;
    for (let hop = 0; hop <= maxRedirects; hop++) {
      // Label Studio's own host is the operator's choice; every other host (and redirect) is checked
      const guarded = !isLs(url);
      if (guarded) {
        try {
          checkUrlHost(url, hostPolicy);
        } catch (err) {
          if (err instanceof ForbiddenHostError) throw forbidden(err, url, startUrl);
          throw err;
        }
      }
      let headers: Record<string, string>;
      try {
        headers = await auth.headersFor(url);
      } catch (err) {
        if (err instanceof LabelStudioAuthError) throw new ImageFetchError('auth', err.message, err.status);
        throw err;
      }
      let res: AxiosResponse<Readable>;
      try {
        res = await http.get<Readable>(url, {
          headers: { Accept: 'image/*,*/*;q=0.8', ...headers },
          responseType: 'stream',
          maxRedirects: 0,
          validateStatus: () => true,
          signal,
          timeout: options.timeoutMs,
          decompress: true,
          ...(guarded ? { lookup } : {}),
        });
      } catch (err) {
        const cause = err instanceof ForbiddenHostError ? err : (err as { cause?: unknown }).cause;
        if (cause instanceof ForbiddenHostError) throw forbidden(cause, url, startUrl);
        if (signal.aborted || (err as { code?: string }).code === 'ECONNABORTED' && /timeout/i.test(String((err as Error).message))) {
          throw new ImageFetchError('timeout', `Image download timed out after ${options.timeoutMs} ms: ${describeUrl(url)}`);
        }
        throw new Retryable(networkError(err, url));
      }
      const status = res.status;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.data.destroy();
        let nextUrl: URL;
        try {
          nextUrl = new URL(String(res.headers.location), url);
        } catch {
          throw new ImageFetchError('invalid_reference', `${describeUrl(url)} redirected to a Location that is not a URL`);
        }
        // file:, ftp:, data:... are never followed (and never retried)
        if (nextUrl.protocol !== 'http:' && nextUrl.protocol !== 'https:') {
          throw new ImageFetchError(
            'forbidden_host',
            `${describeUrl(url)} redirected to a ${nextUrl.protocol} URL; only http(s) redirects are followed`,
          );
        }
        const next = nextUrl.toString();
        if (isLs(url) && isLs(next) && /^\/user\/login/.test(new URL(next).pathname)) {
          throw new ImageFetchError(
            'unauthorized',
            `Label Studio redirected the image download to its login page (${describeUrl(startUrl)}): set LABEL_STUDIO_API_KEY to a valid token`,
            401,
          );
        }
        url = next;
        continue;
      }
      if (status === 401 && isLs(url) && auth.kind === 'pat' && hop === 0) auth.invalidate();
      if (status < 200 || status >= 300) {
        const body = await drain(res);
        const e = statusError(status, url, body);
        if (status >= 500 || status === 429 || (status === 401 && isLs(url) && auth.kind === 'pat')) throw new Retryable(e);
        throw e;
      }
      const len = Number(res.headers['content-length']);
      if (Number.isFinite(len) && len > options.maxBytes) {
        res.data.destroy();
        throw tooLarge(`The image at ${describeUrl(url)}`, len);
      }
      const type = String(res.headers['content-type'] ?? '');
      if (/^text\/html/i.test(type)) {
        await drain(res);
        throw new ImageFetchError(
          'not_an_image',
          `Got an HTML page instead of an image from ${describeUrl(url)}` +
            (isLs(url) ? ' (probably the login page: check LABEL_STUDIO_API_KEY)' : ''),
        );
      }
      return readBody(res.data, signal, url);
    }
    throw new ImageFetchError('http_error', `Too many redirects (> ${maxRedirects}) for ${describeUrl(startUrl)}`);
  }

  async function download(url: string, outer?: AbortSignal): Promise<Buffer> {
    for (let i = 0; ; i++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.timeoutMs);
      const onAbort = () => controller.abort();
      outer?.addEventListener('abort', onAbort);
      try {
        return await attempt(url, controller.signal);
      } catch (err) {
        if (err instanceof Retryable) {
          if (i >= retries || outer?.aborted) throw err.inner;
          await sleep(backoff * 2 ** i);
          continue;
        }
        throw err;
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
      }
    }
  }

  async function readLocal(file: string): Promise<Buffer> {
    const root = options.localFilesDocumentRoot!;
    let rel: string;
    try {
      rel = decodeURIComponent(file);
    } catch {
      rel = file;
    }
    if (rel.includes('\0')) throw new ImageFetchError('path_traversal', `Invalid local file path "${file}"`);
    const full = path.resolve(root, rel.replace(/^[/\\]+/, ''));
    const inside = path.relative(root, full);
    if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
      throw new ImageFetchError('path_traversal', `Local file path "${file}" points outside LOCAL_FILES_DOCUMENT_ROOT`);
    }
    try {
      // symlinks are resolved before the inside-root check: a link inside the root to /etc is outside
      const [realRoot, realFull] = await Promise.all([fs.realpath(root), fs.realpath(full)]);
      const realInside = path.relative(realRoot, realFull);
      if (realInside === '' || realInside.startsWith('..') || path.isAbsolute(realInside)) {
        throw new ImageFetchError('path_traversal', `Local file path "${file}" is a link to a file outside LOCAL_FILES_DOCUMENT_ROOT`);
      }
      const st = await fs.stat(realFull);
      if (!st.isFile()) throw new ImageFetchError('local_file', `"${file}" under LOCAL_FILES_DOCUMENT_ROOT is not a file`);
      if (st.size > options.maxBytes) throw tooLarge(`The local file "${file}"`, st.size);
      return await fs.readFile(realFull);
    } catch (err) {
      if (err instanceof ImageFetchError) throw err;
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') {
        throw new ImageFetchError(
          'not_found',
          `Local file "${file}" not found under LOCAL_FILES_DOCUMENT_ROOT=${root}: mount the same folder that Label Studio serves local files from`,
        );
      }
      if (code === 'EACCES' || code === 'EPERM') {
        throw new ImageFetchError('forbidden', `No permission to read local file "${file}" under LOCAL_FILES_DOCUMENT_ROOT`);
      }
      throw new ImageFetchError('local_file', `Cannot read local file "${file}": ${code ?? String(err)}`);
    }
  }

  function readDataUri(ref: string): Buffer {
    const comma = ref.indexOf(',');
    if (comma < 0) throw new ImageFetchError('invalid_reference', 'Malformed data: URI (no comma)');
    const meta = ref.slice(5, comma);
    const payload = ref.slice(comma + 1);
    const isBase64 = /;base64$/i.test(meta);
    const estimate = isBase64 ? Math.floor((payload.length * 3) / 4) : payload.length;
    if (estimate > options.maxBytes + 3) throw tooLarge('The data: URI image', estimate);
    const buf = isBase64 ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'latin1');
    if (buf.length > options.maxBytes) throw tooLarge('The data: URI image', buf.length);
    if (buf.length === 0) throw new ImageFetchError('invalid_reference', 'Empty data: URI');
    return buf;
  }

  return {
    async fetch(ref: string, ctx: FetchContext = {}): Promise<Buffer> {
      if (typeof ref !== 'string') throw new ImageFetchError('invalid_reference', "The task's image field is not a string");
      const kind = classifyImageRef(ref, ls);
      switch (kind.kind) {
        case 'data':
          return readDataUri(kind.ref);
        case 'local-files':
          if (options.localFilesDocumentRoot) return readLocal(kind.file);
          if (!kind.url) {
            throw new ImageFetchError(
              'no_label_studio_url',
              `The task's image is a Label Studio local file ("${kind.file}"): set LOCAL_FILES_DOCUMENT_ROOT to the mounted folder, or LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY to download it`,
            );
          }
          return download(kind.url, ctx.signal);
        case 'label-studio':
        case 'http':
          return download(kind.url, ctx.signal);
        case 'cloud': {
          if (!ls) {
            throw new ImageFetchError(
              'no_label_studio_url',
              `The task's image is a cloud storage URI (${kind.uri.split('/').slice(0, 3).join('/')}/…), which Label Studio must presign: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY`,
            );
          }
          if (ctx.taskId === undefined || ctx.taskId === null || ctx.taskId === '') {
            throw new ImageFetchError('no_task_id', 'A cloud storage image needs the task id to be presigned, and the task has none');
          }
          return download(presignUrl(ls, ctx.taskId, kind.uri), ctx.signal);
        }
      }
    },
  };
}

/** The image source a config asks for. */
export function imageSourceFromConfig(config: Config, overrides: Partial<ImageSourceOptions> = {}): ImageSource {
  const auth =
    overrides.auth ??
    new LabelStudioAuth({ baseUrl: config.labelStudioUrl, apiKey: config.labelStudioApiKey, http: overrides.http });
  return createImageSource({
    labelStudioUrl: config.labelStudioUrl,
    localFilesDocumentRoot: config.localFilesDocumentRoot,
    maxBytes: config.limits.maxImageBytes,
    timeoutMs: config.limits.downloadTimeoutMs,
    runningInDocker: config.runningInDocker,
    hostPolicy: config.imageHosts,
    ...overrides,
    auth,
  });
}
