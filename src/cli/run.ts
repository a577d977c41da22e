import type { Command } from 'commander';
import { createContainer } from '../engine/containers/create.js';
import { runForeground } from '../engine/containers/run.js';
import { removeContainer } from '../engine/containers/remove.js';
import { startDetached } from '../engine/containers/start.js';
import { openEngine } from './common.js';
import { ensureImage } from './ensure-image.js';
import { PortError } from '../engine/networks/forwarder.js';
import { addCreateOptions, toCreateOptions, type CreateFlags } from './create-options.js';

export function register(program: Command): void {
  addCreateOptions(program
    .command('run')
    .description('Run a command in a new container')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .helpOption('--help', 'Show help for run')
    .argument('<image>', 'image name or id')
    .argument('[command...]', 'command and arguments (default: the image\'s ENTRYPOINT and CMD)')
    .passThroughOptions()
    .option('-d, --detach', 'run in the background and print the container id'))
    .action(async (image: string, command: string[], flags: CreateFlags & { detach?: boolean }) => {
      const engine = await openEngine();
      const opts = toCreateOptions(await ensureImage(engine, image, flags.pull), command, flags, !!flags.detach);
      if (!flags.detach) {
        process.exitCode = await runForeground(engine, opts);
        return;
      }
      const rec = createContainer(engine, opts);
      try {
        await startDetached(engine, rec);
      } catch (err) {
        // Docker keeps a container that failed to start (status Created), unless --rm;
        // one whose published port is taken is not kept (nothing of `run` remains).
        if (opts.rm || err instanceof PortError) removeContainer(engine, rec, { force: true, volumes: true });
        throw err;
      }
      process.stdout.write(`${rec.id}\n`);
    });
}
