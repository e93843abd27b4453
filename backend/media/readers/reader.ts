// One reader per kind of image reference (image-ref.ts), behind one interface.
// A new source is a new ImageRef kind, a new file here and one line in
// createImageSource's table; the table's type makes a missing reader a
// compile error.
import type { ImageRef } from '../image-ref.js';
import type { FetchContext } from '../types.js';

export type ImageRefKind = ImageRef['kind'];
export type RefOf<K extends ImageRefKind> = Extract<ImageRef, { kind: K }>;

/** Reads one kind of image reference into bytes, within the source's byte budget. */
export interface ImageReader<K extends ImageRefKind> {
  read(ref: RefOf<K>, ctx: FetchContext): Promise<Buffer>;
}

/** A reader for every kind. */
export type ImageReaders = { [K in ImageRefKind]: ImageReader<K> };

/** Hand `ref` to the reader for its kind. */
export function readWith<K extends ImageRefKind>(readers: ImageReaders, ref: RefOf<K> & { kind: K }, ctx: FetchContext): Promise<Buffer> {
  const reader: ImageReader<K> = readers[ref.kind];
  return reader.read(ref, ctx);
}
