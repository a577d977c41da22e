import type { Command } from 'commander';
import { containerStore, isRunning, refreshStates } from '../engine/container-state.js';
import type { ContainerRecord } from '../engine/container-store.js';
import { ago, commandColumn, humanDuration, table } from './format.js';
import { openEngine } from './common.js';

function status(rec: ContainerRecord, running: boolean, now: number): string {
  if (rec.state === 'removing') return 'Removal In Progress';
  if (running) {
    const h = rec.health?.status;
    const health = h ? ` (${h === 'starting' ? 'health: starting' : h})` : '';
    return `Up ${humanDuration(now - (rec.startedAt ?? rec.created))}${health}`;
  }
  if (rec.state === 'created') return 'Created';
  return `Exited (${rec.exitCode ?? 255}) ${ago(rec.finishedAt ?? rec.created, now)}`;
}

export function register(program: Command): void {
  program
    .command('ps')
    .description('List containers')
    .option('-a, --all', 'show all containers (default: running only)')
    .option('-q, --quiet', 'only print container ids')
    .option('--no-trunc', 'do not truncate output')
    .action(async (flags: { all?: boolean; quiet?: boolean; trunc: boolean }) => {
      const engine = await openEngine();
      const now = Date.now();
      const recs = refreshStates(engine, containerStore(engine).list())
        .map((r) => ({ rec: r, running: r.state === 'running' && isRunning(engine, r) }))
        .filter((x) => flags.all || x.running);
      const id = (r: ContainerRecord) => (flags.trunc ? r.id.slice(0, 12) : r.id);
      if (flags.quiet) {
        process.stdout.write(recs.map((x) => `${id(x.rec)}\n`).join(''));
        return;
      }
      process.stdout.write(table(
        ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
        recs.map(({ rec, running }) => [
          id(rec), rec.imageName, commandColumn(rec.spec.args, flags.trunc), ago(rec.created, now), status(rec, running, now), '', rec.name,
        ]),
      ));
    });
}
