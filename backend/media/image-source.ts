// Turns a task's image reference into bytes: classify it (image-ref.ts), then
// hand it to the reader for its kind (readers/). Every reader keeps to the
// byte budget (MAX_IMAGE_BYTES); downloads (download.ts) have a deadline,
// follow redirects by hand (so the Authorization header never travels to
// another host), retry network errors, 429 and 5xx with backoff, never other
// 4xx, and pass the SSRF guard (host-guard.ts) on every hop to a host other
// than Label Studio's.
import axios from 'axios';
import type { Config } from '../config.js';
import { LabelStudioAuth } from '../labelstudio/api-client.js';
import { createDownloader } from './download.js';
import { ImageFetchError } from './fetch-error.js';
import { classifyImageRef } from './image-ref.js';
import { cloudPresignReader } from './readers/cloud-presign.js';
import { dataUriReader } from './readers/data-uri.js';
import { httpReader } from './readers/http.js';
import { labelStudioUploadReader } from './readers/label-studio-upload.js';
import { localFileReader } from './readers/local-file.js';
import { readWith, type ImageReaders } from './readers/reader.js';
import type { FetchContext, ImageSource, ImageSourceOptions } from './types.js';

export { describeUrl, ImageFetchError, type ImageFetchErrorCode } from './fetch-error.js';
export { CLOUD_SCHEMES, classifyImageRef, encodeFileUri, presignUrl, type ImageRef } from './image-ref.js';
export type { FetchContext, ImageSource, ImageSourceOptions } from './types.js';

/** The reader for each kind of reference, sharing one downloader. */
function createReaders(options: ImageSourceOptions): ImageReaders {
  const http = options.http ?? axios.create();
  const auth = options.auth ?? new LabelStudioAuth({ baseUrl: options.labelStudioUrl });
  const download = createDownloader({ ...options, http }, auth);
  return {
    data: dataUriReader(options.maxBytes),
    'local-files': localFileReader({ documentRoot: options.localFilesDocumentRoot, maxBytes: options.maxBytes }, download),
    'label-studio': labelStudioUploadReader(download),
    cloud: cloudPresignReader(options.labelStudioUrl, download),
    http: httpReader(download),
  };
}

export function createImageSource(options: ImageSourceOptions): ImageSource {
  const readers = createReaders(options);
  return {
    async fetch(ref: string, ctx: FetchContext = {}): Promise<Buffer> {
      if (typeof ref !== 'string') throw new ImageFetchError('invalid_reference', "The task's image field is not a string");
      return readWith(readers, classifyImageRef(ref, options.labelStudioUrl), ctx);
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
