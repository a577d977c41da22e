import type { Command } from 'commander';
import { services } from './common.js';

export function register(program: Command): void {
  const hc = program.command('healthcheck').description('Run a container\'s health check');
  hc.command('run')
    .description('Run the health check of a container now; exit 0 when healthy, 1 when not')
    .argument('<container>')
    .action(async (name: string) => {
      const h = await (await services()).containers.healthcheck(name);
      const last = h.log[h.log.length - 1];
      if (last && last.exitCode !== 0) {
        process.stdout.write('unhealthy\n');
        process.exitCode = 1;
      }
    });
}
