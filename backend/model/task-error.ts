// A task that gets an empty prediction instead of failing its batch, with a
// short machine-readable reason for logs, metrics and the team page.
import { ImageDecodeError } from '../media/decode.js';
import { ImageFetchError } from '../media/image-source.js';

export class TaskError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Any failure as a TaskError: a TaskError as is, fetch and decode errors by their codes, the rest under `otherReason`. */
export function taskErrorOf(err: unknown, otherReason: string): TaskError {
  if (err instanceof TaskError) return err;
  if (err instanceof ImageFetchError) return new TaskError(err.code, err.message);
  if (err instanceof ImageDecodeError) return new TaskError(`decode_${err.code}`, err.message);
  return new TaskError(otherReason, (err as Error).message ?? String(err));
}
