// /data/local-files/?d=dir/x.jpg : read from LOCAL_FILES_DOCUMENT_ROOT when it
// is mounted here, else downloaded from Label Studio like an upload. A path
// must stay inside the root after decoding and after resolving symlinks, and
// the file's size is checked before it is read.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Download } from '../download.js';
import { ImageFetchError, tooLarge } from '../fetch-error.js';
import type { ImageReader } from './reader.js';

export interface LocalFileOptions {
  documentRoot?: string;
  maxBytes: number;
}

const outside = (root: string, full: string) => {
  const rel = path.relative(root, full);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel);
};

/**
 * The file's path under `root`, refusing NUL bytes and `..` escapes (before
 * any file system access). `file` is already decoded (the URL's `d`), as
 * Label Studio decodes it once: a second decode would read "a%20b.jpg" as "a b.jpg".
 */
export function resolveInsideRoot(root: string, file: string): string {
  if (file.includes('\0')) throw new ImageFetchError('path_traversal', `Invalid local file path "${file}"`);
  const full = path.resolve(root, file.replace(/^[/\\]+/, ''));
  if (outside(root, full)) {
    throw new ImageFetchError('path_traversal', `Local file path "${file}" points outside LOCAL_FILES_DOCUMENT_ROOT`);
  }
  return full;
}

function fileSystemError(err: unknown, file: string, root: string): ImageFetchError {
  if (err instanceof ImageFetchError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') {
    return new ImageFetchError(
      'not_found',
      `Local file "${file}" not found under LOCAL_FILES_DOCUMENT_ROOT=${root}: mount the same folder that Label Studio serves local files from`,
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ImageFetchError('forbidden', `No permission to read local file "${file}" under LOCAL_FILES_DOCUMENT_ROOT`);
  }
  return new ImageFetchError('local_file', `Cannot read local file "${file}": ${code ?? String(err)}`);
}

export async function readLocalFile(root: string, file: string, maxBytes: number): Promise<Buffer> {
  const full = resolveInsideRoot(root, file);
  try {
    // symlinks are resolved before the inside-root check: a link inside the root to /etc is outside
    const [realRoot, realFull] = await Promise.all([fs.realpath(root), fs.realpath(full)]);
    if (outside(realRoot, realFull)) {
      throw new ImageFetchError('path_traversal', `Local file path "${file}" is a link to a file outside LOCAL_FILES_DOCUMENT_ROOT`);
    }
    const st = await fs.stat(realFull);
    if (!st.isFile()) throw new ImageFetchError('local_file', `"${file}" under LOCAL_FILES_DOCUMENT_ROOT is not a file`);
    if (st.size > maxBytes) throw tooLarge(`The local file "${file}"`, maxBytes, st.size);
    return await fs.readFile(realFull);
  } catch (err) {
    throw fileSystemError(err, file, root);
  }
}

export function localFileReader(options: LocalFileOptions, download: Download): ImageReader<'local-files'> {
  return {
    read: async (ref, ctx) => {
      if (options.documentRoot) return readLocalFile(options.documentRoot, ref.file, options.maxBytes);
      if (!ref.url) {
        throw new ImageFetchError(
          'no_label_studio_url',
          `The task's image is a Label Studio local file ("${ref.file}"): set LOCAL_FILES_DOCUMENT_ROOT to the mounted folder, or LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY to download it`,
        );
      }
      return download(ref.url, ctx.signal);
    },
  };
}
