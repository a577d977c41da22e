import type { Command } from 'commander';
import { removeContainer } from '../engine/container-remove.js';
import { containerStore } from '../engine/container-state.js';
import { errorMessage } from '../engine/errors.js';
import { openEngine } from './common.js';

export function register(program: Command): void {
  program
    .command('rm')
    .description('Remove one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-f, --force', 'kill and remove a running container')
    .option('-v, --volumes', 'remove the container\'s anonymous volumes too')
    .action(async (names: string[], flags: { force?: boolean; volumes?: boolean }) => {
      const engine = await openEngine();
      const store = containerStore(engine);
      let failed = false;
      for (const name of names) {
        try {
          removeContainer(engine, store.resolve(name), { force: !!flags.force, volumes: !!flags.volumes });
          process.stdout.write(`${name}\n`);
        } catch (err) {
          // Docker goes on with the others and exits non-zero at the end.
          process.stderr.write(`Error: ${errorMessage(err)}\n`);
          failed = true;
        }
      }
      if (failed) process.exitCode = 1;
    });
}
