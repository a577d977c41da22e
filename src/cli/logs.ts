import type { Command } from 'commander';
import { invalid, parseInteger, parseTimestamp } from '../util/values.js';
import { services } from './common.js';
import { processContext } from './process-context.js';
import { valueOption } from './flag-values.js';

/** --tail: a number of lines, or all. */
function parseTail(v: string, flag: string): number | 'all' {
  if (v === 'all') return 'all';
  if (!/^\d+$/.test(v.trim())) return invalid(flag, v, 'not a number of lines: use a whole number of 0 or more, or all');
  return parseInteger(v, flag, 0);
}

export function register(program: Command): void {
  program
    .command('logs')
    .description('Print a container\'s output, also after it exited (with --rm, foreground output is not kept)')
    .argument('<container>')
    .option('-f, --follow', 'keep printing new output until the container ends')
    .addOption(valueOption('--tail <n>', 'only the last n lines ("all" for every line)', parseTail).default('all'))
    .addOption(valueOption('--since <time>', 'only output since a time (RFC 3339, Unix time, or a duration such as 10m)', (v, flag) => parseTimestamp(v, flag)))
    .addOption(valueOption('--until <time>', 'only output before a time', (v, flag) => parseTimestamp(v, flag)))
    .option('-t, --timestamps', 'print the time of each line')
    .action(async (name: string, flags: { follow?: boolean; tail: number | 'all'; since?: number; until?: number; timestamps?: boolean }) => {
      await (await services()).containers.logs(name, {
        follow: !!flags.follow,
        tail: flags.tail === 'all' ? undefined : flags.tail,
        since: flags.since,
        until: flags.until,
        timestamps: !!flags.timestamps,
      }, processContext());
    });
}
