import type { Command } from 'commander';
import { parseChoice } from '../util/values.js';
import { valueOption } from './flag-values.js';
import { errorMessage } from '../util/errors.js';
import type { InspectType } from '../engine/index.js';
import { services } from './common.js';
import { formatEach } from './list-format.js';

interface InspectFlags {
  format?: string;
  size?: boolean;
  type?: InspectType;
}

/**
 * Prints a JSON array of what the names mean, or a template's output for
 * each; like Docker, a missing name is reported after the others and makes
 * the exit status 1. `lookup` is the one engine call per name.
 */
export async function printInspected(names: string[], lookup: (name: string) => Promise<unknown>, format: string | undefined): Promise<void> {
  const docs: unknown[] = [];
  const errors: string[] = [];
  for (const name of names) {
    try {
      docs.push(await lookup(name));
    } catch (err) {
      errors.push(`Error: ${errorMessage(err)}\n`);
    }
  }
  process.stdout.write(format ? formatEach(format, docs) : `${JSON.stringify(docs, null, 4)}\n`);
  process.stderr.write(errors.join(''));
  if (errors.length) process.exitCode = 1;
}

async function inspect(names: string[], flags: InspectFlags, type: InspectType | undefined): Promise<void> {
  const svc = await services();
  await printInspected(names, (name) => svc.inspect(name, { type, size: flags.size }), flags.format);
}

export function inspectCommand(cmd: Command, type: InspectType | undefined): Command {
  cmd
    .argument('<name...>')
    .option('-f, --format <template>', 'format each result with a Go template, e.g. \'{{.State.Status}}\' or \'{{json .Config}}\'');
  if (type !== 'image') cmd.option('-s, --size', 'add SizeRw and SizeRootFs for containers (what each wrote, and with its image)');
  if (!type) cmd.addOption(valueOption('--type <type>', 'only look for this kind of object: container or image', (v, flag) => parseChoice(v, flag, ['container', 'image'], 'a kind of object')));
  return cmd.action(async (names: string[], flags: InspectFlags) => inspect(names, flags, type ?? flags.type));
}

export function register(program: Command): void {
  inspectCommand(program
    .command('inspect')
    .description('Show low-level information on containers and images, as JSON')
    .usage('[OPTIONS] NAME|ID [NAME|ID...]'), undefined);
}

/** `container inspect` (registered by the container group). */
export function registerContainerInspect(parent: Command): void {
  inspectCommand(parent
    .command('inspect')
    .description('Show low-level information on one or more containers, as JSON')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]'), 'container');
}

/** `image inspect` (registered by the image group). */
export function defineImageInspect(parent: Command, name: string): Command {
  return inspectCommand(parent
    .command(name)
    .description('Show low-level information on one or more images, as JSON')
    .usage('[OPTIONS] IMAGE [IMAGE...]'), 'image');
}
