import type { Command } from 'commander';
import { services } from './common.js';
import { dockerStatus } from './daemon-errors.js';

export function register(program: Command): void {
  program
    .command('diff')
    .description('Inspect changes to files or directories on a container\'s filesystem: A added, C changed, D deleted')
    .argument('<container>', 'container name or id')
    .action((name: string) => dockerStatus(async () => {
      const changes = await (await services()).containers.diff(name);
      process.stdout.write(changes.map((c) => `${c.kind} ${c.path}\n`).join(''));
    }));
}
