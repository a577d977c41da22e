import type { Command } from 'commander';
import { checkedOption } from './flag-values.js';
import { attach, DEFAULT_DETACH_KEYS, parseDetachKeys, type Attachment } from '../engine/containers/attach.js';
import { startDetached } from '../engine/containers/start.js';
import { containerStore, isRunning } from '../engine/containers/state.js';
import { waitContainer } from '../engine/containers/stop.js';
import { EngineError } from '../util/errors.js';
import { openEngine } from './common.js';

/** Waits for an attachment; the container's exit code when it ended, 0 when the user detached. */
async function follow(a: Attachment, engine: Awaited<ReturnType<typeof openEngine>>, id: string): Promise<number> {
  const how = await a.done;
  if (how === 'detached') {
    process.stderr.write('\nread escape sequence\n');
    return 0;
  }
  return waitContainer(engine, id);
}

/**
 * `start -a [-i]`: attached before the container starts, so no output is
 * lost; exits with the container's code.
 */
export async function startAttached(names: string[], stdin: boolean, detachKeys: string): Promise<number> {
  if (names.length !== 1) throw new EngineError('start -a takes exactly one container');
  const engine = await openEngine();
  const rec = containerStore(engine).resolve(names[0]!);
  const keys = parseDetachKeys(detachKeys);
  if (isRunning(engine, rec)) return follow(await attach(engine, rec, { stdin, detachKeys: keys }), engine, rec.id);
  let attachment: Attachment | undefined;
  await startDetached(engine, rec, { beforeStart: async () => { attachment = await attach(engine, rec, { stdin, detachKeys: keys }); } });
  return follow(attachment!, engine, rec.id);
}

export function register(program: Command): void {
  program
    .command('attach')
    .description('Attach your terminal to a running detached container: its output, and your input when it was started with -i')
    .argument('<container>')
    .option('--no-stdin', 'do not pass your input to the container')
    .addOption(checkedOption('--detach-keys <keys>', 'keys that detach and leave the container running', (v) => parseDetachKeys(v)).default(DEFAULT_DETACH_KEYS))
    .action(async (name: string, flags: { stdin: boolean; detachKeys: string }) => {
      const engine = await openEngine();
      const rec = containerStore(engine).resolve(name);
      if (!isRunning(engine, rec)) throw new EngineError(`cannot attach to ${rec.name}: it is not running (start it with start -a)`);
      if (!rec.runToken) throw new EngineError(`cannot attach to ${rec.name}: it runs in the foreground of another rootlet; use exec`);
      process.exitCode = await follow(await attach(engine, rec, { stdin: flags.stdin, detachKeys: parseDetachKeys(flags.detachKeys) }), engine, rec.id);
    });
}

