// What kind of image reference a task holds (pure: no I/O).
//
//   /data/upload/3/x.jpg             -> label-studio: {LS}/data/upload/3/x.jpg (with auth)
//   /data/local-files/?d=dir/x.jpg   -> local-files: LOCAL_FILES_DOCUMENT_ROOT/dir/x.jpg when set, else via {LS}
//   s3:// gs:// azure-blob://        -> cloud: {LS}/tasks/{id}/presign/?fileuri=<base64url(uri)>, then the redirect
//   http(s)://...                    -> http: as is (auth only when it is the Label Studio host)
//   data:image/...;base64,...        -> data: decoded in place
import { describeUrl, ImageFetchError } from './fetch-error.js';

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

function localFilesPath(u: URL): string | undefined {
  if (!/^\/data\/local-files\/?$/.test(u.pathname)) return undefined;
  return u.searchParams.get('d') ?? '';
}

function classifyAbsolute(r: string, labelStudioUrl?: string): ImageRef {
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

/** A path on the Label Studio server (/data/upload/..., /data/local-files/?d=...). */
function classifyRelative(r: string, labelStudioUrl?: string): ImageRef {
  const rel = r.startsWith('/') ? r : `/${r}`;
  const file = localFilesPath(new URL(rel, 'http://relative.invalid'));
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

/** Classify an image reference (pure: no I/O). */
export function classifyImageRef(ref: string, labelStudioUrl?: string): ImageRef {
  const r = ref.trim();
  if (/^data:/i.test(r)) return { kind: 'data', ref: r };
  if (CLOUD_RE.test(r)) return { kind: 'cloud', uri: r };
  if (/^https?:\/\//i.test(r)) return classifyAbsolute(r, labelStudioUrl);
  if (/^[a-z][a-z0-9+.-]*:/i.test(r)) {
    throw new ImageFetchError(
      'invalid_reference',
      `Unsupported image URL scheme in "${describeUrl(r)}": use http(s)://, /data/upload/..., /data/local-files/?d=..., s3://, gs://, azure-blob:// or data:`,
    );
  }
  if (r === '') throw new ImageFetchError('invalid_reference', "The task's image field is empty");
  return classifyRelative(r, labelStudioUrl);
}
