import type { Command } from 'commander';
import { services } from './common.js';

/** `tag` / `image tag`. */
export function defineTag(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Give an image another name (moving the name if another image had it)')
    .usage('SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]')
    .argument('<source>')
    .argument('<target>')
    .action(async (source: string, target: string) => {
      await (await services()).images.tag(source, target);
    });
}
