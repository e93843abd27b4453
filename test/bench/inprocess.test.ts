// The bench's in-process run: warm-up passes reach the engine (not only the
// decoder), and the timed passes count every image once per iteration.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { BenchImage } from '../../bench/images.js';
import { runInProcess } from '../../bench/inprocess.js';
import type { FaceEngine, RgbImage, SegmentResult } from '../../backend/pipeline/types.js';

/** An engine that finds nothing and counts its calls, at most `limit` at once. */
class CountingEngine implements FaceEngine {
  readonly modelVersion = 'counting';
  readonly executionProvider = 'cpu';
  calls = 0;
  private running = 0;
  maxRunning = 0;
  async segment(image: RgbImage): Promise<SegmentResult> {
    this.calls++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((r) => setTimeout(r, 2));
    this.running--;
    return { width: image.width, height: image.height, faces: [], score: 1, timings: {} };
  }
  async close(): Promise<void> {}
}

async function images(groups: string[], perGroup: number): Promise<BenchImage[]> {
  const bytes = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  return groups.flatMap((group) => Array.from({ length: perGroup }, (_, i) => ({ id: `${group}/${i}`, group, bytes, width: 32, height: 24 })));
}

describe('bench in-process run', () => {
  it('with workers, the warm-up runs the engine: one image per group, lanes times, per pass', async () => {
    const engine = new CountingEngine();
    const set = await images(['a', 'b'], 3);
    const parallel = 2;
    const r = await runInProcess(engine, set, { iterations: 1, warmup: 2, profile: false, parallel });
    // warm-up: 2 passes x 2 groups x (2 workers + 1 ahead) lanes of the group's first image; then 6 timed
    expect(engine.calls).toBe(2 * 2 * (parallel + 1) + set.length);
    expect(r.samples).toHaveLength(set.length);
    // the turns keep engine calls at the worker count
    expect(engine.maxRunning).toBe(parallel);
  });

  it('without workers, the same warm-up then every image per iteration', async () => {
    const engine = new CountingEngine();
    const set = await images(['a', 'b'], 2);
    const r = await runInProcess(engine, set, { iterations: 2, warmup: 1, profile: false });
    expect(engine.calls).toBe(2 + 2 * set.length);
    expect(r.samples.map((s) => s.id)).toEqual([...set, ...set].map((i) => i.id));
  });

  it('the warm pass runs every image once more, untimed, with and without workers', async () => {
    const set = await images(['a', 'b'], 3);
    const pooled = new CountingEngine();
    const r = await runInProcess(pooled, set, { iterations: 1, warmup: 1, warmPass: true, profile: false, parallel: 2 });
    expect(pooled.calls).toBe(2 * 3 + set.length + set.length);
    expect(r.samples).toHaveLength(set.length);
    const serial = new CountingEngine();
    const s = await runInProcess(serial, set, { iterations: 1, warmup: 1, warmPass: true, profile: false });
    expect(serial.calls).toBe(2 + set.length + set.length);
    expect(s.samples).toHaveLength(set.length);
  });
});
