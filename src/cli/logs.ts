import type { Command } from 'commander';
import { logPath } from '../engine/container-start.js';
import { containerStore, isRunning, refreshState } from '../engine/container-state.js';
import { EngineError } from '../engine/errors.js';
import { parseTimeArg, printRecord, readLog } from '../engine/logs.js';
import { openEngine } from './common.js';

export function register(program: Command): void {
  program
    .command('logs')
    .description('Print a container\'s output, also after it exited (with --rm, foreground output is not kept)')
    .argument('<container>')
    .option('-f, --follow', 'keep printing new output until the container ends')
    .option('--tail <n>', 'only the last n lines ("all" for every line)', 'all')
    .option('--since <time>', 'only output since a time (RFC 3339, Unix time, or a duration such as 10m)')
    .option('--until <time>', 'only output before a time')
    .option('-t, --timestamps', 'print the time of each line')
    .action(async (name: string, flags: { follow?: boolean; tail: string; since?: string; until?: string; timestamps?: boolean }) => {
      const engine = await openEngine();
      const store = containerStore(engine);
      const rec = store.resolve(name);
      let tail: number | undefined;
      if (flags.tail !== 'all') {
        tail = Number(flags.tail);
        if (!Number.isInteger(tail) || tail < 0) throw new EngineError(`invalid --tail "${flags.tail}": use a number of lines or all`);
      }
      const ended = () => {
        const cur = store.get(rec.id);
        return !cur || !isRunning(engine, refreshState(engine, cur) ?? cur);
      };
      for await (const r of readLog(logPath(engine, rec.id), {
        follow: !!flags.follow,
        tail,
        since: flags.since ? parseTimeArg(flags.since) : undefined,
        until: flags.until ? parseTimeArg(flags.until) : undefined,
        ended,
      })) {
        printRecord(r, !!flags.timestamps, process.stdout, process.stderr);
      }
    });
}
