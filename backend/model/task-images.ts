// A task's image: its reference from the task data (the label config's
// <Image value="$key">), the bytes from the image source, the pixels from the
// decoder. Within one batch, decodes run in task order and each first reserves
// its decoded size from a memory budget that all requests share, so a later
// task never holds budget an earlier one waits for.
import type { FaceLabelConfig } from '../labelstudio/label-config.js';
import type { Task } from '../labelstudio/schemas.js';
import type { ImageSource } from '../media/image-source.js';
import type { RgbImage } from '../pipeline/types.js';
import { TaskError, taskErrorOf } from './task-error.js';

/** A memory budget (http/byte-budget.ts): wait for room, get back a function that returns it. */
export interface ImageBudget {
  acquire(bytes: number, signal?: AbortSignal): Promise<() => void>;
}

export interface TaskImageReader {
  source: ImageSource;
  decode(bytes: Buffer): Promise<RgbImage>;
  /** Decoded bytes an image will take, from its header (0: not budgeted). */
  measure(bytes: Buffer): Promise<number>;
  budget: ImageBudget;
  /** Records how long a stage (fetch, decode) took, failed ones included. */
  observe(stage: string, ms: number): void;
}

export interface TaskImage {
  image?: RgbImage;
  error?: TaskError;
  /** Gives the image's share of the memory budget back. */
  release?: () => void;
  /** fetch and decode ms, for the per-task log line. */
  ms: Record<string, number>;
}

export type TaskImageLoader = (task: Task, cfg: FaceLabelConfig) => Promise<TaskImage>;

/** The image reference of a task, or a TaskError naming the data key the label config expects. */
export function imageRef(task: Pick<Task, 'data'>, cfg: FaceLabelConfig): string {
  const ref = task.data[cfg.image.dataKey];
  if (typeof ref === 'string' && ref.trim() !== '') return ref;
  throw new TaskError(
    'missing_image_field',
    `Task has no image at data.${cfg.image.dataKey} (the label config's <Image name="${cfg.image.name}" value="${cfg.image.value}">)`,
  );
}

/**
 * A loader for one batch: fetches start at once; decodes run in the order of
 * the calls (task order), each after the previous task's image is decoded or
 * failed, whichever fetch finishes first. `signal` aborts fetches and waits.
 */
export function batchImageLoader(reader: TaskImageReader, signal: AbortSignal): TaskImageLoader {
  let chain: Promise<void> = Promise.resolve();
  return async (task, cfg) => {
    const ms: Record<string, number> = {};
    const previous = chain;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    chain = previous.then(() => mine);
    try {
      const ref = imageRef(task, cfg);
      const bytes = await timeStage(reader, ms, 'fetch', () => reader.source.fetch(ref, { taskId: task.id, signal }));
      await previous;
      return await decodeBudgeted(reader, bytes, ms, signal);
    } catch (err) {
      return { ms, error: taskErrorOf(err, 'image') };
    } finally {
      done();
    }
  };
}

async function decodeBudgeted(reader: TaskImageReader, bytes: Buffer, ms: Record<string, number>, signal: AbortSignal): Promise<TaskImage> {
  const release = await reader.budget.acquire(await reader.measure(bytes), signal);
  try {
    const image = await timeStage(reader, ms, 'decode', () => reader.decode(bytes));
    return { image, release, ms };
  } catch (err) {
    release();
    throw err;
  }
}

/** Runs a stage once, timing it for both the task's log line and the reader's metrics. */
async function timeStage<T>(reader: TaskImageReader, ms: Record<string, number>, stage: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    ms[stage] = performance.now() - t0;
    reader.observe(stage, ms[stage]);
  }
}
