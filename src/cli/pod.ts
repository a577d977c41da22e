import type { Command } from 'commander';
import type { PodDetails, PodShare } from '../engine/index.js';
import { POD_SHARES, checkHostPorts, unprivilegedPortStart } from '../engine/index.js';
import { parseLabels } from '../grammar/create-flags.js';
import { invalid, parseInteger, parsePublish, parseTimestamp } from '../util/values.js';
import { checkedOption, listOption, valueOption } from './flag-values.js';
import { eachName, services } from './common.js';
import { ago } from './format.js';
import { formatList, type ListKind } from './list-format.js';
import { printInspected } from './inspect.js';
import { formatPorts } from './ports-format.js';
import { processContext } from './process-context.js';
import { dockerStatus } from './daemon-errors.js';

/** `pod ls`'s columns, as Podman names them. */
export const POD_LS: ListKind = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Created}}\t{{.InfraID}}\t{{.NumberOfContainers}}',
  headers: {
    ID: 'POD ID', Name: 'NAME', Status: 'STATUS', Created: 'CREATED', InfraID: 'INFRA ID', NumberOfContainers: '# OF CONTAINERS',
    Labels: 'LABELS', Ports: 'PORTS', Networks: 'NETWORKS', Label: (k: string) => k.toUpperCase(),
  },
};

function podRow(p: PodDetails) {
  return {
    ID: p.id.slice(0, 12),
    Name: p.name,
    Status: p.status,
    Created: ago(p.created),
    InfraID: p.infraId.slice(0, 12),
    NumberOfContainers: String(p.containers.length),
    Labels: Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(','),
    Ports: formatPorts(p.ports, []),
    Label: (k: string) => p.labels[k] ?? '',
  };
}

/** Podman's `pod inspect` document, in its field names. */
function podInspect(p: PodDetails): Record<string, unknown> {
  return {
    Id: p.id,
    Name: p.name,
    Created: new Date(p.created).toISOString(),
    State: p.status,
    Hostname: p.hostname,
    Labels: p.labels,
    CreateInfra: true,
    InfraContainerID: p.infraId,
    SharedNamespaces: p.share,
    NumContainers: p.containers.length,
    InfraConfig: { PortBindings: p.ports },
    Containers: p.containers.map((c) => ({ Id: c.id, Name: c.name, State: c.state })),
  };
}

function parseShare(v: string, flag: string): PodShare[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!(POD_SHARES as string[]).includes(s)) invalid(flag, v, `"${s}" is not a namespace a pod shares here: use a list of ${POD_SHARES.join(', ')}`);
  return list as PodShare[];
}

function parseTail(v: string, flag: string): number | 'all' {
  if (v === 'all') return 'all';
  if (!/^\d+$/.test(v.trim())) return invalid(flag, v, 'not a number of lines: use a whole number of 0 or more, or all');
  return parseInteger(v, flag, 0);
}

