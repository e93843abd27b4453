// `faceseg eval`: flags and printing; the work is in backend/eval/.
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { FaceEngine } from '../../pipeline/types.js';
import { engineFrom, engineOptions, type EngineFlags } from '../engine-flags.js';
import { loadConfig } from '../../config.js';
import { configuredPrior } from '../../learning/refiner-prior.js';
import type { RefinerModel } from '../../learning/refiner.js';
import { usageExits, wholeNumber } from '../usage.js';

interface EvalFlags extends EngineFlags {
  data: string;
  json?: string;
  overlays?: string;
  sets?: string;
  quiet?: boolean;
  split: 'heldout' | 'tune' | 'all';
  dark: boolean;
  small: boolean;
  groups: boolean;
  tone: boolean;
  learn?: number;
  fitPrior?: string;
  convention: 'face' | 'face+ears' | 'head';
  learnSplit: 'random' | 'person' | 'both';
  seed: number;
}

export function addEvalCommand(program: Command): void {
  engineOptions(
    usageExits(
      program
        .command('eval')
        .description('mask IoU/precision on FASSEG (per yaw) and faces found on the people sets; prints a table, writes JSON')
        .requiredOption('--data <dir>', 'the evaluation data folder (with fasseg/ and people/), e.g. ../shared/data')
        .option('--json <file>', 'write the full report here')
        .option('--overlays <dir>', 'write overlays: green = right, red = extra, blue = missed')
        .option('--sets <names>', 'comma-separated: frontal02-train, multipose01-train, cihp, people, small, groups')
        .addOption(new Option('--split <part>', 'tune / held-out split of the data (see backend/eval/split.ts)').choices(['heldout', 'tune', 'all']).default('heldout'))
        .option('--no-dark', 'skip the darkened copies (exposure x 0.03 plus sensor noise; the people photos in 3 noise draws each)')
        .option('--no-small', 'skip the rendered scenes of 20-pixel faces in 1920x1080')
        .option('--no-groups', 'skip the rendered group photos (1-6 people in 1080x1080 to 1920x1080)')
        .option('--no-tone', 'skip the FASSEG copies with the skin darkened to ITA -50 and -75, and those with the hair in the skin\'s colour')
        .option('--learn <k>', 'simulate active learning instead: learn from K labelled images per set, score the rest before and after', wholeNumber('--learn', 2))
        .addOption(new Option('--convention <name>', 'with --learn: what the simulated labelers call a face').choices(['face', 'face+ears', 'head']).default('face'))
        .addOption(new Option('--learn-split <kind>', 'with --learn: K random images, K images of two people (one fold per pair), or both').choices(['random', 'person', 'both']).default('both'))
        .option('--seed <n>', 'with --learn: seed of the random choices', wholeNumber('--seed', 0), 1)
        .option('--fit-prior <file>', 'instead: fit a refiner prior for turned faces on the tune split and write it here, to measure with REFINER_PRIOR=<file> (FASSEG is for evaluation only: never serve it)')
        .option('-q, --quiet', 'no progress bar'),
    ),
  ).action(async (opts: EvalFlags) => {
    // read once: the engine applies the prior, and --learn's refiners must beat that same one
    const config = loadConfig();
    const prior = configuredPrior(config);
    const engine = await engineFrom(opts, config, prior);
    try {
      const report = opts.fitPrior ? await writePrior(engine, opts, opts.fitPrior) : opts.learn !== undefined ? await learnSim(engine, opts, opts.learn, prior) : await evaluate(engine, opts);
      if (opts.json) await writeFile(opts.json, JSON.stringify(report, null, 2));
    } finally {
      await engine.close();
    }
  });
}

const setList = (sets: string | undefined): string[] | undefined => sets?.split(',').map((s) => s.trim());

/** The quality eval: prints its tables, returns the full report. */
async function evaluate(engine: FaceEngine, opts: EvalFlags): Promise<object> {
  const { runEval, formatTable } = await import('../../eval/run-eval.js');
  const { formatUncertainty } = await import('../../eval/uncertainty.js');
  const report = await runEval(engine, opts.data, {
    overlays: opts.overlays,
    sets: setList(opts.sets),
    quiet: opts.quiet,
    split: opts.split,
    dark: opts.dark,
    small: opts.small,
    groups: opts.groups,
    tone: opts.tone,
  });
  process.stdout.write(`model_version ${report.modelVersion}  split ${report.split}\n${formatTable(report.summary)}\n\n${formatUncertainty(report.uncertainty.figures)}\n`);
  return report;
}

/** --learn K: the active-learning simulation; prints its table, returns the full report. */
async function learnSim(engine: FaceEngine, opts: EvalFlags, k: number, prior: RefinerModel | null): Promise<object> {
  const { runLearnSim, formatLearnSim } = await import('../../eval/learn-sim.js');
  const report = await runLearnSim(engine, opts.data, {
    k,
    convention: opts.convention,
    splits: opts.learnSplit === 'both' ? ['random', 'person'] : [opts.learnSplit],
    seed: opts.seed,
    sets: setList(opts.sets),
    prior,
    quiet: opts.quiet,
  });
  process.stdout.write(`model_version ${report.modelVersion}\n${formatLearnSim(report)}\n`);
  return report;
}

/** --fit-prior FILE: the refiner prior fitted on the tune split, written as JSON. */
async function writePrior(engine: FaceEngine, opts: EvalFlags, file: string): Promise<object> {
  const { fitPrior } = await import('../../eval/prior-fit.js');
  const fit = await fitPrior(engine, opts.data, opts.quiet);
  await writeFile(file, `${JSON.stringify(fit.model)}\n`);
  const n = Object.entries(fit.examples).map(([set, k]) => `${k} ${set}`).join(', ');
  process.stdout.write(`refiner prior: ${fit.model.examples} examples from tune faces (${n}), trained in ${fit.trainMs} ms, written to ${file}\n`);
  process.stdout.write(`measure it: REFINER_PRIOR=${file} faceseg eval --data ${opts.data} (an evaluation artefact: FASSEG is licensed for evaluation only)\n`);
  return { examples: fit.examples, trainMs: fit.trainMs };
}
