#!/usr/bin/env node
// faceseg: the command-line front of the engine. Each command is one file in
// ./commands (flags, help, exit codes) over a module that does the work.
// The benchmark is not a command of the product: `npm run bench` (bench/cli.ts).
import { Command } from 'commander';
import { addAnonymizeCommand } from './commands/anonymize.js';
import { addEvalCommand } from './commands/eval.js';
import { addPredictCommand } from './commands/predict.js';
import { addPriorCommand } from './commands/prior.js';
import { addSegmentCommand } from './commands/segment.js';
import { addServeCommand } from './commands/serve.js';
import { EXIT, SETUP_ERRORS, usageError, usageExits } from './usage.js';

const program = new Command();
// an unknown command or a bad root flag exits 2 like every command's bad arguments
usageExits(program)
  .name('faceseg')
  .description('Face masks for Label Studio: an ML backend server and the tools around it.')
  .addHelpText(
    'after',
    `
Exit codes: 0 all done, 1 some images or tasks failed (see the summary),
2 bad arguments, 3 could not start (config, models), 130 interrupted.
Configuration comes from environment variables (see README), e.g.
LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY, EXECUTION_PROVIDER=cpu|cuda|auto.
The benchmark runs from a checkout: npm run bench (see bench/README.md).`,
  );

for (const add of [addServeCommand, addSegmentCommand, addEvalCommand, addPredictCommand, addAnonymizeCommand, addPriorCommand]) add(program);
// `faceseg bench` was a command before the benchmark left the product: say where it went
program
  .command('bench', { hidden: true })
  .allowUnknownOption()
  .allowExcessArguments()
  .action(() => usageError('the benchmark is not part of faceseg: run `npm run bench` in a checkout of the repository (see bench/README.md)'));

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as Error;
  process.stderr.write(`faceseg: ${err.message}\n`);
  process.exit(SETUP_ERRORS.includes(err.name) ? EXIT.setup : EXIT.failures);
});
