import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerDirs } from '../../storage/rootfs.js';
import type { Change } from '../../storage/changes.js';
import { layerNames } from './bundle.js';
import { containerDir } from './paths.js';
import { refreshState } from './state.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';

/** Where the runtime mounted something: it made those paths, the container did not change them. */
function mountPoints(dir: string): string[] {
  try {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { mounts?: Array<{ destination: string }> };
    return (config.mounts ?? []).map((m) => m.destination);
  } catch {
    return [];
  }
}

/**
 * What the changes helpers (`diff`'s listing, build's layer packing) read
 * of a container: its own layer (the overlay upper directory, or the vfs
 * copy) against the image's layers, leaving out the runtime's mount points.
 * Undefined when it never started (or, with vfs, the copy of the image never
 * finished): nothing changed yet.
 */
export function changesInput(engine: Engine, rec: ContainerRecord) {
  const dir = containerDir(engine, rec.id);
  const dirs = containerDirs(dir);
  const copy = rec.spec.driver === 'vfs';
  if (!existsSync(dirs.upper) || (copy && !existsSync(join(dirs.upper, '.rootlet-complete')))) return undefined;
  return {
    top: dirs.upper,
    mode: copy ? 'copy' as const : 'overlay' as const,
    layers: [...layerNames(engine, rec)].reverse().map((n) => join(engine.paths.layers, n)),
    ignore: mountPoints(dir),
    skipAtRoot: copy ? ['.rootlet-complete'] : [],
    whiteoutFiles: rec.spec.driver === 'fuse-overlayfs',
  };
}

/**
 * `diff`: what the container changed in its file system against its image,
 * read from its own layer (the overlay upper directory, or the vfs copy)
 * by a helper inside the user's namespace, where files of every container
 * user are readable. Works whether the container runs or not.
 */
export async function containerDiff(engine: Engine, rec: ContainerRecord): Promise<Change[]> {
  const cur = refreshState(engine, rec);
  if (!cur || cur.state === 'removing') throw new EngineError(`container ${rec.name} is being removed`);
  const input = changesInput(engine, cur);
  if (!input) return [];
  const out = await engine.ns().runCheckedAsync(engine.helperCommand('__container-changes', [JSON.stringify(input)]),
    `cannot read the changes of container ${cur.name}`, { env: engine.helperEnv() });
  return JSON.parse(out) as Change[];
}
