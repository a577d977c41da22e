import type { Command } from 'commander';
import { expandEnv, toExecRequest } from '../grammar/create-flags.js';
import { parseAbsolutePath, parseUserSpec } from '../util/values.js';
import { services } from './common.js';
import { processContext } from './process-context.js';
import { checkReadable } from './files.js';
import { checkedOption, listOption } from './flag-values.js';

interface ExecFlags {
  interactive?: boolean;
  tty?: boolean;
  detach?: boolean;
  user?: string;
  workdir?: string;
  env?: string[];
  envFile?: string[];
}

export function register(program: Command): void {
  program
    .command('exec')
    .description('Run a command in a running container')
    .usage('[OPTIONS] CONTAINER COMMAND [ARG...]')
    .helpOption('--help', 'Show help for exec')
    .argument('<container>', 'container name or id')
    .argument('<command...>', 'command and arguments')
    .passThroughOptions()
    .option('-i, --interactive', 'keep stdin open and pass it to the command')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('-d, --detach', 'run the command in the background; print nothing')
    .addOption(checkedOption('-u, --user <user[:group]>', 'user to run as: name or uid, optionally :group or :gid (default: the container\'s)', parseUserSpec))
    .addOption(checkedOption('-w, --workdir <dir>', 'working directory inside the container (default: the container\'s)', parseAbsolutePath))
    .addOption(listOption('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone takes the host\'s value)', (v) => expandEnv(v, process.env)))
    .addOption(listOption('--env-file <file>', 'read environment variables from a file', (v) => checkReadable(v), { wrap: false }))
    .action(async (name: string, command: string[], f: ExecFlags) => {
      const ctx = processContext();
      const req = toExecRequest(command, f, ctx);
      process.exitCode = await (await services()).containers.exec(name, req, ctx);
    });
}
