// What the server keeps of each predicted task: the metrics, the one log line
// (task-log.ts), and the team page's counters and last failures.
import type { Task } from '../labelstudio/schemas.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { PredictOutput } from '../model/faceseg-model.js';
import type { TaskReport } from '../model/predict-tasks.js';
import type { InteractiveHint } from '../pipeline/types.js';
import type { RecentFailures } from './recent-failures.js';
import { taskLogFields, taskLogMessage } from './task-log.js';

/** Tasks since start, for the team page. */
export interface TaskTally {
  ok: number;
  failed: number;
  readonly failures: RecentFailures;
}

export interface RequestScope {
  log: Logger;
  project?: string;
  interactive: boolean;
}

export function taskReport(metrics: Metrics, tally: TaskTally, scope: RequestScope): TaskReport {
  const { log, project } = scope;
  return {
    predicted(task, out, hints, ms) {
      const { seg, prediction } = out;
      metrics.observeTimings(seg.timings ?? {});
      metrics.tasks.inc({ outcome: 'ok' });
      metrics.faces.inc(seg.faces.length);
      logMissedClicks(log, task, out, hints);
      const line = taskLogFields(task.id, seg, prediction.score, { ...ms, rle: seg.timings.rle ?? 0 }, scope.interactive);
      log.info(taskLogMessage(line), { project, ...line });
      tally.ok++;
    },
    failed(task, e) {
      metrics.tasks.inc({ outcome: 'error' });
      metrics.taskErrors.inc({ reason: e.reason });
      log.warn('task failed', { taskId: task.id, reason: e.reason, error: e.message });
      tally.failed++;
      tally.failures.add({ at: Date.now(), taskId: String(task.id ?? '?'), project, reason: e.reason, message: e.message });
    },
  };
}

/** A positive click or a box that found no face is worth a line: the labeler expected one. */
function logMissedClicks(log: Logger, task: Task, out: PredictOutput, hints: readonly InteractiveHint[]): void {
  const clicks = hints.filter((h) => h.kind === 'box' || h.positive);
  if (clicks.length === 0 || out.seg.faces.length > 0) return;
  const where = clicks.map((h) => (h.kind === 'box' ? `box at ${Math.round(h.box.x)},${Math.round(h.box.y)}` : `${Math.round(h.point.x)},${Math.round(h.point.y)}`));
  log.info(`positive click found no face at ${where.join('; ')}: nothing returned`, { taskId: task.id });
}
