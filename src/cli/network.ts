import type { Command } from 'commander';
import type { NetworkDetails } from '../engine/index.js';
import { checkAlias, NetworkNotFoundError, NetworkService, parseSubnet } from '../engine/index.js';
import { EngineError } from '../util/errors.js';
import { parseLabels } from '../grammar/create-flags.js';
import { parseChoice, parseIp } from '../util/values.js';
import { checkedOption, listOption } from './flag-values.js';
import { collect, confirm, eachName, services } from './common.js';
import { formatEach, formatList, type ListKind } from './list-format.js';
import { goTimeString } from './ps-format.js';
import { networkDoc } from '../docker/network.js';

const LS: ListKind = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
  headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' },
};

function lsRow(n: NetworkDetails, trunc: boolean) {
  return {
    ID: trunc ? n.id.slice(0, 12) : n.id,
    Name: n.name,
    Driver: n.driver,
    Scope: n.scope,
    IPv6: String(n.enableIPv6),
    Internal: String(n.internal),
    Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(','),
    CreatedAt: goTimeString(n.created),
  };
}


export function register(program: Command): void {
  const net = program.command('network').description('Manage networks (containers on one network find each other by name)').usage('COMMAND');

  net.command('create')
    .description('Create a network')
    .usage('[OPTIONS] NETWORK')
    .argument('<name>')
    .addOption(checkedOption('-d, --driver <driver>', 'driver (bridge)', (v, flag) => parseChoice(v, flag, ['bridge'], 'a supported network driver')).default('bridge'))
    .addOption(checkedOption('--subnet <cidr>', 'IPv4 subnet, e.g. 10.90.0.0/24 (default: the next free 10.89.N.0/24)', (v) => parseSubnet(v)))
    .addOption(checkedOption('--gateway <ip>', 'the bridge\'s address in the subnet (default: its first)', parseIp))
    .option('--internal', 'no way out: containers reach only each other')
    .addOption(listOption('--label <KEY=VALUE>', 'set a label', (v) => parseLabels([v])))
    .action(async (name: string, f: { driver: string; subnet?: string; gateway?: string; internal?: boolean; label?: string[] }) => {
      const n = await (await services()).networks.create({ name, driver: f.driver, subnet: f.subnet, gateway: f.gateway, internal: !!f.internal, labels: parseLabels(f.label ?? []) });
      process.stdout.write(`${n.id}\n`);
    });

  net.command('ls').alias('list')
    .description('List networks')
    .option('-q, --quiet', 'only ids')
    .option('-f, --filter <KEY=VALUE>', 'filter: driver, id, label, name, scope, type (custom|builtin), dangling', collect)
    .option('--format <template>', 'Go template, table, or json')
    .option('--no-trunc', 'full ids')
    .action(async (f: { quiet?: boolean; filter?: string[]; format?: string; trunc?: boolean }) => {
      const rows = (await (await services()).networks.list({ filters: f.filter ?? [] })).map((n) => lsRow(n, f.trunc !== false));
      process.stdout.write(f.quiet ? rows.map((r) => `${r.ID}\n`).join('') : formatList(f.format, rows, LS));
    });

  net.command('inspect')
    .description('Show networks in detail (JSON)')
    .usage('[OPTIONS] NETWORK [NETWORK...]')
    .argument('<network...>')
    .option('-f, --format <template>', 'Go template, or json (the default document)')
    .action(async (names: string[], f: { format?: string }) => {
      const { networks } = await services();
      const found: unknown[] = [];
      const missing: string[] = [];
      for (const n of names) {
        try {
          found.push(networkDoc(await networks.inspect(n)));
        } catch (err) {
          if (!(err instanceof NetworkNotFoundError)) throw err;
          missing.push(n);
        }
      }
      process.stdout.write(f.format && f.format !== 'json' ? formatEach(f.format, found) : `${JSON.stringify(found, null, 4)}\n`);
      if (missing.length) throw new EngineError(missing.map((m) => `network ${m} not found`).join('\n'), 1);
    });

  net.command('rm').alias('remove')
    .description('Remove networks (refused while containers use them)')
    .usage('[OPTIONS] NETWORK [NETWORK...]')
    .argument('<network...>')
    .option('-f, --force', 'do not fail when a network does not exist')
    .action(async (names: string[], f: { force?: boolean }) => {
      const { networks } = await services();
      await eachName(names, async (_svc, name) => ((await networks.remove(name, { force: f.force })).removed ? name : undefined));
    });

  net.command('prune')
    .description('Remove every network no container uses')
    .option('-f, --force', 'do not ask for confirmation')
    .option('--filter <label=KEY[=VALUE]>', 'only networks with this label', collect)
    .action(async (f: { force?: boolean; filter?: string[] }) => {
      NetworkService.checkPruneFilters(f.filter ?? []);
      if (!f.force && !(await confirm('WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] '))) return;
      const removed = (await (await services()).networks.prune({ filters: f.filter ?? [] })).deleted;
      if (removed.length) process.stdout.write(`Deleted Networks:\n${removed.join('\n')}\n`);
    });

  net.command('connect')
    .description('Connect a container to a network (at once when it runs)')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<network>')
    .argument('<container>')
    .addOption(listOption('--alias <name>', 'another name the container is found by on this network', checkAlias))
    .action(async (network: string, container: string, f: { alias?: string[] }) => {
      await (await services()).networks.connect(network, container, { aliases: f.alias ?? [] });
    });

  net.command('disconnect')
    .description('Disconnect a container from a network')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'accepted for Docker compatibility')
    .action(async (network: string, container: string, f: { force?: boolean }) => {
      await (await services()).networks.disconnect(network, container, { force: f.force });
    });
}
