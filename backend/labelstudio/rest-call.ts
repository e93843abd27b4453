// One Label Studio REST call: the Authorization header, a timeout, and
// retries with exponential backoff (+/-25% jitter) for network errors, 429 and
// 5xx; other 4xx are not retried. A 401 with a personal access token refreshes
// the access token once per call, without using up an attempt. Failures are
// LabelStudioApiError with a message that says what to check.
import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { exponentialDelay, withRetry } from '../util/retry.js';
import { type LabelStudioAuth, LabelStudioAuthError } from './api-client.js';

export class LabelStudioApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** True for errors a later attempt may not see (network, 429, 5xx). */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'LabelStudioApiError';
  }
}

export interface RestCallOptions {
  /** Label Studio base URL, e.g. http://localhost:8080 (no trailing slash needed). */
  baseUrl: string;
  auth: LabelStudioAuth;
  http?: AxiosInstance;
  /** Extra attempts after a retryable failure. Default 4. */
  retries?: number;
  /** First backoff delay in ms; doubles each attempt, with jitter. Default 500. */
  backoffMs?: number;
  /** Per-request timeout in ms. Default 120 s (bulk imports of brush masks are large). */
  timeoutMs?: number;
  /**
   * Largest answer body accepted, in bytes. Default 128 MiB: a page of 100
   * tasks with their brush predictions stays well under it, and the time
   * limit alone would let a server stream gigabytes into memory.
   */
  maxResponseBytes?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry (for logging). */
  onRetry?: (info: { what: string; attempt: number; error: LabelStudioApiError; delayMs: number }) => void;
}

export type RestMethod = 'GET' | 'POST' | 'PATCH';

const RETRY_STATUS = (s: number) => s === 429 || s >= 500;

function bodySnippet(data: unknown): string {
  if (data === undefined || data === null || data === '') return '';
  let s: string;
  if (typeof data === 'string') s = data;
  else {
    const d = data as { detail?: unknown; validation_errors?: unknown };
    s = JSON.stringify(d.validation_errors ?? d.detail ?? data);
  }
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

/** axios's error for a body over maxContentLength (its message is the only mark it leaves). */
function isTooLarge(err: unknown): boolean {
  return err instanceof Error && /maxContentLength size of -?\d+ exceeded/.test(err.message);
}

export class LabelStudioRest {
  readonly baseUrl: string;
  private readonly http: AxiosInstance;
  private readonly retries: number;
  private readonly backoff: number;
  private readonly timeout: number;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: RestCallOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.http = options.http ?? axios.create();
    this.retries = options.retries ?? 4;
    this.backoff = options.backoffMs ?? 500;
    this.timeout = options.timeoutMs ?? 120_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 128 * 1024 * 1024;
  }

  /** One HTTP call with retries. Returns the response for 2xx, throws LabelStudioApiError otherwise. */
  async call<T>(method: RestMethod, path: string, what: string, body?: unknown): Promise<AxiosResponse<T>> {
    const request: AxiosRequestConfig = { method, url: `${this.baseUrl}${path}`, data: body };
    // a personal access token is refreshed once per call, without using up an attempt
    const state = { refreshed: false };
    return withRetry(() => this.callOnce<T>(request, what, state), {
      retries: this.retries,
      delayMs: exponentialDelay(this.backoff, 0.25),
      shouldRetry: (err) => err instanceof LabelStudioApiError && err.retryable,
      sleep: this.options.sleep,
      onRetry: ({ attempt, error, delayMs }) => this.options.onRetry?.({ what, attempt, error: error as LabelStudioApiError, delayMs }),
    });
  }

  /** One attempt: the request, and again after a refresh when a personal access token got 401. */
  private async callOnce<T>(request: AxiosRequestConfig, what: string, state: { refreshed: boolean }): Promise<AxiosResponse<T>> {
    const auth = this.options.auth;
    let res = await this.send<T>(request, what);
    if (res.status === 401 && auth.kind === 'pat' && !state.refreshed) {
      state.refreshed = true;
      auth.invalidate();
      res = await this.send<T>(request, what);
    }
    if (res.status >= 200 && res.status < 300) return res;
    throw this.statusError(res.status, what, res.data);
  }

  /** The request as is; a failure to reach Label Studio is a retryable LabelStudioApiError. */
  private async send<T>(request: AxiosRequestConfig, what: string): Promise<AxiosResponse<T>> {
    try {
      const headers: Record<string, string> = { Accept: 'application/json' };
      const auth = this.options.auth;
      if (auth.kind !== 'none') headers.Authorization = await auth.authorization();
      return await this.http.request<T>({
        ...request,
        headers,
        timeout: this.timeout,
        validateStatus: () => true,
        maxRedirects: 0,
        maxBodyLength: Infinity,
        maxContentLength: this.maxResponseBytes,
      });
    } catch (err) {
      if (err instanceof LabelStudioAuthError) throw new LabelStudioApiError(err.message, err.status, false);
      if (isTooLarge(err)) {
        const mib = Math.round(this.maxResponseBytes / 1024 / 1024);
        throw new LabelStudioApiError(`${what}: Label Studio's answer is larger than ${mib} MiB; refused (a smaller page size asks for less)`, undefined, false);
      }
      const code = (err as { code?: string }).code ?? 'network error';
      throw new LabelStudioApiError(`${what}: cannot reach Label Studio at ${this.baseUrl} (${code})`, undefined, true);
    }
  }

  private statusError(status: number, what: string, data: unknown): LabelStudioApiError {
    const detail = bodySnippet(data);
    const tail = detail ? `: ${detail}` : '';
    if (status === 401) {
      return new LabelStudioApiError(
        `${what}: Label Studio answered 401 Unauthorized${tail}. Check --token / LABEL_STUDIO_API_KEY ` +
          '(a personal access token from Account & Settings, or a legacy token if the organisation allows them)',
        status,
      );
    }
    if (status === 403) {
      return new LabelStudioApiError(`${what}: Label Studio answered 403 Forbidden${tail} (does this user have access to the project?)`, status);
    }
    return new LabelStudioApiError(`${what}: Label Studio answered HTTP ${status}${tail}`, status, RETRY_STATUS(status));
  }
}
