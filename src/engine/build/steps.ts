import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CopyInput } from '../../storage/layer-pack.js';
import type { ChangesWire } from '../../storage/pack-server.js';
import type { LayerPacker } from './layer-packer.js';
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
export async function layerFromContainer(engine: Engine, packer: LayerPacker, containerId: string): Promise<StoredLayer> {
  const rec = containerStore(engine).get(containerId);
  if (!rec) throw new EngineError('the step\'s container is gone');
  const changes = changesInput(engine, rec);
  if (!changes) throw new EngineError('the step\'s container left no file system');
  return packStore(engine, packer, { changes }, 'cannot read the step\'s changes');
}

/**
 * Packs a step's layer and extracts it into the store in one pass of the
 * build's packer (storage/pack-server.ts), then takes it in as storeLayer
 * takes a pulled one. A failure leaves neither the layer nor its blob.
 */
async function packStore(engine: Engine, packer: LayerPacker, what: { changes: ChangesWire } | { copy: Omit<CopyInput, 'out'> }, failure?: string): Promise<StoredLayer> {
  const { tmpLayer, tmpBlob } = layerTemps(engine);
  let r: StoredLayer;
  try {
    r = await packer.request<StoredLayer>({ op: 'store', ...what, dest: tmpLayer, blob: tmpBlob, idLimit: engine.ns().size });
  } catch (err) {
    // The packer removes what it wrote when it fails; not when it died.
    await engine.ns().runAsync(['rm', '-rf', tmpLayer]);
    rmSync(tmpBlob, { force: true });
    throw failure ? new EngineError(`${failure}: ${(err as Error).message}`) : err;
  }
  trace('build: layer packed and extracted');
  return adoptLayer(engine, tmpLayer, tmpBlob, r, { warn: () => {} });
}

/** A COPY/ADD's layer straight into the store (its cache key was known beforehand, from the context). */
export function storeCopyDirect(engine: Engine, packer: LayerPacker, input: Omit<CopyInput, 'out'>): Promise<StoredLayer> {
  return packStore(engine, packer, { copy: input });
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
export async function packCopyTar(engine: Engine, packer: LayerPacker, input: Omit<CopyInput, 'out'>): Promise<{ tar: string; hash: string }> {
  const out = join(engine.paths.tmp, tmpName('build-copy'));
  try {
    const { hash } = await packer.request<{ hash: string }>({ op: 'copy-tar', copy: { ...input, out } });
    return { tar: out, hash };
  } catch (err) {
    rmSync(out, { force: true });
    throw err;
  }
}

export function storeCopy(engine: Engine, tar: string): Promise<StoredLayer> {
  return storeTar(engine, tar);
}
