// Child processes, ports and waiting, for the end-to-end suite.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';

export interface Managed {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const running = new Set<Managed>();

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start a command in its own process group (so stopping it also stops what it
 * spawned: tsx -> node, label-studio -> django), output appended to `log`.
 */
export function start(name: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; log: string }): Managed {
  const out = createWriteStream(opts.log, { flags: 'a' });
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.on('error', () => resolve(-1));
  });
  let stopping: Promise<void> | undefined;
  const m: Managed = {
    name,
    child,
    log: opts.log,
    exited,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null && child.pid) {
          killGroup(child.pid, 'SIGTERM');
          const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
          if (!done) killGroup(child.pid, 'SIGKILL');
          await Promise.race([exited, sleep(3_000)]);
        }
        // whatever the leader left behind in its group
        if (child.pid) killGroup(child.pid, 'SIGKILL');
        running.delete(m);
        out.end();
      })();
      return stopping;
    },
  };
  running.add(m);
  return m;
}

function killGroup(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}

/** Stop every process started here, newest first. */
export async function stopAll(): Promise<void> {
  for (const m of [...running].reverse()) await m.stop();
}

export function sleep(ms: number) {
  return new Promise<void>((r) => setTimeout(r, ms));
}

/**
 * Poll `url` until `ok(status, body)` holds, the process dies or time runs out.
 * Returns the last body.
 */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  opts: { proc?: Managed; ok?: (status: number, body: string) => boolean; headers?: Record<string, string> } = {},
): Promise<string> {
  const ok = opts.ok ?? ((s) => s === 200);
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  let dead = false;
  opts.proc?.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${opts.proc!.name} exited (code ${await opts.proc!.exited}) before ${url} answered; see ${opts.proc!.log}`);
    try {
      const r = await fetch(url, { headers: opts.headers, signal: AbortSignal.timeout(3_000) });
      const body = await r.text();
      last = `${r.status} ${body.slice(0, 200)}`;
      if (ok(r.status, body)) return body;
    } catch (e) {
      last = String((e as Error).cause ?? e);
    }
    await sleep(500);
  }
  throw new Error(`${url} not ready after ${timeoutMs / 1000} s (last: ${last})${opts.proc ? `; see ${opts.proc.log}` : ''}`);
}

/** Run a command to completion, capturing output. */
export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; onLine?: (l: string) => void } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (opts.onLine) for (const l of d.toString().split('\n')) if (l.trim()) opts.onLine(l);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', (e) => resolve({ code: -1, stdout, stderr: stderr + String(e) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
