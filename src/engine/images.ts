import { applyChanges } from '../image/changes.js';
import { hostArchitecture, MEDIA, type ImageConfig, type Manifest } from '../image/oci.js';
import { familiarName, formatReference, parseReference } from '../image/reference.js';
import type { ImageRecord } from '../image/store.js';
import type { Engine } from './engine.js';
import { EngineError } from './errors.js';
import { removeLayerDirs, storeLayer } from './layers.js';

export interface ImportOptions {
  source: string;
  reference?: string;
  changes: string[];
  message?: string;
  /** Give files owned by ids outside the user's range to container root instead of failing. */
  remapOutsideIds?: boolean;
}

/** `import`: a one-layer image from a root filesystem tarball, as `docker import`. */
export async function importImage(engine: Engine, opts: ImportOptions): Promise<{ id: string; remapped: number }> {
  // Validate the name before reading anything: a bad name must not cost an extraction.
  const name = opts.reference ? formatReference(parseReference(opts.reference)) : undefined;
  const runtimeConfig = applyChanges({}, opts.changes);
  const layer = await storeLayer(engine, opts.source, { outsideIds: opts.remapOutsideIds ? 'root' : 'fail' });
  const created = new Date().toISOString();
  const config: ImageConfig = {
    created,
    architecture: hostArchitecture(),
    os: 'linux',
    config: runtimeConfig,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created, created_by: 'rootlet import', ...(opts.message ? { comment: opts.message } : {}) }],
  };
  const configDigest = engine.images.writeBlob(JSON.stringify(config));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: Buffer.byteLength(JSON.stringify(config)) },
    layers: [{ mediaType: MEDIA.ociLayerTar, digest: layer.digest, size: layer.blobSize }],
  };
  const manifestDigest = engine.images.writeBlob(JSON.stringify(manifest));
  engine.images.add({ id: configDigest, manifestDigest, config, layers: [{ diffId: layer.diffId, size: layer.tarSize }] }, name ? [name] : []);
  return { id: configDigest, remapped: layer.remapped };
}

export interface RemoveImageResult {
  untagged: string[];
  deleted: string[];
}

/**
 * `rmi`: untags the name given; deletes the image when no tag and no
 * container is left on it. An image that containers use is refused unless
 * forced, and even then its layers stay until those containers are gone.
 */
export function removeImage(engine: Engine, ref: string, force: boolean): RemoveImageResult {
  const img = engine.images.resolve(ref);
  const users = engine.images.containersUsing(img.id);
  const byId = img.id.startsWith(ref) || img.id.slice(7).startsWith(ref);
  if (users.length && !force) {
    const c = users[0]!;
    throw new EngineError(`conflict: unable to remove image ${familiarOrId(ref, img)} - container ${c.id.slice(0, 12)} (${c.name}) is using it: remove the container first, or use -f to untag it`);
  }
  const untagged: string[] = [];
  if (byId) {
    if (img.tags.length > 1 && !force) {
      throw new EngineError(`conflict: unable to delete ${img.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    }
    for (const t of img.tags) if (engine.images.removeTag(t)) untagged.push(familiarName(t));
  } else {
    const full = formatReference(parseReference(ref));
    const tag = img.tags.find((t) => t === full) ?? img.tags.find((t) => t.endsWith(`/${ref}`) || t.endsWith(`/${ref}:latest`));
    if (tag && engine.images.removeTag(tag)) untagged.push(familiarName(tag));
  }
  const deleted: string[] = [];
  const left = engine.images.get(img.id);
  if (left && left.tags.length === 0 && users.length === 0) {
    const { layers, blobs } = engine.images.deleteImage(img.id, engine.images.readManifest(img));
    removeLayerDirs(engine, layers);
    for (const b of blobs) engine.images.removeBlob(b);
    deleted.push(img.id);
  }
  return { untagged, deleted };
}

function familiarOrId(ref: string, img: ImageRecord): string {
  return img.tags.length && !img.id.includes(ref) ? `"${ref}"` : img.id.slice(7, 19);
}

export function listImages(engine: Engine): ImageRecord[] {
  return engine.images.list();
}
