// Does the task score find the tasks a labeler must fix? For `faceseg eval`:
// each evaluated image (and a darkened copy) becomes a task that "needs a fix"
// when a face was missed or a mask has IoU < 0.8 (FASSEG), or when a head
// went without a face (people sets); the figure is the AUROC of 1 - score.
//
// Split: the constants of backend/pipeline/scoring.ts were set on TUNE =
// FASSEG multipose01 persons 1-4 (and dark copies at 12 % exposure); REPORT =
// everything else the eval ran (its dark copies are the eval's own, see
// darken.ts). With the eval's default held-out part, REPORT is multipose01
// persons 6-7, frontal02 11-20, people/ and cihp/ and their dark copies.
import path from 'node:path';
import { auroc } from './auroc.js';
import { multiposePerson } from './split.js';

export type Split = 'tune' | 'report';
export type Variant = 'original' | 'dark';

export interface ScoredTask {
  set: string;
  image: string;
  score: number;
}

export interface UncertaintyRow extends ScoredTask {
  variant: Variant;
  split: Split;
  needsFix: boolean;
  /** Why it needs a fix ('missed', 'iou 0.74', ...), empty when it does not. */
  why: string;
}

export interface UncertaintyFigure {
  split: Split;
  variant: Variant | 'all';
  tasks: number;
  needFix: number;
  auroc: number | undefined;
}

export const FIX_IOU = 0.8;

/** FASSEG multipose01 persons 1-4 tune the score; everything else reports it. */
export function splitOf(set: string, image: string): Split {
  const person = multiposePerson(path.basename(image));
  return set.startsWith('multipose01') && person !== null && Number(person) <= 4 ? 'tune' : 'report';
}


export function fassegTask(r: ScoredTask & { found: boolean; iou: number }, variant: Variant): UncertaintyRow {
  const why = !r.found ? 'missed' : r.iou < FIX_IOU ? `iou ${r.iou.toFixed(2)}` : '';
  return { set: r.set, image: r.image, score: r.score, variant, split: splitOf(r.set, r.image), needsFix: why !== '', why };
}

export function peopleTask(r: ScoredTask & { present: number; found: number }, variant: Variant): UncertaintyRow {
  const missed = r.present - r.found;
  const why = missed > 0 ? `missed ${missed} of ${r.present}` : '';
  return { set: `people/${r.set}`, image: r.image, score: r.score, variant, split: 'report', needsFix: why !== '', why };
}

export function uncertaintyFigures(rows: readonly UncertaintyRow[]): UncertaintyFigure[] {
  const out: UncertaintyFigure[] = [];
  for (const split of ['tune', 'report'] as const) {
    for (const variant of ['all', 'original', 'dark'] as const) {
      const r = rows.filter((x) => x.split === split && (variant === 'all' || x.variant === variant));
      if (r.length === 0) continue;
      out.push({
        split,
        variant,
        tasks: r.length,
        needFix: r.filter((x) => x.needsFix).length,
        auroc: auroc(
          r.map((x) => 1 - x.score),
          r.map((x) => x.needsFix),
        ),
      });
    }
  }
  return out;
}

export function formatUncertainty(figs: readonly UncertaintyFigure[]): string {
  const lines = [`task score AUROC (1 - score vs "needs a fix": a missed face or a mask IoU < ${FIX_IOU})`];
  lines.push(['split', 'images', 'tasks', 'need fix', 'AUROC'].map((h, i) => (i === 0 ? h.padEnd(10) : h.padStart(10))).join(''));
  for (const f of figs) {
    lines.push(
      [f.split, f.variant, String(f.tasks), String(f.needFix), f.auroc === undefined ? '-' : f.auroc.toFixed(3)]
        .map((s, i) => (i === 0 ? s.padEnd(10) : s.padStart(10)))
        .join(''),
    );
  }
  lines.push('tune = FASSEG multipose01 persons 1-4 (+ dark copies); report = every other task this eval ran (by default its held-out part: multipose01 persons 6-7, frontal02 11-20, people/, cihp/, + dark copies)');
  return lines.join('\n');
}
