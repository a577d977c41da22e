import { applyChanges } from '../../image/changes.js';
import type { ImageConfig } from '../../image/oci.js';
import { familiarName, formatReference, parseReference } from '../../image/reference.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { containerStore } from '../containers/state.js';
import { commitImage } from '../images/lifecycle.js';
import { imageEvent, recordEvent } from '../events/log.js';
import { layerFromContainer } from './steps.js';
import { LayerPacker } from './layer-packer.js';

/**
 * `commit`: the container's image plus one layer of what the container
 * changed (read from its upper directory as a RUN step's is), the config
 * the image had with `changes` applied; a history entry with the message.
 */
export async function commitContainer(engine: Engine, ref: string, req: { reference?: string; changes?: string[]; message?: string; author?: string }): Promise<{ id: string }> {
  const name = req.reference ? formatReference(parseReference(req.reference)) : undefined;
  const rec = containerStore(engine).resolve(ref);
  const base = engine.images.get(rec.imageId);
  if (!base) throw new EngineError(`the image of container ${rec.name} is gone: cannot commit it`);
  const config = structuredClone(base.config) as ImageConfig;
  config.config = applyChanges(config.config ?? {}, req.changes ?? []);
  const packer = new LayerPacker(engine);
  let layer;
  try {
    layer = await layerFromContainer(engine, packer, rec.id);
  } finally {
    await packer.close();
  }
  const manifest = engine.images.readManifest(base);
  const sizes = engine.images.layerSizes(base.layers);
  const layers = base.layers.map((diffId, i) => ({
    diffId, digest: manifest?.layers[i]?.digest ?? diffId, blobSize: manifest?.layers[i]?.size ?? 0, tarSize: sizes[i] ?? 0, remapped: 0,
    ...(manifest?.layers[i]?.mediaType ? { mediaType: manifest.layers[i]!.mediaType } : {}),
  }));
  const created = new Date().toISOString();
  config.created = created;
  if (req.author) config.author = req.author;
  config.rootfs = { type: 'layers', diff_ids: [...base.layers, layer.diffId] };
  config.history = [...(config.history ?? []), { created, created_by: `rootlet commit ${rec.name}`, ...(req.message ? { comment: req.message } : {}) }];
  const { id } = commitImage(engine, { config: Buffer.from(JSON.stringify(config)), layers: [...layers, layer] }, name ? [name] : []);
  recordEvent(engine, imageEvent(id, 'commit', name ? familiarName(name) : id));
  return { id };
}
