// The bench's child-process server: /proc parsing, the wait for /health, and
// a clear error when the server dies or never answers. A few-line fake server
// stands in for dist/backend/cli/main.js.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCpuMs, parseVmHwmKiB, startServerProcess } from '../../bench/server-process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'server-process-test-'));
const script = (name: string, body: string): string => {
  const file = path.join(dir, name);
  writeFileSync(file, body);
  return file;
};
// answers /health 200 after `delay` ms; holds `mb` MiB so its peak RSS shows
const fake = script(
  'fake.mjs',
  `import http from 'node:http';
const mb = Number(process.env.HOLD_MB ?? 0);
const held = Buffer.alloc(mb * 1024 * 1024, 1);
if (process.argv[2] !== 'serve') process.exit(2);
setTimeout(() => http.createServer((req, res) => { res.statusCode = req.url === '/health' ? 200 : 404; res.end(String(held.length)); })
  .listen(Number(process.env.PORT), process.env.HOST), Number(process.env.DELAY_MS ?? 0));`,
);

describe('bench server process', () => {
  it('parses VmHWM and CPU ticks from /proc text', () => {
    expect(parseVmHwmKiB('Name:\tnode\nVmPeak:\t 999 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1 kB\n')).toBe(123456);
    expect(parseVmHwmKiB('Name:\tnode\n')).toBeUndefined();
    // a command name with spaces and a parenthesis must not shift the fields
    const stat = '4242 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0 1 0';
    expect(parseCpuMs(stat)).toBe(2800);
    expect(parseCpuMs(stat, 1000)).toBe(280);
  });

  it('waits for /health, reports the child\'s own peak RSS and stops it', async () => {
    const srv = await startServerProcess({ entry: fake, env: { DELAY_MS: '300', HOLD_MB: '64' } });
    try {
      expect((await fetch(`${srv.url}/health`)).status).toBe(200);
      const peak = srv.peakRssMiB();
      if (process.platform === 'linux') {
        expect(peak).toBeGreaterThan(64); // the 64 MiB it holds, not this process's figure
        expect(srv.cpuMs()).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await srv.close();
    }
    await expect(fetch(`${srv.url}/health`)).rejects.toThrow();
  });

  it('says so when the server exits before answering, or never answers', async () => {
    const dies = script('dies.mjs', `console.error('boom: no models'); process.exit(3);`);
    await expect(startServerProcess({ entry: dies })).rejects.toThrow(/exited \(code 3\).*boom: no models/);
    await expect(startServerProcess({ entry: fake, env: { DELAY_MS: '60000' }, startTimeoutMs: 500 })).rejects.toThrow(/did not answer 200 within 500 ms/);
    await expect(startServerProcess({ entry: path.join(dir, 'missing.js') })).rejects.toThrow(/missing: run npm run build/);
  });
});
