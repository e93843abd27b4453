// Label Studio authentication: the Authorization header for requests to the
// Label Studio host, and only to it.
//
// - A legacy token is sent as `Authorization: Token <key>`.
// - A personal access token (PAT) is a JWT refresh token: it is exchanged at
//   POST {LS}/api/token/refresh/ {"refresh": PAT} -> {"access": ...} and the
//   access token is sent as `Bearer <access>`, cached until shortly before it
//   expires.
import axios, { type AxiosInstance } from 'axios';

export type ApiKeyKind = 'none' | 'legacy' | 'pat' | 'access';

export class LabelStudioAuthError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LabelStudioAuthError';
  }
}

/** Decode the payload of a JWT, or undefined when the string is not one. */
export function jwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+={0,2}$/.test(p))) return undefined;
  try {
    const json = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function classifyApiKey(key: string | undefined): ApiKeyKind {
  if (!key) return 'none';
  const payload = jwtPayload(key);
  if (!payload) return 'legacy';
  if (payload.token_type === 'access') return 'access';
  return 'pat';
}

/** Origin (scheme://host:port) of a URL, or undefined when it does not parse. */
export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

export interface AuthOptions {
  /** LABEL_STUDIO_URL. */
  baseUrl?: string;
  /** LABEL_STUDIO_API_KEY. */
  apiKey?: string;
  http?: AxiosInstance;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Refresh this long before the access token expires. Default 30 s. */
  refreshMarginMs?: number;
  timeoutMs?: number;
}

export class LabelStudioAuth {
  readonly kind: ApiKeyKind;
  readonly origin?: string;
  private readonly http: AxiosInstance;
  private readonly now: () => number;
  private readonly margin: number;
  private access?: { token: string; until: number };
  private inflight?: Promise<string>;

  constructor(private readonly options: AuthOptions) {
    this.kind = classifyApiKey(options.apiKey);
    this.origin = options.baseUrl ? originOf(options.baseUrl) : undefined;
    this.http = options.http ?? axios.create();
    this.now = options.now ?? Date.now;
    this.margin = options.refreshMarginMs ?? 30_000;
  }

  /** True when `url` is on the Label Studio host (same scheme, host and port). */
  isLabelStudioUrl(url: string): boolean {
    return this.origin !== undefined && originOf(url) === this.origin;
  }

  /** Headers for a request to `url`: the Authorization header only for the Label Studio host. */
  async headersFor(url: string): Promise<Record<string, string>> {
    if (!this.isLabelStudioUrl(url) || this.kind === 'none') return {};
    return { Authorization: await this.authorization() };
  }

  /** The Authorization header value for Label Studio. */
  async authorization(): Promise<string> {
    const key = this.options.apiKey;
    if (!key) throw new LabelStudioAuthError('LABEL_STUDIO_API_KEY is not set');
    if (this.kind === 'legacy') return `Token ${key}`;
    if (this.kind === 'access') return `Bearer ${key}`;
    return `Bearer ${await this.accessToken()}`;
  }

  /** Forget the cached access token (after Label Studio answered 401). */
  invalidate(): void {
    this.access = undefined;
  }

  private async accessToken(): Promise<string> {
    if (this.access && this.now() < this.access.until) return this.access.token;
    this.inflight ??= this.refresh().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async refresh(): Promise<string> {
    if (!this.options.baseUrl) {
      throw new LabelStudioAuthError(
        'LABEL_STUDIO_API_KEY is a personal access token, which must be exchanged at Label Studio: set LABEL_STUDIO_URL too',
      );
    }
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/api/token/refresh/`;
    let res;
    try {
      res = await this.http.post(
        url,
        { refresh: this.options.apiKey },
        { timeout: this.options.timeoutMs ?? 10_000, validateStatus: () => true, maxRedirects: 0 },
      );
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'network error';
      throw new LabelStudioAuthError(`Cannot reach Label Studio at ${url} to refresh the personal access token (${code})`);
    }
    if (res.status === 401 || res.status === 403 || res.status === 400) {
      throw new LabelStudioAuthError(
        `Label Studio rejected the personal access token in LABEL_STUDIO_API_KEY (HTTP ${res.status}): ` +
          'it may be expired or revoked; create a new one under Account & Settings > Personal Access Token',
        res.status,
      );
    }
    const access = (res.data as { access?: unknown } | undefined)?.access;
    if (res.status < 200 || res.status >= 300 || typeof access !== 'string' || !access) {
      throw new LabelStudioAuthError(
        `Label Studio answered HTTP ${res.status} without an access token at ${url}; is LABEL_STUDIO_URL a Label Studio server that supports personal access tokens?`,
        res.status,
      );
    }
    const exp = jwtPayload(access)?.exp;
    const expiresAt = typeof exp === 'number' ? exp * 1000 : this.now() + 5 * 60_000;
    this.access = { token: access, until: Math.max(this.now(), expiresAt - this.margin) };
    return access;
  }
}
