import { applyChanges } from '../image/changes.js';
import { hostArchitecture, MEDIA, type ImageConfig, type Manifest } from '../image/oci.js';
import { familiarName, formatReference, parseReference } from '../image/reference.js';
import type { ImageRecord } from '../image/store.js';
import type { Engine } from './engine.js';
import { EngineError } from './errors.js';
import { removeLayerDirs, storeLayer, type StoredLayer } from './layers.js';

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
  const { id } = commitImage(engine, { config: Buffer.from(JSON.stringify(config)), layers: [layer] }, name ? [name] : []);
  return { id, remapped: layer.remapped };
}

export interface ImageParts {
  /** The config blob's exact bytes: its digest is the image id. */
  config: Buffer;
  /** Layers already in the store (storeLayer), in config order; mediaType defaults to an OCI tar or tar+gzip by content. */
  layers: Array<StoredLayer & { mediaType?: string }>;
  /** The manifest's exact bytes when the image came with one (pull, load): kept so its digest stays the same. */
  manifest?: Buffer;
}

/**
 * Records an image whose layers are stored: checks that the config names
 * exactly those layers, keeps config and manifest as blobs, and points
 * `names` at it, in one transaction. Import, pull and load all end here.
 */
export function commitImage(engine: Engine, parts: ImageParts, names: string[]): { id: string; manifestDigest: string } {
  let config: ImageConfig;
  try {
    config = JSON.parse(parts.config.toString('utf8')) as ImageConfig;
  } catch {
    throw new EngineError('the image config is not valid JSON: the image is corrupt; nothing was stored');
  }
  const want = config.rootfs?.diff_ids ?? [];
  const got = parts.layers.map((l) => l.diffId);
  if (want.length !== got.length || want.some((d, i) => d !== got[i])) {
    throw new EngineError(`the image config lists layers ${want.join(', ') || '(none)'} but the layers hold ${got.join(', ') || '(none)'}: the image is corrupt; nothing was stored`);
  }
  const id = engine.images.writeBlob(parts.config);
  const manifest = parts.manifest ?? Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: id, size: parts.config.length },
    layers: parts.layers.map((l) => ({ mediaType: l.mediaType ?? (l.blobSize === l.tarSize ? MEDIA.ociLayerTar : MEDIA.ociLayerGzip), digest: l.digest, size: l.blobSize })),
  } satisfies Manifest));
  const manifestDigest = engine.images.writeBlob(manifest);
  engine.images.add({ id, manifestDigest, config, layers: parts.layers.map((l) => ({ diffId: l.diffId, size: l.tarSize })) }, names);
  return { id, manifestDigest };
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
