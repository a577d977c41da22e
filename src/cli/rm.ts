import type { Command } from 'commander';
import { eachName } from './common.js';

export function register(program: Command): void {
  program
    .command('rm')
    .description('Remove one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-f, --force', 'kill and remove a running container')
    .option('-v, --volumes', 'remove the container\'s anonymous volumes too')
    .action(async (names: string[], flags: { force?: boolean; volumes?: boolean }) => {
      await eachName(names, async (svc, name) => {
        await svc.containers.remove(name, { force: !!flags.force, volumes: !!flags.volumes });
        return name;
      });
    });
}
