import type { Command } from 'commander';
import { DEFAULT_DETACH_KEYS, parseDetachKeys, type AttachResult } from '../engine/index.js';
import { EngineError } from '../util/errors.js';
import { checkedOption } from './flag-values.js';
import { services } from './common.js';
import { processContext } from './process-context.js';

/** The exit status of an attached session: the container's code, 0 when the user detached. */
function exitStatus(r: AttachResult): number {
  if (!r.detached) return r.exitCode;
  process.stderr.write('\nread escape sequence\n');
  return 0;
}

/**
 * `start -a [-i]`: attached before the container starts, so no output is
 * lost; exits with the container's code.
 */
export async function startAttached(names: string[], stdin: boolean, detachKeys: string): Promise<number> {
  if (names.length !== 1) throw new EngineError('start -a takes exactly one container');
  const svc = await services();
  return exitStatus(await svc.containers.startAttached(names[0]!, { stdin, detachKeys: parseDetachKeys(detachKeys) }, processContext()));
}

export function register(program: Command): void {
  program
    .command('attach')
    .description('Attach your terminal to a running detached container: its output, and your input when it was started with -i')
    .argument('<container>')
    .option('--no-stdin', 'do not pass your input to the container')
    .addOption(checkedOption('--detach-keys <keys>', 'keys that detach and leave the container running', (v) => parseDetachKeys(v)).default(DEFAULT_DETACH_KEYS))
    .action(async (name: string, flags: { stdin: boolean; detachKeys: string }) => {
      const svc = await services();
      process.exitCode = exitStatus(await svc.containers.attach(name, { stdin: flags.stdin, detachKeys: parseDetachKeys(flags.detachKeys) }, processContext()));
    });
}
