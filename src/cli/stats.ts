import type { Command } from 'commander';
import type { ContainerStats } from '../engine/index.js';
import { services } from './common.js';
import { dockerStatus } from './daemon-errors.js';
import { table } from './format.js';
import { formatList, type ListKind } from './list-format.js';

/** Docker's memory units (binary, four significant digits): "1.543MiB". */
export function binarySize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

/** Docker's I/O units (decimal, three significant digits): "1.23kB". */
export function decimalSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${Number(n.toPrecision(3))}${units[i]}`;
}

function row(s: ContainerStats, trunc: boolean): string[] {
  const pct = (x: number) => `${x.toFixed(2)}%`;
  return [
    trunc ? s.id.slice(0, 12) : s.id,
    s.name,
    pct(s.cpuPercent),
    `${binarySize(s.memUsage)} / ${binarySize(s.memLimit)}`,
    pct(s.memLimit ? (s.memUsage / s.memLimit) * 100 : 0),
    s.net ? `${decimalSize(s.net.rx)} / ${decimalSize(s.net.tx)}` : '--',
    `${decimalSize(s.block.read)} / ${decimalSize(s.block.write)}`,
    String(s.pids),
  ];
}

const TITLES = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];

/** --format: Docker's stats fields (`.Container`, `.CPUPerc`, ...; json is each row's object). */
export const STATS_KIND: ListKind = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}',
  headers: {
    Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %',
    NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
  },
};

/** A stats row as Docker's formatter names its fields. */
export function statsRow(s: ContainerStats, trunc: boolean) {
  const [id, name, cpu, mem, memPct, net, block, pids] = row(s, trunc) as [string, string, string, string, string, string, string, string];
  return { BlockIO: block, CPUPerc: cpu, Container: id, ID: id, MemPerc: memPct, MemUsage: mem, Name: name, NetIO: net, PIDs: pids };
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('Display containers\' resource use (from /proc: this host\'s cgroups are not read)')
    .usage('[OPTIONS] [CONTAINER...]')
    .argument('[container...]', 'containers (default: all running ones)')
    .option('-a, --all', 'show all containers (default: running only)')
    .option('--no-stream', 'print one sample and exit')
    .option('--no-trunc', 'do not truncate ids')
    .option('--format <template>', 'Go template over .Container .ID .Name .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs, table, or json')
    .action((names: string[], flags: { all?: boolean; stream: boolean; trunc: boolean; format?: string }) => {
      // A template that does not parse is the command line's error (125), refused before any sampling.
      if (flags.format) formatList(flags.format, [], STATS_KIND);
      return dockerStatus(async () => {
        const svc = await services();
        const why = (await svc.containers.cgroupsDelegated()) ? '' : ' (this host gives you no cgroup v2 delegation)';
        process.stderr.write(`note: figures are summed from /proc over each container's processes, not read from a cgroup${why}; LIMIT is the host's memory unless --memory was set; NET I/O is "--" with the host's network\n`);
        for (;;) {
          const began = Date.now();
          const stats = await svc.containers.stats(names, { all: flags.all, intervalMs: flags.stream ? 1000 : 500 });
          const out = flags.format
            ? formatList(flags.format, stats.map((s) => statsRow(s, flags.trunc)), STATS_KIND)
            : table(TITLES, stats.map((s) => row(s, flags.trunc)));
          // Streaming redraws in place, as Docker does.
          process.stdout.write(flags.stream ? `\x1b[2J\x1b[H${out}` : out);
          if (!flags.stream) return;
          await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - began))));
        }
      });
    });
}
