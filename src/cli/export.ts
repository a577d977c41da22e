import { closeSync, openSync } from 'node:fs';
import type { Command } from 'commander';
import { exportContainer } from '../engine/container-export.js';
import { containerStore } from '../engine/container-state.js';
import { EngineError } from '../engine/errors.js';
import { openEngine } from './common.js';
import { dockerStatus } from './daemon-errors.js';

export function register(program: Command): void {
  program
    .command('export')
    .description('Export a container\'s filesystem as a tar archive (to stdout, or -o FILE)')
    .argument('<container>', 'container name or id')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action((name: string, flags: { output?: string }) => dockerStatus(async () => {
      if (!flags.output && process.stdout.isTTY) throw new EngineError('cowardly refusing to save to a terminal: use the -o flag or redirect', 1);
      const engine = await openEngine();
      const rec = containerStore(engine).resolve(name);
      const fd = flags.output ? openSync(flags.output, 'w', 0o644) : 1;
      try {
        await exportContainer(engine, rec, fd);
      } finally {
        if (fd !== 1) closeSync(fd);
      }
    }));
}
