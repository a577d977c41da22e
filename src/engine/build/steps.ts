import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CopyInput } from '../../storage/layer-pack.js';
import { hexOf, tmpName } from '../../image/store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { trace } from '../../util/trace.js';
import { adoptLayer, layerTemps, storeLayer, type StoredLayer } from '../images/layers.js';
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
  return packStore(engine, { changes }, 'cannot read the step\'s changes');
}

/**
 * Packs a step's layer and extracts it into the store in one helper run
 * (storage/pack-store.ts), then takes it in as storeLayer takes a pulled
 * one. A failure leaves neither the layer nor its blob.
 */
async function packStore(engine: Engine, what: { changes: object } | { copy: Omit<CopyInput, 'out'> }, failure?: string): Promise<StoredLayer> {
  const { tmpLayer, tmpBlob } = layerTemps(engine);
  const ns = engine.ns();
  const input = { ...what, dest: tmpLayer, blob: tmpBlob, idLimit: ns.size };
  let r;
  try {
    r = await ns.runAsync(engine.helperCommand('__pack-store', [JSON.stringify(input)]), { env: engine.helperEnv() });
  } catch (err) {
    await ns.runAsync(['rm', '-rf', tmpLayer]);
    rmSync(tmpBlob, { force: true });
    throw err;
  }
  trace('build: layer packed and extracted');
  if (r.code !== 0) {
    await ns.runAsync(['rm', '-rf', tmpLayer]);
    rmSync(tmpBlob, { force: true });
    const last = r.stderr.trim().split('\n').pop()?.replace(/^__pack-store: /, '');
    throw new EngineError(failure ? `${failure}: ${last || `exit status ${r.code}`}` : last || `exit status ${r.code}`);
  }
  return adoptLayer(engine, tmpLayer, tmpBlob, JSON.parse(r.stdout) as StoredLayer, { warn: () => {} });
}

/** A COPY/ADD's layer straight into the store (its cache key was known beforehand, from the context). */
export function storeCopyDirect(engine: Engine, input: Omit<CopyInput, 'out'>): Promise<StoredLayer> {
  return packStore(engine, { copy: input });
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
