// The one progress display of every long command (segment, eval, predict,
// anonymize, bench): a cli-progress bar with rate and ETA on a terminal;
// elsewhere (CI, nohup, a log file) nothing, or with `lines` one plain line
// every `everyMs`; nothing at all when quiet.
import cliProgress from 'cli-progress';

export type Counters = Record<string, string | number>;

export interface Progress {
  /** The number of items, when it is known only after the start (a paged listing). */
  setTotal(n: number): void;
  /** One item done; `counters` update the named fields shown after the bar. */
  increment(counters?: Counters): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Items to do, when known at the start. */
  total?: number;
  /** Fields after the bar, e.g. 'done {done} failed {failed}', filled from `initial` and increment()'s counters. */
  fields?: string;
  initial?: Counters;
  quiet?: boolean;
  /** Not on a terminal: a plain line at most every `everyMs` and one at the end (true), or nothing (default). */
  lines?: boolean;
  /** Default: process.stderr.isTTY. */
  tty?: boolean;
  /** Where plain lines go (default: stderr). */
  write?: (line: string) => void;
  /** Default 10 s. */
  everyMs?: number;
  now?: () => number;
}

const SILENT: Progress = { setTotal: () => undefined, increment: () => undefined, stop: () => undefined };

export function progressBar(label: string, o: ProgressOptions = {}): Progress {
  if (o.quiet) return SILENT;
  if (o.tty ?? process.stderr.isTTY) return terminalBar(label, o);
  return o.lines ? plainLines(label, o) : SILENT;
}

function terminalBar(label: string, o: ProgressOptions): Progress {
  const now = o.now ?? Date.now;
  const fields = o.fields ? ` | ${o.fields}` : '';
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | {percentage}% | {rate}/s | ETA {eta_formatted}${fields}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = now();
  let n = 0;
  let started = false;
  const p: Progress = {
    setTotal(total) {
      if (started) return bar.setTotal(total);
      bar.start(Math.max(total, 1), 0, { ...o.initial, rate: '0.0' });
      started = true;
    },
    increment(counters) {
      if (!started) p.setTotal(1);
      n++;
      bar.increment(1, { ...counters, rate: (n / Math.max(0.001, (now() - t0) / 1000)).toFixed(1) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
  if (o.total !== undefined) p.setTotal(o.total);
  return p;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s < 90 ? `${s}s` : s < 5400 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`;
}

function plainLines(label: string, o: ProgressOptions): Progress {
  const now = o.now ?? Date.now;
  const write = o.write ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const every = o.everyMs ?? 10_000;
  const t0 = now();
  let total = o.total ?? 0;
  let n = 0;
  let last = t0;
  let counters: Counters = { ...o.initial };
  const line = (): string => {
    const rate = n / Math.max(0.001, (now() - t0) / 1000);
    const pct = total > 0 ? ` (${Math.min(100, Math.round((n / total) * 100))}%)` : '';
    const fields = (o.fields ?? '').replace(/\{(\w+)\}/g, (_, k: string) => String(counters[k] ?? ''));
    return `${label}: ${n}/${total || '?'}${pct}, ${rate.toFixed(1)}/s, ETA ${total > 0 && n > 0 ? eta((total - n) / rate) : '?'}${fields ? `, ${fields}` : ''}`;
  };
  return {
    setTotal(t) {
      total = t;
    },
    increment(c) {
      n++;
      counters = { ...counters, ...c };
      if (now() - last < every) return;
      last = now();
      write(line());
    },
    stop() {
      if (n > 0) write(line());
    },
  };
}
