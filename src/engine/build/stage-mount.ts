import { join } from 'node:path';
import { hexOf, tmpName } from '../../image/store.js';
import { containerDirs, mountScript, shq, unmountScript } from '../../storage/rootfs.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';

/**
 * RUN --mount=type=bind,from=STAGE|IMAGE: the stage's or image's root file
 * system, made as a container's is (the store's driver over its layers),
 * in the holder's mount namespace, where the step's runtime starts and so
 * sees it. It always has an upper directory of its own: `rw` writes land
 * there and are discarded with it (BuildKit's rule); without `rw` the
 * step's bind is read-only. Layers are never written.
 */
export interface MountedLayers {
  dir: string;
  release(): Promise<void>;
}

export async function mountLayers(engine: Engine, diffIds: string[]): Promise<MountedLayers> {
  const base = join(engine.paths.tmp, tmpName('build-from'));
  const dirs = containerDirs(base);
  for (const d of [dirs.upper, dirs.work, dirs.merged]) engine.mkdirForNs(d, 0o755);
  const driver = engine.storageDriver();
  const ns = engine.ns();
  const remove = async () => {
    const r = await ns.runAsync(['sh', '-c', `${unmountScript(driver, dirs)}; rm -rf ${shq(base)}`]);
    if (r.code !== 0) engine.ns().run(['rm', '-rf', base]);
  };
  if (diffIds.length) {
    const script = `cd ${shq(engine.paths.layers)} && ${mountScript(driver, engine.paths.layers, diffIds.map(hexOf), dirs)}`;
    const r = await ns.runAsync(['sh', '-c', script]);
    if (r.code !== 0) {
      await remove();
      throw new EngineError(`cannot mount the stage's file system (${driver}): ${r.stderr.trim().split('\n').pop() || `exit status ${r.code}`}`);
    }
  }
  // A stage with no layer (FROM scratch and nothing added) is an empty directory.
  return { dir: diffIds.length ? dirs.merged : dirs.upper, release: remove };
}
