import type { Command } from 'commander';
import { services } from './common.js';
import { dockerStatus } from './daemon-errors.js';

/** Docker prints `top` through a tabwriter with cells of at least 20 columns. */
function wideTable(titles: string[], rows: string[][]): string {
  const widths = titles.map((t, i) => Math.max(20, t.length + 3, ...rows.map((r) => (r[i] ?? '').length + 3)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('').trimEnd();
  return [line(titles), ...rows.map(line)].join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('top')
    .description('Display the running processes of a container (host PIDs; users as the container names them)')
    .usage('CONTAINER [ps OPTIONS]')
    .argument('<container>', 'container name or id')
    .argument('[ps-options...]', 'options for the host\'s ps (default: ps -ef\'s columns)')
    .passThroughOptions()
    .action((name: string, psArgs: string[]) => dockerStatus(async () => {
      const t = await (await services()).containers.top(name, psArgs);
      process.stdout.write(wideTable(t.titles, t.processes));
    }));
}
