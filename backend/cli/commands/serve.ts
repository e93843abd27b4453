// `faceseg serve`: the Label Studio ML backend.
import type { Command } from 'commander';

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the Label Studio ML backend (HTTP, port 9090 by default)')
    .action(async () => {
      const { serve } = await import('../serve.js');
      await serve();
    });
}
