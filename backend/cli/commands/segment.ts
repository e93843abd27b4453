// `faceseg segment`: flags and exit code; the work is in ../segment.ts.
import type { Command } from 'commander';
import { loadConfig } from '../../compose.js';
import { engineFrom, engineOptions, type EngineFlags } from '../engine-flags.js';
import { findSegmentInputs, noImagesMessage, runSegment } from '../segment.js';
import { EXIT, orUsageError, positiveInt, usageExits } from '../usage.js';

interface SegmentFlags extends EngineFlags {
  out: string;
  overlays?: boolean;
  quiet?: boolean;
  batch?: number;
}

export function addSegmentCommand(program: Command): void {
  engineOptions(
    usageExits(
      program
        .command('segment')
        .description('write NAME.EXT.mask.png (255 = face) and NAME.EXT.json (faces: box, score, keypoints, source) for each image')
        .argument('<inputs...>', 'image files or folders (searched recursively)')
        .requiredOption('-o, --out <dir>', 'output folder (sub-folders of input folders are kept; inside an input folder, it is skipped when looking for images)')
        .option('--overlays', 'also write NAME.EXT.overlay.jpg for a person to look at')
        .option('--batch <n>', 'images whose face crops share one pass of the face models (default 4)', positiveInt('--batch'))
        .option('-q, --quiet', 'no progress bar'),
    ),
  ).action(async (inputs: string[], opts: SegmentFlags) => {
    const images = await orUsageError(() => findSegmentInputs(inputs, opts.out));
    // said before the models load (seconds), as anonymize does: a script must not take an empty input for a finished job
    if (images.length === 0) {
      process.stderr.write(`faceseg: ${noImagesMessage(inputs)}\n`);
      process.exitCode = EXIT.failures;
      return;
    }
    const config = loadConfig();
    const engine = await engineFrom(opts, config);
    try {
      const r = await runSegment(engine, inputs, { ...opts, maxPixels: config.limits.maxImagePixels }, images);
      process.stderr.write(`segmented ${r.done} image(s), ${r.failed.length} failed\n`);
      for (const f of r.failed) process.stderr.write(`  ${f.file}: ${f.error}\n`);
      process.exitCode = r.failed.length ? EXIT.failures : EXIT.ok;
    } finally {
      await engine.close();
    }
  });
}
