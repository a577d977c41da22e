import type { Command } from 'commander';
import type { PullPolicy } from '../engine/index.js';
import { toCreateRequest } from '../grammar/create-flags.js';
import { services } from './common.js';
import { pullOnDemand } from './pull-output.js';
import { addCreateOptions, addRunOptions, writeCidfile, type CreateFlags } from './create-options.js';
import { parseDetachKeys } from '../engine/index.js';
import { EngineError } from '../util/errors.js';
import { processContext } from './process-context.js';

export function register(program: Command): void {
  addRunOptions(addCreateOptions(program
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
See docs/security.md, "Sandbox isolation".

Ctrl-P Ctrl-Q (or --detach-keys) detaches a run -it from a terminal and leaves the
container running; rootlet attach brings you back.`)))
    .action(async (image: string, command: string[], flags: CreateFlags & { detach?: boolean; detachKeys: string; sigProxy: boolean }) => {
      if (flags.detach && flags.attach?.length) throw new EngineError('conflicting options: -a and -d: a detached container is attached to nothing');
      const ctx = processContext();
      const req = toCreateRequest(image, command, flags, ctx);
      const svc = await services();
      // A pull's progress goes to stderr, as Docker shows it before the container's output.
      const r = await svc.containers.run(req, {
        detach: !!flags.detach,
        pull: flags.pull as PullPolicy,
        onPull: pullOnDemand(),
        sigProxy: flags.sigProxy,
        detachKeys: parseDetachKeys(flags.detachKeys),
        created: (id) => writeCidfile(flags.cidfile, id),
      }, ctx);
      if (r.detached) process.stderr.write('\nread escape sequence\n');
      else if (r.id) process.stdout.write(`${r.id}\n`);
      else process.exitCode = r.exitCode;
    });
}
