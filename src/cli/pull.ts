import { parsePlatform } from '../engine/index.js';
import type { Command } from 'commander';
import { services } from './common.js';
import { checkedOption } from './flag-values.js';
import { addRegistryOptions, registryOptions, type RegistryFlags } from './registry-options.js';

interface PullFlags extends RegistryFlags {
  quiet?: boolean;
  allTags?: boolean;
  platform?: string;
  remapOutsideIds?: boolean;
}

export function register(program: Command): void {
  addRegistryOptions(program
    .command('pull')
    .description('Download an image from a registry')
    .usage('[OPTIONS] NAME[:TAG|@DIGEST]')
    .argument('<name>')
    .option('-q, --quiet', 'print only the image name')
    .option('-a, --all-tags', 'download every tag of the repository')
    .addOption(checkedOption('--platform <os/arch[/variant]>', 'which image of a multi-platform index (default: this host\'s)', (v) => parsePlatform(v)))
    .option('--remap-outside-ids', 'give files owned by ids outside your subordinate range to root instead of failing'))
    .action(async (name: string, flags: PullFlags) => {
      const { images } = await services();
      const { pullRenderer } = await import('./pull-output.js');
      await images.pull(name, { ...registryOptions(flags), platform: flags.platform, remapOutsideIds: flags.remapOutsideIds, allTags: !!flags.allTags }, pullRenderer({ quiet: !!flags.quiet, out: process.stdout }));
    });
}
