// `npm start` under a process manager: its SIGTERM must reach the server, which
// then drains and exits, rather than stopping npm and leaving the server
// running with the port (npm signals its shell, and a shell that waits on its
// command does not pass the signal on).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port }, () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });

/** Whether any process of the group led by `pid` is still running. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it('passes SIGTERM to the server: it drains, stops listening and exits, and nothing npm started is left', async () => {
    const port = await freePort();
    const db = path.join(os.tmpdir(), `npm-start-${process.pid}.sqlite`);
    const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', ENGINE_WORKERS: '0', LOG_LEVEL: 'info', LEARNING_DB: db };
    // its own process group, so that whatever it starts can be killed at the end, orphans included
    const npm = spawn('npm', ['start'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('listening on') && Date.now() < deadline && npm.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('listening on');
      expect(await accepts(port)).toBe(true);
      const exited = new Promise<void>((r) => npm.once('exit', () => r()));
      npm.kill('SIGTERM');
      await exited;
      // every process npm started (tsx, the server) exits: none is left in its group
      let alive = true;
      for (let i = 0; i < 150 && alive; i++) {
        alive = groupAlive(npm.pid!);
        if (alive) await new Promise((r) => setTimeout(r, 100));
      }
      expect(alive).toBe(false);
      expect(await accepts(port)).toBe(false);
      expect(out).toContain('SIGTERM: finishing in-flight requests');
    } finally {
      if (groupAlive(npm.pid!)) process.kill(-npm.pid!, 'SIGKILL');
      for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    }
  }, 90_000);
});
