// `faceseg prior`: flags and printing; the work is in learning/team-prior.ts.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { openStore, redactDbUrl } from '../../learning/store.js';
import { fitTeamPrior } from '../../learning/team-prior.js';
import { EXIT, usageExits } from '../usage.js';

interface PriorFlags {
  out: string;
  projects?: string;
}

export function addPriorCommand(program: Command): void {
  usageExits(program.command('prior'))
    .description("fit a refiner prior on the corrections in LEARNING_DB (all projects, or --projects): serve it with REFINER_PRIOR=<file> so new projects start from them")
    .requiredOption('-o, --out <file>', 'where to write the prior (JSON)')
    .option('--projects <ids>', 'comma-separated Label Studio project ids whose labelers share one idea of a face (default: every project)')
    .action(async (opts: PriorFlags) => {
      const config = loadConfig();
      const store = await openStore(config.learning.db);
      try {
        const projects = opts.projects?.split(',').map((p) => p.trim()).filter(Boolean);
        const fit = await fitTeamPrior(store, projects ? { projects } : {});
        const per = Object.entries(fit.projects).map(([p, n]) => `${p}: ${n}`).join(', ') || 'none';
        process.stderr.write(`corrected faces from ${redactDbUrl(config.learning.db)} (project: faces): ${per}\n`);
        const r = fit.report;
        // without held-out corrections there is no IoU to show (NaN)
        const iou = (x: number): string => (Number.isFinite(x) ? String(x) : 'n/a');
        process.stderr.write(`held-out corrections: ${r.heldOut}, IoU engine ${iou(r.iouCurrent)} -> prior ${iou(r.iouCandidate)}; ${r.reason}\n`);
        if (!fit.model) {
          process.stderr.write('no prior written\n');
          process.exitCode = EXIT.failures;
          return;
        }
        await writeFile(opts.out, `${JSON.stringify(fit.model)}\n`);
        process.stderr.write(`prior written to ${opts.out}: serve it with REFINER_PRIOR=${opts.out}\n`);
      } finally {
        await store.close();
      }
    });
}
