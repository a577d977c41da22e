import { Command, CommanderError } from 'commander';
import { VERSION } from '../util/version.js';
import { parseChoice } from '../util/values.js';
import { valueOption } from './flag-values.js';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;

/** Registers a module's commands; `sub` is the subcommand named after a group's name, when known (a group may load only its module). */
type Register = (program: Command, sub?: string) => void | Promise<void>;

/**
 * Every command, with the module that implements it. Only the module of the
 * command being run is loaded (each is its own chunk of the bundle), so a
 * `run` does not pay for compiling `system check` or `import`.
 */
const COMMANDS: Array<{ names: string[]; load: () => Promise<{ register: Register }> }> = [
  { names: ['run'], load: () => import('./run.js') },
  { names: ['ps'], load: () => import('./ps.js') },
  { names: ['inspect'], load: () => import('./inspect.js') },
  { names: ['container'], load: () => import('./container-group.js') },
  { names: ['volume'], load: () => import('./volume.js') },
  { names: ['rm'], load: () => import('./rm.js') },
  { names: ['logs'], load: () => import('./logs.js') },
  { names: ['attach'], load: () => import('./attach.js') },
  { names: ['healthcheck'], load: () => import('./healthcheck.js') },
  { names: ['create', 'start', 'stop', 'restart', 'kill', 'wait', 'rename', 'pause', 'unpause'], load: () => import('./lifecycle.js') },
  { names: ['exec'], load: () => import('./exec.js') },
  { names: ['update'], load: () => import('./update.js') },
  { names: ['top'], load: () => import('./top.js') },
  { names: ['stats'], load: () => import('./stats.js') },
  { names: ['diff'], load: () => import('./diff.js') },
  { names: ['cp'], load: () => import('./cp.js') },
  { names: ['export'], load: () => import('./export.js') },
  { names: ['image', 'images', 'rmi', 'tag', 'history', 'save', 'load', 'import'], load: () => import('./image-group.js') },
  { names: ['build', 'commit', 'builder'], load: () => import('./build.js') },
  { names: ['pull'], load: () => import('./pull.js') },
  { names: ['push'], load: () => import('./push.js') },
  { names: ['search'], load: () => import('./search.js') },
  { names: ['login', 'logout'], load: () => import('./login.js') },
  { names: ['unshare'], load: () => import('./unshare.js') },
  { names: ['network'], load: () => import('./network.js') },
  { names: ['pod'], load: () => import('./pod.js') },
  { names: ['kube'], load: () => import('./kube.js') },
  { names: ['generate'], load: () => import('./generate.js') },
  { names: ['port'], load: () => import('./port.js') },
  { names: ['events'], load: () => import('./events.js') },
  { names: ['info', 'version', 'system'], load: () => import('./system.js') },
  { names: ['policy'], load: () => import('./policy.js') },
  { names: ['compose'], load: () => import('./compose.js') },
  { names: ['completion', '__complete'], load: () => import('./completion.js') },
  { names: ['__manpages'], load: () => import('./manpages.js') },
];

/** Commands that read the whole command tree (completion scripts, manual pages): every command is loaded for them. */
const WHOLE_TREE = ['completion', '__manpages'];

function base(): Command {
  return new Command()
    .name('rootlet')
    .description('A rootless, daemonless container engine.\nRun `rootlet system check` first on a new machine.')
    .usage('COMMAND [OPTIONS]')
    .version(VERSION, '-v, --version', 'print the version')
    // Docker's global flag; read early by main.ts (debug: the trace of an internal error is printed too).
    .addOption(valueOption('--log-level <level>', 'debug, info, warn, error or fatal (debug: print the trace of an internal error)',
      (v, flag) => parseChoice(v, flag, LOG_LEVELS, 'a log level')).default('info'))
    .option('-D, --debug', 'same as --log-level debug')
    // Read early by main.ts, which hands them to the engine as ROOTLET_ROOT / ROOTLET_RUNROOT (docs/configuration.md).
    .option('--root <dir>', 'the store (images, containers, volumes, state database); default: [storage] root, else ~/.local/share/rootlet')
    .option('--runroot <dir>', 'the runtime state (namespace, runtime, sockets); default: $XDG_RUNTIME_DIR/rootlet')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride();
}

function exitOverrideAll(c: Command): void {
  c.exitOverride();
  c.commands.forEach(exitOverrideAll);
}

/** The program with the command named in argv loaded, or every command (for help and suggestions). */
export async function buildProgram(commandName: string | undefined, sub?: string): Promise<Command> {
  const program = base();
  const entry = COMMANDS.find((c) => commandName && !WHOLE_TREE.includes(commandName) && c.names.includes(commandName));
  const mods = entry ? [await entry.load()] : await Promise.all(COMMANDS.map((c) => c.load()));
  for (const m of mods) await m.register(program, entry ? sub : undefined);
  exitOverrideAll(program);
  return program;
}

export { CommanderError };
