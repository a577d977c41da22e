import type { Command } from 'commander';
import { collect, confirm, services } from './common.js';
import { humanSize } from './format.js';

/** `image prune`. */
export function defineImagePrune(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Remove images that no container uses: those without a name, or all of them with -a')
    .option('-a, --all', 'remove all images no container uses, not only those without a name')
    .option('--filter <KEY=VALUE>', 'only images that match: until=TIME (a duration like 24h, a Unix time or a date), label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)', collect)
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (flags: { all?: boolean; filter?: string[]; force?: boolean }) => {
      const warning = flags.all
        ? 'WARNING! This will remove all images without at least one container associated to them.'
        : 'WARNING! This will remove all dangling images.';
      // A bad filter is refused before asking.
      const r = await (await services()).images.prune({
        all: flags.all,
        filters: flags.filter,
        ...(flags.force ? {} : { confirm: () => confirm(`${warning}\nAre you sure you want to continue? [y/N] `) }),
      });
      if (!r) return;
      const lines = [...r.untagged.map((u) => `untagged: ${u}`), ...r.deleted.map((d) => `deleted: ${d}`)];
      const list = lines.length ? `Deleted Images:\n${lines.join('\n')}\n\n` : '';
      process.stdout.write(`${list}Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
    });
}
