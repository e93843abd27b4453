// s3:// gs:// azure-blob:// ...: Label Studio presigns the URI for the task
// ({LS}/tasks/{id}/presign/?fileuri=...), answering with a redirect to the
// signed URL (followed without the API key) or with the bytes (proxy mode).
import type { Download } from '../download.js';
import { ImageFetchError } from '../fetch-error.js';
import { presignUrl } from '../image-ref.js';
import type { ImageReader } from './reader.js';

export function cloudPresignReader(labelStudioUrl: string | undefined, download: Download): ImageReader<'cloud'> {
  return {
    read: async (ref, ctx) => {
      if (!labelStudioUrl) {
        throw new ImageFetchError(
          'no_label_studio_url',
          `The task's image is a cloud storage URI (${ref.uri.split('/').slice(0, 3).join('/')}/…), which Label Studio must presign: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY`,
        );
      }
      if (ctx.taskId === undefined || ctx.taskId === null || ctx.taskId === '') {
        throw new ImageFetchError('no_task_id', 'A cloud storage image needs the task id to be presigned, and the task has none');
      }
      return download(presignUrl(labelStudioUrl, ctx.taskId, ref.uri), ctx.signal);
    },
  };
}
