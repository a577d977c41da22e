import type { Command } from 'commander';
import type { Volume } from '../engine/index.js';
import { parseLabels } from '../grammar/create-flags.js';
import { parseChoice } from '../util/values.js';
import { checkedOption, listOption } from './flag-values.js';
import { collect, confirm, eachName, services } from './common.js';
import { humanSize } from './format.js';
import { formatList, type ListKind } from './list-format.js';
import { printInspected } from './inspect.js';
import { rfc3339, volumeDoc } from '../docker/volume.js';

/** `volume ls`'s columns and the headers of its template fields, as Docker names them. */
export const VOLUME_LS: ListKind = {
  table: 'table {{.Driver}}\t{{.Name}}',
  headers: {
    Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE',
    CreatedAt: 'CREATED AT', Label: (k: string) => k.toUpperCase(),
  },
};


/** A `volume ls` row: the fields Docker's volume formatter has (its Size is only known with -v on `system df`). */
export function volumeRow(v: Volume) {
  return {
    Name: v.name,
    Driver: v.driver,
    Scope: v.scope,
    Mountpoint: v.mountpoint,
    Labels: Object.entries(v.labels).map(([k, val]) => `${k}=${val}`).join(','),
    Links: String(v.usedBy.length),
    Size: 'N/A',
    CreatedAt: rfc3339(v.createdAt),
    Label: (k: string) => v.labels[k] ?? '',
  };
}


function parseOpts(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of list) {
    const i = o.indexOf('=');
    out[i < 0 ? o : o.slice(0, i)] = i < 0 ? '' : o.slice(i + 1);
  }
  return out;
}

export function register(program: Command): void {
  const vol = program.command('volume').description('Manage volumes (create, ls, inspect, rm, prune)').usage('COMMAND');

  vol.command('create')
    .description('Create a volume; prints its name (one is made up without NAME)')
    .usage('[OPTIONS] [VOLUME]')
    .argument('[name]')
    .addOption(checkedOption('-d, --driver <driver>', 'volume driver (local: a directory of the store)', (v, flag) => parseChoice(v, flag, ['local'], 'a volume driver')).default('local'))
    .addOption(listOption('--label <KEY=VALUE>', 'set a label (repeatable)', (v) => parseLabels([v])))
    .option('-o, --opt <KEY=VALUE>', 'a driver option (the local driver of rootlet takes none: refused)', collect)
    .action(async (name: string | undefined, f: { label?: string[]; opt?: string[] }) => {
      const v = await (await services()).volumes.create({ name, labels: parseLabels(f.label ?? []), options: parseOpts(f.opt ?? []) });
      process.stdout.write(`${v.name}\n`);
    });

  vol.command('ls').alias('list')
    .description('List volumes')
    .option('-q, --quiet', 'only names')
    .option('-f, --filter <KEY=VALUE>', 'filter: dangling=true|false, driver, label=KEY[=VALUE], name (repeatable)', collect)
    .option('--format <template>', 'Go template, table, or json')
    .addHelpText('after', '\nTemplate fields: .Name .Driver .Scope .Mountpoint .Labels .Label "KEY" .Links .Size .CreatedAt')
    .action(async (f: { quiet?: boolean; filter?: string[]; format?: string }) => {
      const rows = (await (await services()).volumes.list({ filters: f.filter ?? [] })).map(volumeRow);
      process.stdout.write(f.quiet ? rows.map((r) => `${r.Name}\n`).join('') : formatList(f.format, rows, VOLUME_LS));
    });

  vol.command('inspect')
    .description('Show one or more volumes as JSON')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<name...>')
    .option('-f, --format <template>', 'format each with a Go template, e.g. \'{{.Mountpoint}}\'')
    .action(async (names: string[], f: { format?: string }) => {
      const { volumes } = await services();
      // json is the default document here.
      await printInspected(names, async (n) => volumeDoc(await volumes.inspect(n)), f.format === 'json' ? undefined : f.format);
    });

  vol.command('rm').alias('remove')
    .description('Remove one or more volumes (refused while a container, running or not, uses one)')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<name...>')
    .option('-f, --force', 'a name that does not exist is no error')
    .action(async (names: string[], f: { force?: boolean }) => {
      await eachName(names, async (svc, name) => {
        const { removed } = await svc.volumes.remove(name, { force: f.force });
        return removed ? name : undefined;
      });
    });

  vol.command('prune')
    .description('Remove the anonymous volumes no container uses (every unused one with -a)')
    .option('-a, --all', 'named volumes too')
    .option('--filter <KEY=VALUE>', 'only volumes that match: label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)', collect)
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (f: { all?: boolean; filter?: string[]; force?: boolean }) => {
      const warning = f.all
        ? 'WARNING! This will remove all local volumes not used by at least one container.'
        : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
      const r = await (await services()).volumes.prune({
        filters: [...(f.filter ?? []), ...(f.all ? ['all=true'] : [])],
        ...(f.force ? {} : { confirm: () => confirm(`${warning}\nAre you sure you want to continue? [y/N] `) }),
      });
      if (!r) return;
      process.stdout.write(`${pruneReport('Deleted Volumes:', r.deleted)}Total reclaimed space: ${humanSize(r.spaceReclaimed)}\n`);
    });
}

/** Docker's list of what a prune removed: the heading and a name a line, then a blank line; nothing when none. */
export function pruneReport(heading: string, names: string[]): string {
  return names.length ? `${heading}\n${names.join('\n')}\n\n` : '';
}
