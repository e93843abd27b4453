import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const moduleUrl = new URL('../../backend/util/worker-heap.ts', import.meta.url).href;

// A worker that promotes a steady trickle of objects which die soon after (a few
// batches live across the scavenges that short-lived arrays set off), as an
// engine worker does per image, and reports its full (major) GCs.
const churn = `
const { PerformanceObserver, constants } = require('node:perf_hooks');
const { parentPort } = require('node:worker_threads');
let major = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; }).observe({ entryTypes: ['gc'] });
const keep = [];
const tmp = new Array(1024);
for (let i = 0; i < 300; i++) {
  const batch = [];
  for (let j = 0; j < 1500; j++) batch.push({ a: j, b: [j, j + 1] });
  keep.push(batch);
  if (keep.length > 3) keep.shift();
  for (let k = 0; k < 120000; k++) tmp[k & 1023] = [k, k + 1, k + 2];
}
setTimeout(() => parentPort.postMessage(major), 50);
`;

/** In a fresh node process: optionally size the worker heaps, then run the churn in a worker; its major GC count and sizeWorkerHeaps' answer. */
async function churnIn(sized: boolean, nodeFlags: string[] = []): Promise<{ major: number; set: boolean | null }> {
  const script = `
    import { Worker } from 'node:worker_threads';
    let set = null;
    if (${sized}) set = (await import(${JSON.stringify(moduleUrl)})).sizeWorkerHeaps();
    const w = new Worker(${JSON.stringify(churn)}, { eval: true, execArgv: [] });
    w.once('message', (major) => { console.log(JSON.stringify({ major, set })); void w.terminate(); });
  `;
  const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
  const { stdout } = await run(process.execPath, [...nodeFlags, '--import', tsx, '--input-type=module', '-e', script], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { major: number; set: boolean | null };
}

describe('sizeWorkerHeaps', () => {
  it('spares a worker that promotes short-lived objects the full GCs V8 runs at its default first heap size', async () => {
    const plain = await churnIn(false);
    const sized = await churnIn(true);
    expect(sized.set).toBe(true);
    expect(plain.major).toBeGreaterThanOrEqual(1);
    expect(sized.major).toBe(0);
  }, 120_000);

  it("leaves an operator's own --initial-old-space-size alone", async () => {
    const own = await churnIn(true, ['--initial-old-space-size=1']);
    expect(own.set).toBe(false);
    // their (tiny) size stands: the worker still runs full GCs
    expect(own.major).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
