import type { Readable } from 'node:stream';
import { applyChanges } from '../../image/changes.js';
import { hostArchitecture, MEDIA, type ImageConfig, type Manifest } from '../../image/oci.js';
import { familiarName, formatReference, parseReference } from '../../image/reference.js';
import type { ImageRecord } from '../../image/store.js';
import { containerStore, refreshState } from '../containers/state.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { imageCreated, imageListFilter } from './filter.js';
import { dropAudit } from './audit-cache.js';
import { removeLayerDirs, storeLayer, type StoredLayer } from './layers.js';
import { imageEvent, recordEvent } from '../events/log.js';

export interface ImportOptions {
  /** A file path (absolute: the caller resolved it), '-' for this process's own stdin, or a stream. */
  source: string | Readable;
  reference?: string;
  changes: string[];
  message?: string;
  /** Give files owned by ids outside the user's range to container root instead of failing. */
  remapOutsideIds?: boolean;
  /** Told a warning about the layer (device nodes left out). */
  warn: (message: string) => void;
}

/** `import`: a one-layer image from a root filesystem tarball, as `docker import`. */
export async function importImage(engine: Engine, opts: ImportOptions): Promise<{ id: string; remapped: number }> {
  // Validate the name before reading anything: a bad name must not cost an extraction.
  const name = opts.reference ? formatReference(parseReference(opts.reference)) : undefined;
  const runtimeConfig = applyChanges({}, opts.changes);
  const layer = await storeLayer(engine, opts.source, {
    outsideIds: opts.remapOutsideIds ? 'root' : 'fail',
    emptyMessage: 'import: the archive holds no files (an empty tar): nothing was imported',
    warn: opts.warn,
  });
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
  recordEvent(engine, imageEvent(id, 'import', name ? familiarName(name) : id));
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

/** The containers made from an image, each known to be running or not (settled first). */
export function imageUsers(engine: Engine, imageId: string): Array<{ id: string; name: string; running: boolean }> {
  const store = containerStore(engine);
  return engine.images.containersUsing(imageId).flatMap((u) => {
    const rec = store.get(u.id);
    const now = rec && refreshState(engine, rec);
    return now ? [{ id: now.id, name: now.name, running: now.state === 'running' }] : [];
  });
}

/** Deletes an image that has no name and no container left, with its layers and blobs no other image uses. */
export async function deleteUnusedImage(engine: Engine, img: ImageRecord): Promise<{ reclaimed: number }> {
  const all = engine.images.layerSizes(img.layers);
  const sizes = new Map(img.layers.map((l, i) => [l, all[i] ?? 0]));
  const { layers, blobs } = engine.images.deleteImage(img.id, engine.images.readManifest(img));
  await removeLayerDirs(engine, layers);
  for (const b of blobs) engine.images.removeBlob(b);
  dropAudit(engine, img.layers);
  recordEvent(engine, imageEvent(img.id, 'delete', img.id));
  return { reclaimed: layers.reduce((n, l) => n + (sizes.get(l) ?? 0), 0) };
}

/**
 * `rmi`, as Docker decides: a name is untagged, and the image goes with its
 * last name; an id removes every name, refused when the image has several
 * (unless forced) or containers use it (a stopped one unless forced, a
 * running one always). An image that containers still use keeps its
 * record and layers, nameless, until they are gone (`image prune` then
 * removes it): their root file systems are made of its layers.
 */
export async function removeImage(engine: Engine, ref: string, force: boolean): Promise<RemoveImageResult> {
  const img = engine.images.find(ref);
  if (!img) throw new EngineError(`No such image: ${ref}`);
  const users = imageUsers(engine, img.id);
  const byId = img.id.startsWith(ref) || img.id.slice(7).startsWith(ref);
  const short = img.id.slice(7, 19);
  const untagged: string[] = [];
  const untag = (t: string) => {
    if (!engine.images.removeTag(t)) return;
    untagged.push(familiarName(t));
    recordEvent(engine, imageEvent(img.id, 'untag', familiarName(t)));
  };
  if (byId) {
    const running = users.find((u) => u.running);
    if (running) throw new EngineError(`conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)} (${running.name}): stop and remove it first`);
    if (!force && users.length) throw new EngineError(`conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${users[0]!.id.slice(0, 12)} (${users[0]!.name}): remove it first, or use -f to untag the image`);
    if (!force && img.tags.length > 1) throw new EngineError(`conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories: remove its names one by one, or use -f`);
    img.tags.forEach(untag);
  } else {
    if (img.tags.length === 1 && users.length && !force) {
      throw new EngineError(`conflict: unable to remove repository reference "${ref}" (must force) - container ${users[0]!.id.slice(0, 12)} (${users[0]!.name}) is using its referenced image ${short}: remove the container first, or use -f to untag it`);
    }
    const full = formatReference(parseReference(ref));
    const tag = img.tags.find((t) => t === full) ?? img.tags.find((t) => t.endsWith(`/${ref}`) || t.endsWith(`/${ref}:latest`));
    if (tag) untag(tag);
  }
  const left = engine.images.get(img.id);
  if (!left || left.tags.length || users.length) return { untagged, deleted: [] };
  await deleteUnusedImage(engine, left);
  return { untagged, deleted: [img.id] };
}

/** `images`: the images the filters keep, newest first, each with the names to show. */
export function listImages(engine: Engine, filters: string[] = []): Array<{ image: ImageRecord; names: string[] }> {
  const filter = imageListFilter(filters, (ref) => engine.images.resolve(ref));
  return engine.images.list()
    .filter((i) => filter.test(i))
    .sort((a, b) => imageCreated(b) - imageCreated(a))
    .map((image) => ({ image, names: filter.names(image) }));
}
