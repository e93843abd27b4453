// The bench command's options (bench/cli.ts) and where it finds the repository and the data. No heavy imports here.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

export interface BenchOptions {
  data?: string;
  quick?: boolean;
  iterations?: number;
  warmup?: number;
  variants?: number;
  seed: number;
  json?: string;
  profile?: boolean;
  http: boolean;
  deface: boolean;
  quality: boolean;
  learning: boolean;
  concurrency: boolean;
  serverProcess: boolean;
  clients: string;
  python?: string;
  workers?: number;
  /** Only the groups whose name contains one of these (comma-separated), e.g. "1280x720 3f". */
  only?: string;
  /** Extra alternations of ours and deface, one pass each, after the main phases (0 = none). */
  rounds?: number;
  /** An untimed pass over every image before the timed ones, ours and deface alike (commander's --no-warm-pass sets false). */
  warmPass: boolean;
}

const int = (v: string): number => {
  const n = Number.parseInt(v, 10);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got "${v}"`);
  return n;
};

export function addBenchOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'shared data folder with fasseg/ and people/ (default: ../shared/data)')
    .option('--quick', 'short run: few images, one iteration, small quality subset')
    .option('--iterations <n>', 'timed passes over the image set (default 3, --quick 1)', int)
    .option('--warmup <n>', 'warm-up passes over one image per group (default 2, --quick 1)', int)
    .option('--variants <n>', 'rendered scenes per size and face count (default 2, --quick 1)', int)
    .option('--seed <n>', 'seed of the rendered scenes', int, 1)
    .option('--json <file>', 'write the full results here (default bench/results/bench-<time>.json)')
    .option('--profile', 'per-stage breakdown per image size and face count, with model inference split out (runs the engine on the main thread)')
    .option('--workers <n>', 'engine worker threads, images in flight at once (default: the server\'s ENGINE_WORKERS default; 0 = the engine on the main thread, one image at a time)', int)
    .option('--rounds <n>', 'after the main phases, alternate ours (in-process) and deface this many more times, one pass each, and print every round\'s ratio and their median: the machine\'s load changes then show instead of skewing one ratio (default 0)', int)
    .option('--only <groups>', 'only the image groups whose name contains one of these, comma-separated (e.g. "1280x720 3f,fasseg")')
    .option('--no-warm-pass', 'skip the untimed pass over every image (ours and deface) before the timed passes; the warm-up images alone then leave first-use costs (new input shapes, JIT) in the first timed pass')
    .option('--no-http', 'skip the HTTP runs (single client and concurrency)')
    .option('--no-concurrency', 'skip the 1/2/4-client HTTP runs')
    .option('--no-server-process', 'skip the HTTP runs against the built server in a child process (its own peak RSS)')
    .option('--no-deface', 'skip the deface peer')
    .option('--no-quality', 'skip the FASSEG mask-quality comparison')
    .option('--no-learning', 'skip the refiner training cost (20, 50, 200 corrections)')
    .option('--clients <list>', 'concurrent HTTP clients to try', '1,2,4')
    .option('--python <exe>', 'python used to create bench/.venv-deface (default python3)');
}

/** The repository root: the nearest folder above this file with a package.json (works from dist/ too). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'bench'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** --data, else ../shared/data beside the current folder, else beside the repository. */
export function defaultDataDir(given?: string): string {
  if (given) return path.resolve(given);
  const candidates = [path.resolve('../shared/data'), path.resolve(repoRoot(), '../shared/data')];
  return candidates.find((c) => existsSync(c)) ?? candidates[candidates.length - 1];
}
