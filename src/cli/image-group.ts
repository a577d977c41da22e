import type { Command } from 'commander';
import { defineHistory } from './history.js';
import { defineImagePrune } from './image-prune.js';
import { defineImages, defineImport, defineRmi } from './images.js';
import { defineImageInspect } from './inspect.js';
import { defineImageCheck } from './image-check.js';
import { defineImageAudit } from './image-audit.js';
import { defineLoad, defineSave } from './save-load.js';
import { defineTag } from './tag.js';
import { defineBuild } from './build.js';

/** Defines one command on `parent` under `name`. */
export type DefineCommand = (parent: Command, name: string) => Command;

export interface ImageCommand {
  /** Its name under `rootlet image`. */
  sub: string;
  /** Docker's top-level short form (`images`, `rmi`, ...), if it has one. */
  top?: string;
  define: DefineCommand;
}

/**
 * The image commands, each defined once and registered both under `image`
 * and, where Docker has one, as a top-level command. A new one (e.g.
 * `image check`) is added here, and its top-level name, if any, to
 * program.ts's entry for this module.
 */
export const IMAGE_COMMANDS: ImageCommand[] = [
  { sub: 'ls', top: 'images', define: defineImages },
  { sub: 'rm', top: 'rmi', define: defineRmi },
  { sub: 'tag', top: 'tag', define: defineTag },
  { sub: 'history', top: 'history', define: defineHistory },
  { sub: 'inspect', define: defineImageInspect },
  { sub: 'check', define: defineImageCheck },
  { sub: 'audit', define: defineImageAudit },
  { sub: 'prune', define: defineImagePrune },
  { sub: 'save', top: 'save', define: defineSave },
  { sub: 'load', top: 'load', define: defineLoad },
  { sub: 'import', top: 'import', define: defineImport },
  { sub: 'build', define: defineBuild },
];

/**
 * Commands whose modules register them at the top level (`pull`, `push`),
 * also under `image`: the same definition, loaded only when named (or for
 * the group's help), so `images` does not pay for the registry code.
 */
const TOP_LEVEL_MODULES: Array<{ sub: string; load: () => Promise<{ register: (parent: Command) => void }> }> = [
  { sub: 'pull', load: () => import('./pull.js') },
  { sub: 'push', load: () => import('./push.js') },
];

export async function register(program: Command, sub?: string): Promise<void> {
  const image = program.command('image').description('Manage images (ls, rm, tag, history, inspect, check, audit, prune, save, load, import, pull, push)');
  for (const c of IMAGE_COMMANDS) {
    const cmd = c.define(image, c.sub);
    if (c.sub === 'ls') cmd.alias('list');
    if (c.sub === 'rm') cmd.alias('remove');
    if (c.top) c.define(program, c.top);
  }
  const loaded = TOP_LEVEL_MODULES.filter((m) => sub === undefined || m.sub === sub);
  for (const m of loaded) (await m.load()).register(image);
}
