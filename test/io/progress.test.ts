import { describe, expect, it } from 'vitest';
import { progressBar } from '../../backend/io/progress.js';

describe('progress without a terminal (CI, nohup)', () => {
  it('prints a plain line at most every interval and one at the end', () => {
    let t = 0;
    const lines: string[] = [];
    const bar = progressBar('predict', {
      fields: 'done {done} failed {failed}',
      initial: { done: 0, failed: 0 },
      lines: true,
      tty: false,
      write: (l) => lines.push(l),
      everyMs: 10_000,
      now: () => t,
    });
    bar.setTotal(100);
    for (let i = 1; i <= 30; i++) {
      t = i * 1000;
      bar.increment({ done: i, failed: 0 });
    }
    bar.stop();
    expect(lines).toEqual([
      'predict: 10/100 (10%), 1.0/s, ETA 2m, done 10 failed 0',
      'predict: 20/100 (20%), 1.0/s, ETA 80s, done 20 failed 0',
      'predict: 30/100 (30%), 1.0/s, ETA 70s, done 30 failed 0',
      'predict: 30/100 (30%), 1.0/s, ETA 70s, done 30 failed 0',
    ]);
  });

  it('takes the total given at the start and prints no empty fields', () => {
    let t = 0;
    const lines: string[] = [];
    const bar = progressBar('eval', { total: 4, lines: true, tty: false, write: (l) => lines.push(l), everyMs: 1000, now: () => t });
    t = 2000;
    bar.increment();
    bar.stop();
    expect(lines).toEqual(['eval: 1/4 (25%), 0.5/s, ETA 6s', 'eval: 1/4 (25%), 0.5/s, ETA 6s']);
  });

  it('writes nothing when quiet, and off a terminal nothing unless asked for lines', () => {
    for (const o of [{ quiet: true, lines: true }, { lines: false }, {}]) {
      const out: string[] = [];
      const bar = progressBar('x', { ...o, total: 2, tty: false, everyMs: 0, write: (l) => out.push(l) });
      bar.increment();
      bar.increment();
      bar.stop();
      expect(out).toEqual([]);
    }
  });
});
