import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CopyInput } from '../../storage/layer-pack.js';
import { hexOf, tmpName } from '../../image/store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { storeLayer, type StoredLayer } from '../images/layers.js';
import { changesInput } from '../containers/diff.js';
import { containerStore } from '../containers/state.js';

/**
 * The two ways a build step makes a layer: the changes a RUN step's
 * container made (read from its upper directory, as `diff` reads them),
 * and the files a COPY/ADD puts at its destination. Either way rootlet's
 * helper writes an OCI layer tar inside the user's namespace (owners as
 * the container sees them), and the tar is stored as any pulled layer.
 */

async function storeTar(engine: Engine, tar: string): Promise<StoredLayer> {
  try {
    return await storeLayer(engine, tar, { outsideIds: 'fail', warn: () => {} });
  } finally {
    rmSync(tar, { force: true });
  }
}

/** A stopped container's changes as a new layer. */
export async function layerFromContainer(engine: Engine, containerId: string): Promise<StoredLayer> {
  const rec = containerStore(engine).get(containerId);
  if (!rec) throw new EngineError('the step\'s container is gone');
  const changes = changesInput(engine, rec);
  if (!changes) throw new EngineError('the step\'s container left no file system');
  const out = join(engine.paths.tmp, tmpName('build-layer'));
  const input = { ...changes, out };
  try {
    await engine.ns().runCheckedAsync(engine.helperCommand('__pack-changes', [JSON.stringify(input)]), 'cannot read the step\'s changes', { env: engine.helperEnv() });
  } catch (err) {
    rmSync(out, { force: true });
    throw err;
  }
  return storeTar(engine, out);
}

/** The host directories of layers by diff id, top first (as the helpers take them). */
export function layerDirs(engine: Engine, diffIds: string[]): string[] {
  return [...diffIds].reverse().map((d) => join(engine.paths.layers, hexOf(d)));
}

/**
 * A COPY/ADD's files as a tar (not yet stored): its content hash is the
 * cache key's part, so a cache hit stores nothing. The caller stores or
 * discards it (`storeCopy`, `rmSync`).
 */
export async function packCopyTar(engine: Engine, input: Omit<CopyInput, 'out'>): Promise<{ tar: string; hash: string }> {
  const out = join(engine.paths.tmp, tmpName('build-copy'));
  try {
    const r = await engine.ns().runAsync(engine.helperCommand('__pack-copy', [JSON.stringify({ ...input, out })]), { env: engine.helperEnv() });
    if (r.code !== 0) {
      const last = r.stderr.trim().split('\n').pop() ?? `exit status ${r.code}`;
      throw new EngineError(last.replace(/^__pack-copy: /, ''));
    }
    return { tar: out, hash: (JSON.parse(r.stdout) as { hash: string }).hash };
  } catch (err) {
    rmSync(out, { force: true });
    throw err;
  }
}

export function storeCopy(engine: Engine, tar: string): Promise<StoredLayer> {
  return storeTar(engine, tar);
}
