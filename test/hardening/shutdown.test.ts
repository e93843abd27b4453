// SIGTERM ends the process even when a request is stuck in native code (the
// event loop stays alive) and even when closing the engine hangs: exit after
// the in-flight deadline, or hard after the grace period.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./children/stuck-server.ts', import.meta.url));

async function run(env: Record<string, string>): Promise<{ code: number | null; ms: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', () => reject(new Error('child exited early')));
  });
  http.get({ host: '127.0.0.1', port, path: '/stuck', agent: false }).on('error', () => {});
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, ms: Date.now() - t0 };
}

describe('shutdown with stuck work', () => {
  it('a request stuck in native work: exit 0 right after the in-flight deadline (300 ms), < 3 s', async () => {
    const r = await run({});
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(3000);
  });

  it('engine close that never returns: hard exit 1 after deadline + grace (600 ms), < 3 s', async () => {
    const r = await run({ STUCK_CLOSE: '1' });
    expect(r.code).toBe(1);
    expect(r.ms).toBeGreaterThanOrEqual(500);
    expect(r.ms).toBeLessThan(3000);
  });
});
