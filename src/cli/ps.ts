import type { Command } from 'commander';
import { parseInteger } from '../util/values.js';
import { valueOption } from './flag-values.js';
import { collect, services } from './common.js';
import { formatList } from './list-format.js';
import { psRow, psTableFormat, PS_KIND } from './ps-format.js';

interface PsFlags {
  all?: boolean;
  quiet?: boolean;
  trunc: boolean;
  last?: number;
  latest?: boolean;
  size?: boolean;
  filter?: string[];
  format?: string;
}


export function register(program: Command): void {
  program
    .command('ps')
    .description('List containers')
    .option('-a, --all', 'show all containers (default: running only)')
    .option('-f, --filter <KEY=VALUE>', 'filter (repeatable: one key ORs, several keys AND; the keys are listed below)', collect)
    .option('--format <template>', 'format with a Go template (e.g. \'table {{.ID}}\\t{{.Names}}\'), or json')
    .addOption(valueOption('-n, --last <n>', 'show the n last created containers, whatever their state (-1: all)', (v, flag) => parseInteger(v, flag, -1)))
    .option('-l, --latest', 'show the latest created container, whatever its state')
    .option('--no-trunc', 'do not truncate output')
    .option('-q, --quiet', 'only print container ids')
    .option('-s, --size', 'show the size of what each container wrote (and, as virtual, with its image)')
    .addHelpText('after', `
Filters (-f KEY=VALUE, repeatable: values of one key OR, different keys AND):
  id=ID                   the id matches (a regular expression, as Docker's)
  name=NAME               the name matches (a regular expression)
  label=KEY[=VALUE]       has the label (every label= must match)
  status=STATE            created, restarting, running, removing, paused, exited or dead
  exited=CODE             exited with that code
  ancestor=IMAGE          made from that image (name or id)
  before=CONTAINER        created before that container
  since=CONTAINER         created after that container
  volume=NAME|PATH        mounts that volume, host path or container path
  network=NAME            attached to that network
  health=STATE            starting, healthy, unhealthy or none
  publish=PORT[/PROTO]    publishes that container port (or a range FROM-TO)
  expose=PORT[/PROTO]     exposes that port (or a range FROM-TO)
  is-task=true|false      Docker's swarm tasks: rootlet has none (false matches all)
  isolation=default       Docker's Windows isolation: always default here
Template fields: .ID .Image .Command .CreatedAt .RunningFor .Ports .Status .State .Size .Names
.Labels .Label "KEY" .Mounts .LocalVolumes .Networks; {{json .}} prints them all.`)
    .action(async (flags: PsFlags) => {
      const format = flags.quiet ? '{{.ID}}' : flags.format;
      const size = !!flags.size || (!flags.quiet && /\.Size\b/.test(flags.format ?? ''));
      const rows = await (await services()).containers.list({
        all: flags.all,
        last: flags.latest ? 1 : flags.last,
        filters: flags.filter,
        size,
      });
      const now = Date.now();
      const kind = { ...PS_KIND, table: psTableFormat(!!flags.size) };
      process.stdout.write(formatList(format, rows.map((r) => psRow(r, { trunc: flags.trunc, now })), kind));
    });
}
