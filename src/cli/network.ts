import type { Command } from 'commander';
import { containerStore } from '../engine/containers/state.js';
import { EngineError } from '../util/errors.js';
import { parseLabels } from '../grammar/create-flags.js';
import {
  connectNetwork, createNetwork, disconnectNetwork, inspectNetwork, labelMatches, listNetworks, pruneNetworks, removeNetwork,
} from '../engine/networks/lifecycle.js';
import { DEFAULT_NETWORK, NetworkStore, type NetworkRecord } from '../engine/networks/store.js';
import { checkAlias } from '../engine/networks/options.js';
import { parseSubnet } from '../engine/networks/subnet.js';
import { parseChoice, parseIp } from '../util/values.js';
import { checkedOption, listOption } from './flag-values.js';
import { collect, confirm, eachName, openEngine } from './common.js';
import { formatEach, formatList, type ListKind } from './list-format.js';
import { goTimeString } from './ps-format.js';

const LS: ListKind = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
  headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' },
};

function lsRow(n: NetworkRecord, trunc: boolean) {
  return {
    ID: trunc ? n.id.slice(0, 12) : n.id,
    Name: n.name,
    Driver: n.driver,
    Scope: 'local',
    IPv6: 'false',
    Internal: String(n.internal),
    Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(','),
    CreatedAt: goTimeString(n.created),
  };
}

const FILTER_KEYS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];

/** Docker's `network ls --filter`: one key ORs its values, several keys AND. */
function networkFilter(args: string[], inUse: (n: NetworkRecord) => boolean): (n: NetworkRecord) => boolean {
  const by = new Map<string, string[]>();
  for (const a of args) {
    const i = a.indexOf('=');
    const k = i < 0 ? a : a.slice(0, i);
    if (!FILTER_KEYS.includes(k) || i < 0) throw new EngineError(`invalid filter '${a}': use ${FILTER_KEYS.map((x) => `${x}=...`).join(', ')}`, 1);
    by.set(k, [...(by.get(k) ?? []), a.slice(i + 1)]);
  }
  const any = (k: string, pred: (v: string) => boolean) => !by.has(k) || by.get(k)!.some(pred);
  return (n) => any('driver', (v) => v === n.driver)
    && any('id', (v) => n.id.startsWith(v))
    && (by.get('label') ?? []).every((l) => labelMatches(n.labels, l))
    && any('name', (v) => n.name.includes(v))
    && any('scope', (v) => v === 'local')
    && any('type', (v) => v === (n.name === DEFAULT_NETWORK ? 'builtin' : 'custom'))
    && any('dangling', (v) => (v === 'true' || v === '1') === (!inUse(n) && n.name !== DEFAULT_NETWORK));
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
      const engine = await openEngine();
      const n = createNetwork(engine, { name, driver: f.driver, subnet: f.subnet, gateway: f.gateway, internal: !!f.internal, labels: parseLabels(f.label ?? []) });
      process.stdout.write(`${n.id}\n`);
    });

  net.command('ls').alias('list')
    .description('List networks')
    .option('-q, --quiet', 'only ids')
    .option('-f, --filter <KEY=VALUE>', 'filter: driver, id, label, name, scope, type (custom|builtin), dangling', collect)
    .option('--format <template>', 'Go template, table, or json')
    .option('--no-trunc', 'full ids')
    .action(async (f: { quiet?: boolean; filter?: string[]; format?: string; trunc?: boolean }) => {
      const engine = await openEngine();
      const users = new Set(containerStore(engine).list().flatMap((c) => (c.spec.net.mode === 'bridge' ? c.spec.net.networks.map((n) => n.name) : [])));
      const keep = networkFilter(f.filter ?? [], (n) => users.has(n.name) || users.has(n.id));
      const rows = listNetworks(engine).filter(keep).map((n) => lsRow(n, f.trunc !== false));
      process.stdout.write(f.quiet ? rows.map((r) => `${r.ID}\n`).join('') : formatList(f.format, rows, LS));
    });

  net.command('inspect')
    .description('Show networks in detail (JSON)')
    .usage('[OPTIONS] NETWORK [NETWORK...]')
    .argument('<network...>')
    .option('-f, --format <template>', 'Go template')
    .action(async (names: string[], f: { format?: string }) => {
      const engine = await openEngine();
      const store = new NetworkStore(engine.db);
      const found: unknown[] = [];
      const missing: string[] = [];
      for (const n of names) {
        const rec = store.find(n);
        if (rec) found.push(inspectNetwork(engine, rec));
        else missing.push(n);
      }
      process.stdout.write(f.format ? formatEach(f.format, found) : `${JSON.stringify(found, null, 4)}\n`);
      if (missing.length) throw new EngineError(missing.map((m) => `network ${m} not found`).join('\n'), 1);
    });

  net.command('rm').alias('remove')
    .description('Remove networks (refused while containers use them)')
    .usage('[OPTIONS] NETWORK [NETWORK...]')
    .argument('<network...>')
    .option('-f, --force', 'do not fail when a network does not exist')
    .action(async (names: string[], f: { force?: boolean }) => {
      await eachName(names, ({ engine }, name) => {
        const rec = new NetworkStore(engine.db).find(name);
        if (!rec) {
          if (f.force) return undefined;
          throw new EngineError(`network ${name} not found`);
        }
        removeNetwork(engine, rec);
        return name;
      });
    });

  net.command('prune')
    .description('Remove every network no container uses')
    .option('-f, --force', 'do not ask for confirmation')
    .option('--filter <label=KEY[=VALUE]>', 'only networks with this label', collect)
    .action(async (f: { force?: boolean; filter?: string[] }) => {
      const labels = (f.filter ?? []).map((x) => {
        if (!x.startsWith('label=')) throw new EngineError(`invalid filter '${x}': network prune takes label=KEY[=VALUE]`, 1);
        return x.slice('label='.length);
      });
      if (!f.force && !(await confirm('WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] '))) return;
      const removed = pruneNetworks(await openEngine(), labels);
      if (removed.length) process.stdout.write(`Deleted Networks:\n${removed.join('\n')}\n`);
    });

  net.command('connect')
    .description('Connect a container to a network (at once when it runs)')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<network>')
    .argument('<container>')
    .addOption(listOption('--alias <name>', 'another name the container is found by on this network', checkAlias))
    .action(async (network: string, container: string, f: { alias?: string[] }) => {
      const engine = await openEngine();
      connectNetwork(engine, new NetworkStore(engine.db).resolve(network), containerStore(engine).resolve(container), f.alias ?? []);
    });

  net.command('disconnect')
    .description('Disconnect a container from a network')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'accepted for Docker compatibility')
    .action(async (network: string, container: string) => {
      const engine = await openEngine();
      disconnectNetwork(engine, new NetworkStore(engine.db).resolve(network), containerStore(engine).resolve(container));
    });
}
