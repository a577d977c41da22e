import type { Command } from 'commander';
import { services } from './common.js';
import { LineBlock, palette, progressText } from './progress-lines.js';
import { addRegistryOptions, registryOptions, type RegistryFlags } from './registry-options.js';

export function register(program: Command): void {
  addRegistryOptions(program
    .command('push')
    .description('Upload an image to a registry')
    .usage('[OPTIONS] IMAGE [DESTINATION]')
    .argument('<image>', 'local image name or id')
    .argument('[destination]', 'where to push (default: the image name)')
    .option('-q, --quiet', 'print nothing but errors'))
    .action(async (image: string, dest: string | undefined, flags: RegistryFlags & { quiet?: boolean }) => {
      const { images } = await services();
      const say = (s: string) => { if (!flags.quiet) process.stdout.write(`${s}\n`); };
      // Docker's push output: a line per layer, on a terminal redrawn in place with its progress.
      const block = flags.quiet ? undefined : new LineBlock(process.stdout);
      const green = palette(process.stdout).green;
      const r = await images.push(image, dest, registryOptions(flags), (e) => {
        if (e.type === 'start') say(`The push refers to repository [${e.host}/${e.path}]`);
        if (e.type === 'blob') {
          block?.set(e.digest.slice(7, 19), e.state === 'exists' ? 'Layer already exists' : e.state === 'mounted' ? `Mounted from ${e.from}` : green('Pushed'), true);
        }
        if (e.type === 'progress' && block?.tty) block.set(e.digest.slice(7, 19), progressText('Pushing', e.bytes, e.total, block.columns()), false);
      });
      block?.flush();
      say(`${r.name.slice(r.name.lastIndexOf(':') + 1)}: digest: ${r.digest} size: ${r.size}`);
    });
}