export function register(program: Command): void {
  const pod = program.command('pod').description('Manage pods: containers sharing a network (and IPC, UTS) through a small infra process').usage('COMMAND');

  pod.command('create')
    .description('Create a pod (its infra container starts with the pod or its first container); prints its id')
    .option('--name <name>', 'the pod\'s name (default: one made up)')
    .addOption(listOption('-p, --publish <[ip:]host:container[/proto]>', 'publish a port of the pod (its containers\' ports, as they share its network)', (v, flag) => checkHostPorts(parsePublish(v, flag), unprivilegedPortStart(), process.getuid?.() === 0)))
    .addOption(valueOption('--share <namespaces>', `the namespaces the pod's containers share: a list of ${POD_SHARES.join(', ')} (default all)`, parseShare))
    .addOption(listOption('--label <KEY=VALUE>', 'set a label (repeatable)', (v) => parseLabels([v])))
    .addOption(checkedOption('--network <network>', 'the pod\'s network (default: rootlet\'s default network)', (v) => v))
    .action(async (f: { name?: string; publish?: string[]; share?: PodShare[]; label?: string[]; network?: string }) => {
      const r = await (await services()).pods.create({
        name: f.name,
        portBindings: (f.publish ?? []).flatMap((p) => parsePublish(p, '--publish')),
        ...(f.share ? { share: f.share } : {}),
        labels: parseLabels(f.label ?? []),
        ...(f.network ? { networkMode: f.network } : {}),
      });
      process.stdout.write(`${r.id}\n`);
    });

  pod.command('ls').alias('list').alias('ps')
    .description('List pods')
    .option('-q, --quiet', 'only ids')
    .option('--no-trunc', 'full ids')
    .option('--format <template>', 'Go template, table, or json')
    .addHelpText('after', '\nTemplate fields: .ID .Name .Status .Created .InfraID .NumberOfContainers .Labels .Label "KEY" .Ports')
    .action(async (f: { quiet?: boolean; trunc?: boolean; format?: string }) => {
      const pods = await (await services()).pods.list();
      const rows = pods.map((p) => ({ ...podRow(p), ...(f.trunc === false ? { ID: p.id, InfraID: p.infraId } : {}) }));
      process.stdout.write(f.quiet ? rows.map((r) => `${r.ID}\n`).join('') : formatList(f.format, rows, POD_LS));
    });

  pod.command('inspect')
    .description('Show one or more pods as JSON')
    .usage('[OPTIONS] POD [POD...]')
    .argument('<pod...>')
    .option('-f, --format <template>', 'format each with a Go template, e.g. \'{{.InfraContainerID}}\'')
    .action(async (names: string[], f: { format?: string }) => {
      const { pods } = await services();
      await printInspected(names, async (n) => podInspect(await pods.inspect(n)), f.format === 'json' ? undefined : f.format);
    });

  const each = (verb: string, description: string) => pod.command(verb)
    .description(description)
    .usage('[OPTIONS] POD [POD...]')
    .argument('<pod...>');

  each('start', 'Start pods: the infra, then the containers in creation order')
    .action(async (names: string[]) => eachName(names, async (svc, n) => { await svc.pods.start(n); return n; }));
  each('stop', 'Stop pods: the containers, then the infra')
    .addOption(valueOption('-t, --time <seconds>', 'seconds to wait for each container before it is killed', (v, flag) => parseInteger(v, flag, 0)))
    .action(async (names: string[], f: { time?: number }) => eachName(names, async (svc, n) => { await svc.pods.stop(n, { timeoutSec: f.time }); return n; }));
  each('restart', 'Restart pods')
    .addOption(valueOption('-t, --time <seconds>', 'seconds to wait for each container before it is killed', (v, flag) => parseInteger(v, flag, 0)))
    .action(async (names: string[], f: { time?: number }) => eachName(names, async (svc, n) => { await svc.pods.restart(n, { timeoutSec: f.time }); return n; }));
  each('kill', 'Send a signal to the running containers of pods')
    .option('-s, --signal <signal>', 'the signal (default SIGKILL)')
    .action(async (names: string[], f: { signal?: string }) => eachName(names, async (svc, n) => { await svc.pods.kill(n, { signal: f.signal }); return n; }));
  each('pause', 'Pause the running containers of pods')
    .action(async (names: string[]) => eachName(names, async (svc, n) => { await svc.pods.pause(n, true); return n; }));
  each('unpause', 'Unpause the containers of pods')
    .action(async (names: string[]) => eachName(names, async (svc, n) => { await svc.pods.pause(n, false); return n; }));
  each('rm', 'Remove pods with their containers (running ones need -f)')
    .alias('remove')
    .option('-f, --force', 'stop and remove running containers; a pod that does not exist is no error')
    .action(async (names: string[], f: { force?: boolean }) => eachName(names, async (svc, n) => (await svc.pods.remove(n, { force: f.force }))?.id));

  pod.command('top')
    .description('Display the running processes of a pod\'s containers')
    .usage('POD [ps OPTIONS]')
    .argument('<pod>')
    .argument('[ps-options...]')
    .passThroughOptions()
    .action((name: string, psArgs: string[]) => dockerStatus(async () => {
      const t = await (await services()).pods.top(name, psArgs);
      const widths = t.titles.map((h, i) => Math.max(h.length, ...t.processes.map((r) => (r[i] ?? '').length)) + 3);
      const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('').trimEnd();
      process.stdout.write([line(t.titles), ...t.processes.map(line)].join('\n') + '\n');
    }));

  pod.command('logs')
    .description('Print the output of a pod\'s containers (each in creation order; followed, all at once)')
    .argument('<pod>')
    .option('-c, --container <name>', 'only this container of the pod')
    .option('-f, --follow', 'keep printing new output')
    .addOption(valueOption('--tail <n>', 'only the last n lines of each ("all" for every line)', parseTail).default('all'))
    .addOption(valueOption('--since <time>', 'only output since a time', (v, flag) => parseTimestamp(v, flag)))
    .addOption(valueOption('--until <time>', 'only output before a time', (v, flag) => parseTimestamp(v, flag)))
    .option('-t, --timestamps', 'print the time of each line')
    .action(async (name: string, f: { container?: string; follow?: boolean; tail: number | 'all'; since?: number; until?: number; timestamps?: boolean }) => {
      await (await services()).pods.logs(name, {
        container: f.container, follow: !!f.follow, tail: f.tail === 'all' ? undefined : f.tail, since: f.since, until: f.until, timestamps: !!f.timestamps,
      }, processContext());
    });
}
