// /data/upload/... (and any other path on the Label Studio host): downloaded
// from Label Studio with the API key.
import type { Download } from '../download.js';
import type { ImageReader } from './reader.js';

export function labelStudioUploadReader(download: Download): ImageReader<'label-studio'> {
  return { read: (ref, ctx) => download(ref.url, ctx.signal) };
}
