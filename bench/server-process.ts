// The server as it ships (`node dist/backend/cli/main.js serve`: built
// JavaScript, no tsx) in a child process on a loopback port. Figures that
// belong to the server alone come from here: its peak RSS is the kernel's
// high-water mark (VmHWM in /proc/<pid>/status), which a sampler cannot miss,
// and it excludes what the bench process also holds (the decoded image set,
// the HTTP client, tsx's loader threads in every worker). Starting, waiting
// and stopping are the end-to-end suite's (test/e2e/lib/proc.ts).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, start, waitForHttp } from '../test/e2e/lib/proc.js';

/** VmHWM (peak resident set) in KiB from the text of /proc/<pid>/status; undefined when absent. */
export function parseVmHwmKiB(status: string): number | undefined {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) : undefined;
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
  // its learning store and its log in a folder of its own, not models/
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faceseg-bench-server-'));
  const proc = start('bench server', process.execPath, [opts.entry, 'serve'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'error', LEARNING_DB: path.join(dir, 'learning.sqlite'), ...opts.env },
    log: path.join(dir, 'server.log'),
  });
  // the end of its output, for the error (the log file may not be flushed yet when it dies)
  let output = '';
  const keep = (b: Buffer) => (output = (output + b.toString()).slice(-4000));
  proc.child.stdout?.on('data', keep);
  proc.child.stderr?.on('data', keep);
  const close = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  try {
    await waitForHttp(`${url}/health`, timeoutMs, { proc });
  } catch {
    const code = proc.child.exitCode ?? (proc.child.signalCode ? 128 : null);
    const exited = code !== null;
    await close();
    const tail = output.trim().split('\n').slice(-5).join(' | ');
    throw new Error(exited ? `the server exited (code ${code}) before /health answered: ${tail}` : `the server's /health did not answer 200 within ${timeoutMs} ms: ${tail}`);
  }
  const pid = proc.child.pid ?? 0;
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
    close,
  };
}
