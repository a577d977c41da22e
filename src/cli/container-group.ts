import type { Command } from 'commander';

type Register = (parent: Command) => void;

/**
 * `rootlet container COMMAND`: every container command under the group
 * name, as Docker has them. Each is the very command its module registers
 * at the top level (`ps`, `run`, `stop`, ...), registered on the group
 * instead: one definition, its flags and help shared. Only the module of
 * the subcommand named is loaded (`container run` costs what `run` does);
 * all of them for the group's help.
 */
const CONTAINER_COMMANDS: Array<{ names: string[]; load: () => Promise<Register> }> = [
  { names: ['ls', 'list', 'ps'], load: async () => (await import('./ps.js')).register },
  { names: ['run'], load: async () => (await import('./run.js')).register },
  { names: ['create', 'start', 'stop', 'restart', 'kill', 'wait', 'rename', 'pause', 'unpause'], load: async () => (await import('./lifecycle.js')).register },
  { names: ['rm', 'remove'], load: async () => (await import('./rm.js')).register },
  { names: ['prune'], load: async () => (await import('./container-prune.js')).register },
  { names: ['logs'], load: async () => (await import('./logs.js')).register },
  { names: ['exec'], load: async () => (await import('./exec.js')).register },
  { names: ['attach'], load: async () => (await import('./attach.js')).register },
  { names: ['inspect'], load: async () => (await import('./inspect.js')).registerContainerInspect },
  { names: ['top'], load: async () => (await import('./top.js')).register },
  { names: ['stats'], load: async () => (await import('./stats.js')).register },
  { names: ['diff'], load: async () => (await import('./diff.js')).register },
  { names: ['cp'], load: async () => (await import('./cp.js')).register },
  { names: ['export'], load: async () => (await import('./export.js')).register },
  { names: ['port'], load: async () => (await import('./port.js')).register },
  { names: ['update'], load: async () => (await import('./update.js')).register },
  { names: ['commit'], load: async () => (await import('./build.js')).registerCommit },
];

export async function register(program: Command, sub?: string): Promise<void> {
  const group = program.command('container').description('Manage containers').usage('COMMAND');
  const one = sub && CONTAINER_COMMANDS.find((c) => c.names.includes(sub));
  const entries = one ? [one] : CONTAINER_COMMANDS;
  for (const define of await Promise.all(entries.map((c) => c.load()))) define(group);
  // Docker's names under the group: `container ls` (list, ps), `container rm` (remove).
  group.commands.find((c) => c.name() === 'ps')?.name('ls').aliases(['list', 'ps']);
  group.commands.find((c) => c.name() === 'rm')?.alias('remove');
}
