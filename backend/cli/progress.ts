// A progress bar with rate and ETA on a terminal; silent when not a TTY or quiet.
import cliProgress from 'cli-progress';

export interface Progress {
  increment(n?: number): void;
  stop(): void;
}

export function progressBar(total: number, label: string, quiet = false): Progress {
  if (quiet || !process.stderr.isTTY) return { increment: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} | {percentage}% | {rate}/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  bar.start(total, 0, { rate: '0.0' });
  let n = 0;
  return {
    increment(k = 1) {
      n += k;
      bar.increment(k, { rate: (n / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(1) });
    },
    stop() {
      bar.stop();
    },
  };
}
