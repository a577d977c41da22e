import type { Command } from 'commander';
import { EngineError } from '../util/errors.js';
import { services } from './common.js';
import { processContext } from './process-context.js';
import { dockerStatus } from './daemon-errors.js';

/** CONTAINER:PATH, as Docker splits it: a local path containing ":" must start with "/" or "./". */
function splitArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const i = arg.indexOf(':');
  return i <= 0 ? { path: arg } : { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

export function register(program: Command): void {
  program
    .command('cp')
    .description('Copy files between a container and the host (running or stopped containers; "-" for a tar on stdin or stdout)')
    .usage('[OPTIONS] CONTAINER:SRC DEST|-\n       rootlet cp [OPTIONS] SRC|- CONTAINER:DEST')
    .argument('<src>')
    .argument('<dest>')
    .option('-a, --archive', 'keep owners (numeric uid/gid) of files copied into the container (default: container root owns them)')
    .option('-L, --follow-link', 'follow a symlink given as SRC')
    .action((srcArg: string, destArg: string, flags: { archive?: boolean; followLink?: boolean }) => dockerStatus(async () => {
      const src = splitArg(srcArg);
      const dest = splitArg(destArg);
      if (!!src.container === !!dest.container) {
        throw new EngineError(src.container ? 'copying between containers is not supported: copy to the host first' : 'one of SRC and DEST must be CONTAINER:PATH', 1);
      }
      if (!(src.container ? src.path : dest.path)) throw new EngineError('the path in the container must not be empty', 1);
      const svc = await services();
      const opts = { follow: !!flags.followLink, archive: !!flags.archive };
      if (src.container) await svc.containers.copyFrom(src.container, src.path, dest.path, opts, processContext());
      else await svc.containers.copyTo(dest.container!, src.path, dest.path, opts, processContext());
    }));
}
