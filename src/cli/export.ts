import { closeSync, existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { EngineError } from '../util/errors.js';
import { services } from './common.js';
import { dockerStatus } from './daemon-errors.js';
import { openFile } from './files.js';

export function register(program: Command): void {
  program
    .command('export')
    .description('Export a container\'s filesystem as a tar archive (to stdout, or -o FILE)')
    .argument('<container>', 'container name or id')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (name: string, flags: { output?: string }) => {
      if (!flags.output && process.stdout.isTTY) throw new EngineError('cowardly refusing to save to a terminal: use the -o flag or redirect', 1);
      // Opened before anything else: a path that cannot be written is refused (125) with nothing done.
      const created = !!flags.output && !existsSync(flags.output);
      const fd = flags.output ? openFile(flags.output, 'w') : 1;
      try {
        await dockerStatus(async () => {
          await (await services()).containers.export(name, fd);
        });
      } catch (err) {
        // A file made for an export that failed (no such container) is not left behind.
        if (created) rmSync(flags.output!, { force: true });
        throw err;
      } finally {
        if (fd !== 1) closeSync(fd);
      }
    });
}
