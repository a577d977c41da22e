import type { Command } from 'commander';
import { parseInteger } from '../util/values.js';
import { services } from './common.js';
import { valueOption } from './flag-values.js';
import { addRegistryOptions, registryOptions, type RegistryFlags } from './registry-options.js';
import { tabwrite } from './tabwriter.js';

/** `search REGISTRY/TERM`: the repositories of a registry's catalog whose names contain TERM, in Docker's table. */
export function register(program: Command): void {
  addRegistryOptions(program
    .command('search')
    .description('List the repositories of a registry whose names contain TERM (from its catalog)')
    .usage('[OPTIONS] REGISTRY/TERM')
    .argument('<term>', 'REGISTRY/TERM, e.g. localhost:5000/busy')
    .addOption(valueOption('--limit <number>', 'at most this many results (1 to 100; default 25)', (v, flag) => parseInteger(v, flag, 1)))
    .addHelpText('after', `
Registries have no search of their own: a registry that lists its
repositories (GET /v2/_catalog, as local ones do) is searched by name.
There is no description, star count or official mark to show.`))
    .action(async (term: string, flags: RegistryFlags & { limit?: number }) => {
      const found = await (await services()).images.search(term, { ...registryOptions(flags), ...(flags.limit !== undefined ? { limit: flags.limit } : {}) });
      process.stdout.write(tabwrite(['NAME\tDESCRIPTION\tSTARS\tOFFICIAL', ...found.map((r) => `${r.name}\t\t0\t`)].join('\n') + '\n'));
    });
}
