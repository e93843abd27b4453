// The image source's public shapes (re-exported by image-source.ts).
import type { AxiosInstance } from 'axios';
import type { LabelStudioAuth } from '../labelstudio/api-client.js';
import type { HostPolicy } from './host-guard.js';

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
