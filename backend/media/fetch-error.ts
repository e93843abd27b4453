// The one error an image source throws, and how URLs appear in its messages.

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

/** Strip query strings (signatures) from URLs shown in messages, except local-files' d. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    // origin is "null" for file:, data: and other non-web schemes
    const origin = u.origin === 'null' ? `${u.protocol}//${u.host}` : u.origin;
    if (u.pathname.startsWith('/data/local-files')) return `${origin}${u.pathname}?d=${u.searchParams.get('d') ?? ''}`;
    return `${origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return url.length > 200 ? `${url.slice(0, 200)}…` : url;
  }
}

/** `what` is over the byte budget (MAX_IMAGE_BYTES); `size` when known. */
export function tooLarge(what: string, maxBytes: number, size?: number): ImageFetchError {
  const got = size !== undefined ? ` (${size} bytes)` : '';
  return new ImageFetchError('too_large', `${what} is larger than MAX_IMAGE_BYTES=${maxBytes}${got}`);
}
