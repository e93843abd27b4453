// `faceseg predict`: flags, help and exit codes; the work is in ../predict.ts.
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { loadConfig } from '../../compose.js';
import type { Config } from '../../config.js';
import type { FaceSegModel } from '../../model/faceseg-model.js';
import type { PredictOptions } from '../predict.js';
import { engineOptions, pooledEngineFrom, type EngineFlags } from '../engine-flags.js';
import { EXIT, orUsageError, positiveInt, untilInterrupted, usageError, usageExits } from '../usage.js';

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

const DESCRIPTION =
  'Write face predictions for every task of a Label Studio project, through Label Studio\'s API. ' +
  'Use this instead of "Retrieve predictions" for large projects (Label Studio gives up on a batch after 100 s).\n\n' +
  "It reads the project's label config, pages through its tasks, downloads each image, finds the faces and writes " +
  'one prediction per task (a brush mask per face; a task without faces gets an empty prediction) in batches.\n\n' +
  'It is resumable: by default tasks that already hold a prediction of this model version are skipped, ' +
  'so running the same command again continues where it stopped.';

const HELP_AFTER = `
Examples:
  LABEL_STUDIO_API_KEY=... faceseg predict --url http://localhost:8080 --project 3
  LABEL_STUDIO_URL=http://localhost:8080 LABEL_STUDIO_API_KEY=... faceseg predict --project 3 --shard 0/2

Failed tasks (image missing, download refused, corrupt file) are listed at the end and
get no prediction, so the next run retries them. Network errors and 5xx answers from
Label Studio are retried with backoff. Ctrl-C stops after the tasks in flight are written.
Exit codes: 0 all tasks written or skipped, 1 some tasks failed, 2 bad arguments,
3 cannot start (config, models, project not found or unreadable, label config without
BrushLabels), 130 interrupted.`;

export function addPredictCommand(program: Command): void {
  engineOptions(
    usageExits(
      program
        .command('predict')
        .alias('predict-project')
        .summary('write face predictions for a whole Label Studio project through its API')
        .description(DESCRIPTION)
        .option('--url <url>', 'Label Studio address, e.g. http://localhost:8080 (default: $LABEL_STUDIO_URL)')
        .option('--token <key>', 'API key (default and preferred: $LABEL_STUDIO_API_KEY; a token on the command line shows in ps and in npm\'s echo of the command)')
        .requiredOption('--project <id>', 'project id: the number in /projects/ID/ in the browser address', positiveInt('--project'))
        .addOption(
          new Option('--tasks <which>', 'missing: only tasks without a prediction of this model version; all: every task (adds another prediction)')
            .choices(['missing', 'all'])
            .default('missing'),
        )
        .option('--concurrency <n>', 'tasks in flight: downloads and decoding overlap; ENGINE_WORKERS images are segmented at once', positiveInt('--concurrency'), 4)
        .option('--batch <n>', 'predictions per write request to Label Studio', positiveInt('--batch'), 20)
        .option('--page-size <n>', 'tasks per page when listing the project', positiveInt('--page-size'), 100)
        .option('--shard <i/n>', 'only tasks whose id % n == i, to split a project across machines (e.g. 0/2 and 1/2)')
        .option('--json <file>', 'also write the summary, with every failed task, as JSON')
        .option('-q, --quiet', 'no progress (a bar on a terminal, a line every 10 s otherwise)')
        .addHelpText('after', HELP_AFTER),
    ),
  ).action(predictAction);
}

/** The Label Studio address (flag, else LABEL_STUDIO_URL); a usage error when missing or not http(s). */
function labelStudioUrl(opts: PredictFlags, config: Config): string {
  const url = (opts.url ?? config.labelStudioUrl)?.trim().replace(/\/+$/, '');
  if (!url) usageError('give the Label Studio address with --url or LABEL_STUDIO_URL');
  if (!/^https?:\/\/[^/]/i.test(url)) usageError(`--url must start with http:// or https://, got "${url}"`);
  return url;
}

async function predictAction(opts: PredictFlags): Promise<void> {
  const { parseShard } = await import('../predict.js');
  const shard = await orUsageError(() => (opts.shard ? parseShard(opts.shard) : undefined));
  const config = loadConfig();
  const url = labelStudioUrl(opts, config);
  const token = opts.token ?? config.labelStudioApiKey;
  if (!token) process.stderr.write('faceseg: no --token or LABEL_STUDIO_API_KEY: Label Studio will probably answer 401\n');
  // read once: the engine workers and the learning service must use the same prior
  const { configuredPrior } = await import('../../learning/refiner-prior.js');
  const prior = configuredPrior(config);
  const engine = await pooledEngineFrom(opts, config, prior);
  // the project's learned refiner and calibration apply, and bulk predictions are recorded for learning
  const { openLearning } = await import('../../learning/index.js');
  const { createLogger } = await import('../../logging.js');
  const { FaceSegModel } = await import('../../model/faceseg-model.js');
  const logger = createLogger(config);
  const learning = await openLearning(config, logger, engine, undefined, { processWebhooks: false, prior });
  const model = new FaceSegModel(engine, learning?.service, logger);
  const close = async () => {
    await learning?.close();
    await engine.close();
  };
  await untilInterrupted(
    'tasks',
    (signal) =>
      predictAndReport(model, opts.json, {
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
        signal,
      }),
    close,
  );
}

/** Run, print the summary, set the exit code; Label Studio refusing the project or its label config is a setup error (3). */
async function predictAndReport(model: FaceSegModel, json: string | undefined, o: PredictOptions): Promise<void> {
  const { runPredict, formatPredictSummary } = await import('../predict.js');
  try {
    const summary = await runPredict(model, o);
    process.stderr.write(`${formatPredictSummary(summary)}\n`);
    if (json) await writeFile(json, JSON.stringify(summary, null, 2));
    process.exitCode = summary.interrupted ? EXIT.interrupted : summary.failed.length || summary.fatal ? EXIT.failures : EXIT.ok;
  } catch (e) {
    const err = e as Error;
    if (!['LabelStudioApiError', 'LabelStudioAuthError', 'LabelConfigError'].includes(err.name)) throw e;
    process.stderr.write(`faceseg: ${err.message}\n`);
    process.exitCode = EXIT.setup;
  }
}
