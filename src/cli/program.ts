import { Command, CommanderError } from 'commander';
import { VERSION } from '../engine/info.js';
import { register as images } from './images.js';
import { register as ps } from './ps.js';
import { register as rm } from './rm.js';
import { register as run } from './run.js';
import { register as system } from './system.js';
import { register as unshare } from './unshare.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('rootlet')
    .description('A rootless, daemonless container engine.\nRun `rootlet system check` first on a new machine.')
    .usage('COMMAND [OPTIONS]')
    .version(VERSION, '-v, --version', 'print the version')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false })
    .exitOverride();
  for (const reg of [run, ps, rm, images, unshare, system]) reg(program);
  program.commands.forEach(function override(c: Command) {
    c.exitOverride();
    c.commands.forEach(override);
  });
  return program;
}

export { CommanderError };
