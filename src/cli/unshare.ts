import type { Command } from 'commander';
import { services } from './common.js';
import { processContext } from './process-context.js';

export function register(program: Command): void {
  program
    .command('unshare')
    .description('Run a command (default: your shell) inside your user namespace, as its root')
    .usage('[COMMAND [ARG...]]')
    .argument('[command...]')
    .passThroughOptions()
    .action(async (command: string[]) => {
      const svc = await services();
      // The command runs in our process group, so an interactive shell keeps the terminal: its Ctrl-C is not ours.
      const ignore = () => {};
      process.on('SIGINT', ignore);
      process.on('SIGQUIT', ignore);
      try {
        process.exitCode = await svc.system.unshare(command, processContext());
      } finally {
        process.off('SIGINT', ignore);
        process.off('SIGQUIT', ignore);
      }
    });
}
