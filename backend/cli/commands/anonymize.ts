// `faceseg anonymize`: flags, help and exit codes; the work is in ../anonymize.ts.
import { Option, type Command } from 'commander';
import { loadConfig } from '../../compose.js';
import { engineFrom, engineOptions, type EngineFlags } from '../engine-flags.js';
import { EXIT, nonNegativeNumber, orUsageError, positiveInt, untilInterrupted, usageExits } from '../usage.js';

interface AnonymizeFlags extends EngineFlags {
  mode: 'blur' | 'pixelate' | 'solid' | 'mask';
  dilate: number;
  feather: number;
  concurrency: number;
  overwrite?: boolean;
  quiet?: boolean;
}

const DESCRIPTION =
  'Copy every image under IN to OUT with the same relative path and format, with each face replaced inside its mask ' +
  '(the face outline, not a box). Outputs are upright: the EXIF orientation is applied to the pixels and the tag is dropped.\n\n' +
  'Next to each output, NAME.EXT.json lists the faces found (box, score, source). OUT/anonymize-report.json lists the ' +
  'images where no face was found (look at those: a face may have been missed) and the files that could not be read.\n\n' +
  'IN is never written to. Running the command again skips outputs that already exist, so an interrupted run continues ' +
  'where it stopped; --overwrite redoes them.';

const HELP_AFTER = `
Examples:
  faceseg anonymize photos/ photos-anon/
  faceseg anonymize photos/ masks/ --mode mask --dilate 0 --feather 0

Exit codes: 0 every image written (or kept), 1 some files failed (see the report) or IN holds no image,
2 bad arguments (including OUT inside IN, or OUT not writable), 3 cannot start (config, models), 130 interrupted.`;

export function addAnonymizeCommand(program: Command): void {
  engineOptions(
    usageExits(
      program
        .command('anonymize')
        .summary('copy a folder of images with every face blurred, pixelated or painted over')
        .description(DESCRIPTION)
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
        .addHelpText('after', HELP_AFTER),
    ),
  ).action(anonymizeAction);
}

async function anonymizeAction(inDir: string, outDir: string, opts: AnonymizeFlags): Promise<void> {
  const { runAnonymize, checkFolders, formatAnonymizeSummary } = await import('../anonymize.js');
  await orUsageError(() => checkFolders(inDir, outDir));
  const config = loadConfig();
  const engine = await engineFrom(opts, config);
  const run = async (signal: AbortSignal): Promise<void> => {
    const report = await runAnonymize(engine, inDir, outDir, {
      mode: opts.mode,
      dilate: opts.dilate,
      feather: opts.feather,
      concurrency: opts.concurrency,
      overwrite: opts.overwrite,
      quiet: opts.quiet,
      signal,
      maxPixels: config.limits.maxImagePixels,
    });
    process.stderr.write(`${formatAnonymizeSummary(report)}\n`);
    // an empty IN (a typo, an unmounted volume) must not pass for a finished job in a script
    process.exitCode = report.interrupted ? EXIT.interrupted : report.failed.length || report.images === 0 ? EXIT.failures : EXIT.ok;
  };
  await untilInterrupted('images', run, () => engine.close());
}
