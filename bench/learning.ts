// Refiner training cost: wall time and peak memory for 20, 50 and 200
// corrected faces, through the product path (the training worker, with the
// held-out check and the final refit). The faces are synthetic frames of the
// real frame size (training cost depends on pixels and features, not on who
// is in the photo); accuracy figures come from `faceseg eval --learn`.
import { FRAME_SIZE } from '../backend/pipeline/face-sample.js';
import { encodeSample, encodeTarget } from '../backend/learning/sample-codec.js';
import { trainInWorker } from '../backend/learning/train-runner.js';
import { syntheticFace } from '../backend/eval/synthetic-face.js';
import { mib } from './stats.js';

export interface LearningBenchRow {
  corrections: number;
  ms: number;
  peakRssMiB: number;
  rssBeforeMiB: number;
  accepted: boolean;
  iouCurrent: number;
  iouCandidate: number;
}

export async function runLearningBench(counts: readonly number[] = [20, 50, 200], onRow?: (r: LearningBenchRow) => void): Promise<LearningBenchRow[]> {
  const rows: LearningBenchRow[] = [];
  for (const n of counts) {
    const faces = Array.from({ length: n }, (_, k) => {
      const f = syntheticFace(1000 + k, FRAME_SIZE);
      return { sample: encodeSample(f.sample), target: encodeTarget(f.head), group: `task-${k}` };
    });
    global.gc?.();
    const rssBefore = process.memoryUsage.rss();
    let peak = rssBefore;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 50);
    const t0 = performance.now();
    try {
      const out = await trainInWorker({ faces, current: null });
      const row = {
        corrections: n,
        ms: performance.now() - t0,
        peakRssMiB: mib(Math.max(peak, process.memoryUsage.rss())),
        rssBeforeMiB: mib(rssBefore),
        accepted: out.report.accepted,
        iouCurrent: out.report.iouCurrent,
        iouCandidate: out.report.iouCandidate,
      };
      rows.push(row);
      onRow?.(row);
    } finally {
      clearInterval(timer);
    }
  }
  return rows;
}

export function formatLearningBench(rows: readonly LearningBenchRow[]): string {
  const lines = ['Refiner training (worker thread, held-out check + final fit; synthetic frames of the real size)'];
  lines.push(['corrections', 'train s', 'peak RSS MiB', 'RSS before', 'held-out IoU engine -> refiner', 'kept'].map((h, i) => (i === 0 ? h.padEnd(12) : h.padStart(i === 4 ? 32 : 14))).join(''));
  for (const r of rows) {
    lines.push(
      [
        String(r.corrections).padEnd(12),
        (r.ms / 1000).toFixed(1).padStart(14),
        r.peakRssMiB.toFixed(0).padStart(14),
        r.rssBeforeMiB.toFixed(0).padStart(14),
        `${r.iouCurrent.toFixed(3)} -> ${r.iouCandidate.toFixed(3)}`.padStart(32),
        String(r.accepted).padStart(14),
      ].join(''),
    );
  }
  return lines.join('\n');
}

// `npx tsx bench/learning.ts [counts...]`: this table alone
if (import.meta.url === `file://${process.argv[1]}`) {
  const counts = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const rows = await runLearningBench(counts.length ? counts : undefined, (r) => process.stderr.write(`${r.corrections} corrections: ${(r.ms / 1000).toFixed(1)} s\n`));
  process.stdout.write(`${formatLearningBench(rows)}\n`);
}
