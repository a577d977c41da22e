import type { Command } from 'commander';
import { services } from './common.js';

/**
 * `image check [--repair]`, defined on the `image` command group as the
 * other image sub-commands are (`define(parent, name)`).
 */
export function defineImageCheck(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Verify the image store: re-hash every blob, check each image\'s parts, find leftovers of interrupted pulls, and check the state database (`rootlet system recover` rebuilds a damaged one)')
    .option('--repair', 'remove broken blobs, broken images\' records and leftovers, so that a later pull fetches them again')
    .action(async (flags: { repair?: boolean }) => {
      const r = await (await services()).system.imageCheck({ repair: !!flags.repair });
      for (const t of r.reclaimed) process.stdout.write(`removed the leftover of an interrupted write: ${t}\n`);
      for (const p of r.problems) process.stdout.write(`${p.message}${flags.repair && p.repaired ? ': repaired' : ''}\n`);
      const left = r.problems.filter((p) => !p.repaired).length;
      if (!r.problems.length) process.stdout.write(`store is sound: ${r.images} image(s), ${r.blobs} blob(s) verified\n`);
      else if (flags.repair && !left) process.stdout.write(`${r.problems.length} problem(s) repaired\n`);
      process.exitCode = left ? 1 : 0;
    });
}
