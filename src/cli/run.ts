import type { Command } from 'commander';
import { runForeground } from '../engine/containers.js';
import { EngineError } from '../engine/errors.js';
import { collect, openEngine } from './common.js';

interface RunFlags {
  rm?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  volume?: string[];
  tmpfs?: string[];
  readOnly?: boolean;
  hostname?: string;
  net?: string;
  network?: string;
  interactive?: boolean;
  tty?: boolean;
  init?: boolean;
  userns?: string;
  runtime?: string;
  detach?: boolean;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run a command in a new container')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .helpOption('--help', 'Show help for run')
    .argument('<image>', 'image name or id')
    .argument('[command...]', 'command and arguments (default: the image\'s ENTRYPOINT and CMD)')
    .passThroughOptions()
    .option('--rm', 'remove the container when it exits')
    .option('--name <name>', 'name the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone takes the host\'s value)', collect)
    .option('--env-file <file>', 'read environment variables from a file', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user to run as: name or uid, optionally :group or :gid')
    .option('--entrypoint <cmd>', 'override the image\'s ENTRYPOINT ("" clears it)')
    .option('-v, --volume <src:dst[:ro]>', 'bind mount a host path, or mount a named volume', collect)
    .option('--tmpfs <dst[:opts]>', 'mount a tmpfs', collect)
    .option('--read-only', 'mount the container\'s root filesystem read-only')
    .option('-h, --hostname <name>', 'container host name')
    .option('--net, --network <mode>', 'network: none (loopback only, the default for now) or host')
    .option('-i, --interactive', 'keep stdin open and pass it to the container')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('--init', 'run an init (catatonit) as PID 1 that forwards signals and reaps zombies')
    .option('--userns <mode>', 'keep-id: run as your own uid and gid inside')
    .option('--runtime <name>', 'OCI runtime: runc or crun (default: the fastest that works here)')
    .option('-d, --detach', 'run in the background (not available yet)')
    .action(async (image: string, command: string[], flags: RunFlags) => {
      if (flags.detach) throw new EngineError('detached containers (-d) are not available yet in this version of rootlet: run in the foreground');
      const engine = await openEngine();
      process.exitCode = await runForeground(engine, {
        image,
        command,
        name: flags.name,
        env: flags.env ?? [],
        envFiles: flags.envFile ?? [],
        workdir: flags.workdir,
        user: flags.user,
        entrypoint: flags.entrypoint,
        volumes: flags.volume ?? [],
        tmpfs: flags.tmpfs ?? [],
        readOnly: !!flags.readOnly,
        hostname: flags.hostname,
        network: flags.network ?? flags.net,
        interactive: !!flags.interactive,
        tty: !!flags.tty,
        init: !!flags.init,
        userns: flags.userns,
        rm: !!flags.rm,
        runtime: flags.runtime,
      });
    });
}
