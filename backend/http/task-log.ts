// The one info line per predicted task: enough to spot a slow or failing task
// in the log without /metrics.
import type { SegmentResult } from '../pipeline/types.js';
import { roundTo } from '../util/num.js';

export interface TaskLogFields {
  taskId: string | number | null | undefined;
  faces: number;
  score: number;
  /** Whole milliseconds per stage, e.g. {fetch: 12, keypoints: 40, ...}. */
  ms: Record<string, number>;
  totalMs: number;
  interactive: boolean;
}

/** Engine timings plus the stages the HTTP layer timed itself (fetch, decode, rle). */
export function taskLogFields(
  taskId: string | number | null | undefined,
  seg: Pick<SegmentResult, 'faces' | 'timings'>,
  score: number,
  extra: Record<string, number>,
  interactive: boolean,
): TaskLogFields {
  const ms: Record<string, number> = {};
  for (const [k, v] of Object.entries({ ...extra, ...(seg.timings ?? {}) })) if (Number.isFinite(v)) ms[k] = Math.round(v);
  return {
    taskId,
    faces: seg.faces.length,
    score: roundTo(score, 3),
    ms,
    totalMs: Object.values(ms).reduce((a, b) => a + b, 0),
    interactive,
  };
}

/** "task 12: 3 faces, score 0.412, 231 ms (fetch 10, decode 5, keypoints 60, ...)" */
export function taskLogMessage(f: TaskLogFields): string {
  const stages = Object.entries(f.ms)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const what = f.interactive ? ' (click)' : '';
  return `task ${f.taskId ?? '?'}${what}: ${f.faces} face${f.faces === 1 ? '' : 's'}, score ${f.score}, ${f.totalMs} ms${stages ? ` (${stages})` : ''}`;
}
