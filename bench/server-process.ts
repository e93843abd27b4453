// The server as it ships (`node dist/backend/cli/main.js serve`: built
// JavaScript, no tsx) in a child process on a loopback port. Figures that
// belong to the server alone come from here: its peak RSS is the kernel's
// high-water mark (VmHWM in /proc/<pid>/status), which a sampler cannot miss,
// and it excludes what the bench process also holds (the decoded image set,
// the HTTP client, tsx's loader threads in every worker).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** VmHWM (peak resident set) in KiB from the text of /proc/<pid>/status; undefined when absent. */
export function parseVmHwmKiB(status: string): number | undefined {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

/** A free loopback TCP port (bound, read, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** CPU time (user + system) in ms from the text of /proc/<pid>/stat, at `ticksPerSec` clock ticks (Linux: 100). */
export function parseCpuMs(stat: string, ticksPerSec = 100): number | undefined {
  // the command name (field 2) is in parentheses and may hold spaces: count fields after its ')'
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / ticksPerSec : undefined;
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** CPU time the server process has used so far, in ms (undefined where /proc is missing). */
  cpuMs(): number | undefined;
  /** Peak RSS of the server process since it started, in MiB (undefined where /proc is missing). */
  peakRssMiB(): number | undefined;
  close(): Promise<void>;
}

export interface ServerProcessOptions {
  /** The server's entry file (default dist/backend/cli/main.js under the repository). */
  entry: string;
  /** Extra environment for the server (ENGINE_WORKERS, ...). */
  env?: Record<string, string>;
  /** How long /health may take to answer 200 (default 60 s). */
  startTimeoutMs?: number;
}

/** Start the server and wait until /health answers 200; throws with the end of its output when it exits or times out first. */
export async function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  if (!existsSync(opts.entry)) throw new Error(`${opts.entry} is missing: run npm run build first`);
  const port = await freePort();
  // its learning store in a folder of its own, not models/
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faceseg-bench-server-'));
  const child = spawn(process.execPath, [opts.entry, 'serve'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'error', LEARNING_DB: path.join(dir, 'learning.sqlite'), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (b: Buffer) => (output = (output + b.toString()).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code) => ((exited = code), resolve()));
    child.once('error', (e) => ((exited = -1), keep(Buffer.from(e.message)), resolve()));
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`the server exited (code ${exited}) before /health answered: ${output.trim().split('\n').slice(-5).join(' | ')}`);
    }
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server's /health did not answer 200 within ${opts.startTimeoutMs ?? 60_000} ms: ${output.trim().split('\n').slice(-5).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    cpuMs() {
      try {
        return parseCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return undefined;
      }
    },
    peakRssMiB() {
      try {
        const kib = parseVmHwmKiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return kib === undefined ? undefined : kib / 1024;
      } catch {
        return undefined;
      }
    },
    close: stop,
  };
}
