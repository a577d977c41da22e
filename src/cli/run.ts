import type { Command } from 'commander';
import type { PullPolicy } from '../engine/index.js';
import { toCreateRequest } from '../grammar/create-flags.js';
import { services } from './common.js';
import { pullOnDemand } from './pull-output.js';
import { addCreateOptions, type CreateFlags } from './create-options.js';
import { processContext } from './process-context.js';

export function register(program: Command): void {
  addCreateOptions(program
    .command('run')
    .description('Run a command in a new container')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .helpOption('--help', 'Show help for run')
    .argument('<image>', 'image name or id')
    .argument('[command...]', 'command and arguments (default: the image\'s ENTRYPOINT and CMD)')
    .passThroughOptions()
    .option('-d, --detach', 'run in the background and print the container id')
    .addHelpText('after', `
--isolation sandbox runs the container on gVisor (runsc, Debian package runsc): its
system calls go to a user-space kernel, not to the host's, at the cost of a slower
start and slower system calls. Refused rather than weakened: --memory, --cpus,
--pids-limit (no cgroups rootless), --network host or container:, --userns keep-id.
See docs/security.md, "Sandbox isolation".`))
    .action(async (image: string, command: string[], flags: CreateFlags & { detach?: boolean }) => {
      const ctx = processContext();
      const req = toCreateRequest(image, command, flags, ctx);
      const svc = await services();
      // A pull's progress goes to stderr, as Docker shows it before the container's output.
      const r = await svc.containers.run(req, { detach: !!flags.detach, pull: flags.pull as PullPolicy, onPull: pullOnDemand() }, ctx);
      if (r.id) process.stdout.write(`${r.id}\n`);
      else process.exitCode = r.exitCode;
    });
}
