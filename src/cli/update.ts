import type { Command } from 'commander';
import type { ContainerUpdateRequest } from '../engine/index.js';
import { parseCpus, parseMemory, parsePidsLimit, parseRestart } from '../grammar/create-flags.js';
import { EngineError } from '../util/errors.js';
import { eachName } from './common.js';
import { valueOption } from './flag-values.js';

/** `update` / `container update`: new limits and restart policy for containers, as Docker's (the flags this engine can enforce). */
export function register(program: Command): void {
  program
    .command('update')
    .description('Change the limits and the restart policy of one or more containers (a running one gets its limits at once)')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .addOption(valueOption('-m, --memory <bytes>', 'memory limit (64m, 1g; at least 6m)', parseMemory))
    .addOption(valueOption('--cpus <number>', 'number of CPUs', parseCpus))
    .addOption(valueOption('--pids-limit <number>', 'maximum number of processes (-1: no limit)', parsePidsLimit))
    .addOption(valueOption('--restart <policy>', 'restart policy: no, on-failure[:max-retries], always or unless-stopped', parseRestart))
    .addHelpText('after', `
Limits need cgroup v2 delegation (\`rootlet system check\` shows it); a limit
that cannot be enforced here is refused, never accepted and ignored. A
container started without limits has no cgroup of its own: change its
limits while it is stopped.`)
    .action(async (names: string[], flags: { memory?: number; cpus?: number; pidsLimit?: number; restart?: ContainerUpdateRequest['restartPolicy'] }) => {
      const req: ContainerUpdateRequest = {
        ...(flags.memory !== undefined ? { memoryBytes: flags.memory } : {}),
        ...(flags.cpus !== undefined ? { nanoCpus: Math.round(flags.cpus * 1e9) } : {}),
        ...(flags.pidsLimit !== undefined ? { pidsLimit: flags.pidsLimit } : {}),
        ...(flags.restart ? { restartPolicy: flags.restart } : {}),
      };
      if (!Object.keys(req).length) throw new EngineError('update: you must provide one or more flags when using this command');
      await eachName(names, async (svc, name) => {
        await svc.containers.update(name, req);
        return name;
      });
    });
}
