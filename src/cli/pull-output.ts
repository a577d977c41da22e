import { familiarName } from '../engine/index.js';
import type { ImagePullEvent } from '../engine/index.js';
import { PullProgress } from './pull-progress.js';

/**
 * Docker's pull output from the image service's pull events, for `pull`
 * (on stdout) and for `run` and `create` pulling a missing image (on
 * stderr, as Docker). Quiet: only each pulled name (and warnings about
 * the layers, which are never kept back).
 */
export function pullRenderer(o: { quiet: boolean; out: NodeJS.WriteStream }): (e: ImagePullEvent) => void {
  let progress: PullProgress | undefined;
  return (e) => {
    switch (e.type) {
      case 'begin':
        progress = o.quiet ? undefined : new PullProgress(o.out);
        if (e.missingLocally) progress?.header(`Unable to find image '${e.missingLocally}' locally`);
        if (e.defaultTag) progress?.header(`Using default tag: ${e.defaultTag}`);
        return;
      case 'pulled': {
        const r = e.result;
        progress?.flush();
        if (r.remapped) process.stderr.write(`${r.remapped} file owner(s) outside your subordinate range were given to root\n`);
        if (progress) {
          o.out.write(`Digest: ${r.digest}\n`);
          o.out.write(`Status: ${r.upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarName(r.name)}\n`);
        }
        o.out.write(`${r.name}\n`);
        return;
      }
      default:
        if (progress) progress.onEvent(e);
        else if (e.type === 'warning' && e.kind === 'devices') process.stderr.write(`WARNING: ${e.message}\n`);
    }
  };
}

/**
 * The progress of a pull that `run` or `create` may do, on stderr, made at
 * the first event: most runs pull nothing, and touching process.stderr
 * builds node's stream machinery (~3 ms of a start).
 */
export function pullOnDemand(): (e: ImagePullEvent) => void {
  let render: ((e: ImagePullEvent) => void) | undefined;
  return (e) => (render ??= pullRenderer({ quiet: false, out: process.stderr }))(e);
}
