// http(s):// on another host: downloaded as is, without the API key, through
// the SSRF guard (host-guard.ts) on every hop.
import type { Download } from '../download.js';
import type { ImageReader } from './reader.js';

export function httpReader(download: Download): ImageReader<'http'> {
  return { read: (ref, ctx) => download(ref.url, ctx.signal) };
}
