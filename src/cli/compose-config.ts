import type { Command } from 'commander';
import type { LoadOptions } from '../compose/model.js';
import { EngineError } from '../util/errors.js';

/** `compose config`: the resolved, normalised model, or one view of it. */
export function registerComposeConfig(compose: Command, options: () => LoadOptions): void {
  compose
    .command('config')
    .description('Check the compose files and print the resolved, normalised project')
    .option('--services', 'print the service names, one per line')
    .option('--volumes', 'print the volume names, one per line')
    .option('--profiles', 'print the profile names, one per line')
    .option('--images', 'print the image names, one per line')
    .option('-q, --quiet', 'only check the files: print nothing')
    .option('--format <format>', 'yaml or json', 'yaml')
    .action(async (flags: { services?: boolean; volumes?: boolean; profiles?: boolean; images?: boolean; quiet?: boolean; format: string }) => {
      if (flags.format !== 'yaml' && flags.format !== 'json') throw new EngineError(`invalid --format "${flags.format}": use yaml or json`, 1);
      const views = (['services', 'volumes', 'profiles', 'images'] as const).filter((v) => flags[v]);
      if (views.length > 1) throw new EngineError(`--${views[0]} and --${views[1]} cannot be used together`, 1);
      const { loadProject, renderConfig } = await import('../compose/load/index.js');
      const project = await loadProject(options());
      if (flags.quiet) return;
      process.stdout.write(renderConfig(project, views[0] ?? (flags.format as 'yaml' | 'json')));
    });
}
