// data:image/...;base64,... : decoded in place. The size is estimated from the
// text before decoding, so an oversized URI is refused without allocating it.
import { ImageFetchError, tooLarge } from '../fetch-error.js';
import type { ImageReader } from './reader.js';

export function decodeDataUri(ref: string, maxBytes: number): Buffer {
  const comma = ref.indexOf(',');
  if (comma < 0) throw new ImageFetchError('invalid_reference', 'Malformed data: URI (no comma)');
  const meta = ref.slice(5, comma);
  const payload = ref.slice(comma + 1);
  const isBase64 = /;base64$/i.test(meta);
  const estimate = isBase64 ? Math.floor((payload.length * 3) / 4) : payload.length;
  if (estimate > maxBytes + 3) throw tooLarge('The data: URI image', maxBytes, estimate);
  const buf = isBase64 ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'latin1');
  if (buf.length > maxBytes) throw tooLarge('The data: URI image', maxBytes, buf.length);
  if (buf.length === 0) throw new ImageFetchError('invalid_reference', 'Empty data: URI');
  return buf;
}

export function dataUriReader(maxBytes: number): ImageReader<'data'> {
  return { read: async (ref) => decodeDataUri(ref.ref, maxBytes) };
}
