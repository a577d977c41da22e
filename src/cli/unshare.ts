import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { signalNumber } from '../util/proc.js';
import { openEngine } from './common.js';

export function register(program: Command): void {
  program
    .command('unshare')
    .description('Run a command (default: your shell) inside your user namespace, as its root')
    .usage('[COMMAND [ARG...]]')
    .argument('[command...]')
    .passThroughOptions()
    .action(async (command: string[]) => {
      const engine = await openEngine();
      const ns = engine.ns();
      const args = command.length ? command : [process.env.SHELL || '/bin/sh'];
      const env = { ...process.env, ROOTLET_UNSHARE: '1', ROOTLET_STORAGE: engine.paths.dataDir };
      // Same process group as us, so an interactive shell keeps the terminal; we ignore its Ctrl-C.
      const ignore = () => {};
      process.on('SIGINT', ignore);
      process.on('SIGQUIT', ignore);
      const code = await new Promise<number>((resolve) => {
        // Start in the same directory, entered inside the namespace.
        const inDir = ['sh', '-c', 'cd "$0" 2>/dev/null; exec "$@"', process.cwd(), ...args];
        const child = spawn('nsenter', [...ns.nsenterArgs(), '--', ...inDir], { stdio: 'inherit', env });
        child.on('error', () => resolve(125));
        child.on('exit', (c, sig) => resolve(c ?? 128 + signalNumber(sig)));
      });
      process.off('SIGINT', ignore);
      process.off('SIGQUIT', ignore);
      process.exitCode = code;
    });
}
