import { describe, expect, it } from 'vitest';
import { parseLabelConfig } from '../../backend/labelstudio/label-config.js';
import type { Task } from '../../backend/labelstudio/schemas.js';
import type { PredictInput, PredictOutput } from '../../backend/model/faceseg-model.js';
import { predictTasks, type BatchOptions, type TaskReport } from '../../backend/model/predict-tasks.js';
import { TaskError } from '../../backend/model/task-error.js';
import type { TaskImage } from '../../backend/model/task-images.js';
import type { RgbImage } from '../../backend/pipeline/types.js';
import { BRUSH_XML } from '../http/helpers.js';

const cfg = parseLabelConfig(BRUSH_XML);
const tasks = (n: number): Task[] => Array.from({ length: n }, (_, i) => ({ id: i, data: { image: `img${i}` } }));
const image = (width: number): RgbImage => ({ width, height: 50, data: new Uint8Array(width * 150) }) as RgbImage;

/** A model double: answers the image width as its score; "boom" on an image 13 wide. */
class FakeModel {
  inputs: PredictInput[] = [];
  async predict(input: PredictInput): Promise<PredictOutput> {
    this.inputs.push(input);
    await (input.run ?? ((fn) => fn()))(async () => undefined);
    if (input.image.width === 13) throw new Error('boom');
    const prediction = { result: [{ id: String(input.taskId) }], score: input.image.width, model_version: 'v' } as unknown as PredictOutput['prediction'];
    return { prediction, rawScore: input.image.width, seg: { width: input.image.width, height: 50, faces: [], score: 0, timings: {} } };
  }
}

function recorder() {
  const log: string[] = [];
  const report: TaskReport = {
    predicted: (task) => log.push(`ok ${task.id}`),
    failed: (task, e) => log.push(`failed ${task.id} ${e.reason}: ${e.message}`),
  };
  return { log, report };
}

function options(load: BatchOptions['load'], report: TaskReport, extra: Partial<BatchOptions> = {}): BatchOptions {
  return { load, prefetch: 2, run: (fn) => fn(), gone: () => false, report, ...extra };
}

