import type { Command } from 'commander';
import { collect, confirm, services } from './common.js';
import { humanSize } from './format.js';
import { pruneReport } from './volume.js';

/** `container prune` (also reached by `system prune`'s first step, in the engine). */
export function register(parent: Command): void {
  parent
    .command('prune')
    .description('Remove all stopped containers (created or exited)')
    .option('--filter <KEY=VALUE>', 'only containers that match: until=TIME (a duration like 24h, a Unix time or a date), label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)', collect)
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (flags: { filter?: string[]; force?: boolean }) => {
      // A bad filter is refused before asking.
      const r = await (await services()).containers.prune({
        filters: flags.filter,
        ...(flags.force ? {} : { confirm: () => confirm('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ') }),
      });
      if (!r) return;
      process.stdout.write(`${pruneReport('Deleted Containers:', r.deleted)}Total reclaimed space: ${humanSize(r.spaceReclaimed)}\n`);
    });
}