describe('predictTasks', () => {
  it('one prediction per task in order; a task whose image or engine fails gets an empty one with its reason, under a version of its own so Label Studio tries it again', async () => {
    const model = new FakeModel();
    const { log, report } = recorder();
    const load = async (task: Task): Promise<TaskImage> =>
      task.id === 1 ? { ms: {}, error: new TaskError('not_found', 'no such image') } : { ms: { fetch: 1 }, image: image(task.id === 2 ? 13 : 20 + Number(task.id)) };
    const out = await predictTasks(model, { project: '7', tasks: tasks(4), cfg, context: null, modelVersion: 'v-empty' }, options(load, report));
    expect(out.stoppedAt).toBeUndefined();
    if (out.stoppedAt !== undefined) return;
    expect(out.results.map((r) => [r.score, r.model_version, r.result.length])).toEqual([
      [20, 'v', 1],
      [0, 'v-empty-failed', 0],
      [0, 'v-empty-failed', 0],
      [23, 'v', 1],
    ]);
    expect(out.predicted).toBe(2);
    expect(log).toEqual(['ok 0', 'failed 1 not_found: no such image', 'failed 2 engine: Face engine failed: boom', 'ok 3']);
    expect(model.inputs.map((i) => [i.project, i.taskId, i.hints])).toEqual([
      ['7', 0, []],
      ['7', 2, []],
      ['7', 3, []],
    ]);
  });

  it('reads at most `prefetch` images ahead, gives every image back, and runs the engine through `run`', async () => {
    const events: string[] = [];
    let held = 0;
    const load = async (task: Task): Promise<TaskImage> => {
      events.push(`load ${task.id}`);
      held++;
      return { ms: {}, image: image(10), release: () => void held-- };
    };
    const model = new FakeModel();
    const run = <T>(fn: () => Promise<T>) => (events.push(`run ${model.inputs.at(-1)?.taskId}`), fn());
    await predictTasks(model, { tasks: tasks(5), cfg, context: null, modelVersion: 'v' }, options(load, recorder().report, { prefetch: 1, run }));
    expect(events).toEqual(['load 0', 'load 1', 'run 0', 'load 2', 'run 1', 'load 3', 'run 2', 'load 4', 'run 3', 'run 4']);
    expect(held).toBe(0);
  });

  it('stops before the next task once the caller is gone, and gives the images read ahead back', async () => {
    let held = 0;
    let gone = false;
    const load = async (): Promise<TaskImage> => (held++, { ms: {}, image: image(10), release: () => void held-- });
    const report: TaskReport = { predicted: () => void (gone = true), failed: () => undefined };
    const out = await predictTasks(new FakeModel(), { tasks: tasks(6), cfg, context: null, modelVersion: 'v' }, options(load, report, { gone: () => gone }));
    expect(out).toEqual({ stoppedAt: 1 });
    await new Promise((r) => setTimeout(r, 0));
    expect(held).toBe(0);
  });

  it('a task that fails after the caller went away is not reported as a failure (the batch was cancelled)', async () => {
    let gone = false;
    const { log, report } = recorder();
    // the caller leaves while task 0 is in the engine, whose turn then fails ("ticket already released")
    const run = async <T>(fn: () => Promise<T>): Promise<T> => {
      gone = true;
      throw new Error('ticket already released');
    };
    const load = async (): Promise<TaskImage> => ({ ms: {}, image: image(10) });
    await predictTasks(new FakeModel(), { tasks: tasks(2), cfg, context: null, modelVersion: 'v' }, options(load, report, { run, gone: () => gone }));
    expect(log).toEqual([]);
    // the same failure with the caller still there is reported
    const still = recorder();
    const failing = async <T>(): Promise<T> => {
      throw new Error('ticket already released');
    };
    await predictTasks(new FakeModel(), { tasks: tasks(1), cfg, context: null, modelVersion: 'v' }, options(load, still.report, { run: failing }));
    expect(still.log).toEqual(['failed 0 engine: Face engine failed: ticket already released']);
  });

  it('turns the interactive context (percent) into hints in the image pixels', async () => {
    const model = new FakeModel();
    const context = [
      { type: 'keypointlabels', value: { x: 50, y: 10 }, is_positive: false },
      { type: 'rectanglelabels', value: { x: 10, y: 20, width: 30, height: 40 } },
    ];
    await predictTasks(model, { tasks: tasks(1), cfg, context, modelVersion: 'v' }, options(async () => ({ ms: {}, image: image(200) }), recorder().report));
    expect(model.inputs[0].hints).toEqual([
      { kind: 'point', point: { x: 100, y: 5 }, positive: false },
      { kind: 'box', box: { x: 20, y: 10, width: 60, height: 20 } },
    ]);
  });

  it('with parallel 2, two tasks are predicted at once and the results stay in task order', async () => {
    let active = 0;
    let most = 0;
    // later tasks finish sooner, so completion order differs from task order
    const run = async <T>(fn: () => Promise<T>): Promise<T> => {
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return fn();
    };
    const model = new FakeModel();
    const load = async (task: Task): Promise<TaskImage> => {
      await new Promise((r) => setTimeout(r, 6 - Number(task.id)));
      return { ms: {}, image: image(30 + Number(task.id)) };
    };
    const { log, report } = recorder();
    const out = await predictTasks(model, { tasks: tasks(6), cfg, context: null, modelVersion: 'v' }, options(load, report, { parallel: 2, run }));
    if (out.stoppedAt !== undefined) throw new Error('stopped');
    expect(out.results.map((r) => r.score)).toEqual([30, 31, 32, 33, 34, 35]);
    expect(out.predicted).toBe(6);
    expect(most).toBe(2);
    expect(log.sort()).toEqual(['ok 0', 'ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
  });

  it('with ahead 1, one task more than parallel is taken, waiting with its image read; `run` still bounds the engine calls', async () => {
    // run as the work queue does it: 2 turns at once, FIFO
    let active = 0;
    let most = 0;
    const queued: Array<() => void> = [];
    const run = async <T>(fn: () => Promise<T>): Promise<T> => {
      if (active >= 2) await new Promise<void>((r) => queued.push(r));
      else active++;
      most = Math.max(most, active);
      try {
        await new Promise((r) => setTimeout(r, 3));
        return await fn();
      } finally {
        const next = queued.shift();
        if (next) next();
        else active--;
      }
    };
    let taken = 0;
    let mostTaken = 0;
    const model = new FakeModel();
    const predict = model.predict.bind(model);
    model.predict = async (input) => {
      taken++;
      mostTaken = Math.max(mostTaken, taken);
      try {
        return await predict(input);
      } finally {
        taken--;
      }
    };
    const { log, report } = recorder();
    const out = await predictTasks(model, { tasks: tasks(7), cfg, context: null, modelVersion: 'v' }, options(async (task) => ({ ms: {}, image: image(30 + Number(task.id)) }), report, { parallel: 2, ahead: 1, run }));
    if (out.stoppedAt !== undefined) throw new Error('stopped');
    expect(out.results.map((r) => r.score)).toEqual([30, 31, 32, 33, 34, 35, 36]);
    expect(most).toBe(2);
    expect(mostTaken).toBe(3);
    expect(log.sort()).toEqual(['ok 0', 'ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5', 'ok 6']);
  });

  it('with parallel 3, a caller gone mid-batch starts no new task and waits for those running', async () => {
    let gone = false;
    const model = new FakeModel();
    const report: TaskReport = { predicted: (task) => void (task.id === 0 && (gone = true)), failed: () => undefined };
    const out = await predictTasks(model, { tasks: tasks(10), cfg, context: null, modelVersion: 'v' }, options(async () => ({ ms: {}, image: image(10) }), report, { parallel: 3, gone: () => gone }));
    expect(out.stoppedAt).toBeGreaterThanOrEqual(1);
    expect(out.stoppedAt).toBeLessThanOrEqual(3);
    // every task started was finished, none after the caller left
    expect(model.inputs).toHaveLength(out.stoppedAt ?? -1);
  });
});
