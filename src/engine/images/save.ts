import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import {
  ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, blobEntry, MEDIA_OCI_INDEX, OCI_LAYOUT, parseManifest,
  type DockerArchiveImage, type OciIndex,
} from '../../image/archive-formats.js';
import { MEDIA, type Descriptor } from '../../image/oci.js';
import { familiarName, formatReference, parseReference, repository } from '../../image/reference.js';
import { hexOf, type ImageRecord } from '../../image/store.js';
import { isZstd, zstdDecompressor } from '../../image/zstd.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';

import type { ArchiveFormat } from '../../image/archive-formats.js';

interface SaveItem {
  img: ImageRecord;
  /** Normalized names to restore on load; none when the image was given by id. */
  names: string[];
}

/**
 * What each argument means, as `docker save` reads them: an id saves the
 * image without names, NAME:TAG that name, a bare NAME every tag of that
 * repository. Images named twice are saved once.
 */
function saveItems(engine: Engine, refs: string[]): SaveItem[] {
  const items = new Map<string, SaveItem>();
  for (const ref of refs) {
    const img = engine.images.find(ref);
    if (!img) throw new EngineError(`No such image: ${ref}`);
    const item = items.get(img.id) ?? { img, names: [] };
    items.set(img.id, item);
    if (img.id.startsWith(ref) || img.id.slice(7).startsWith(ref)) continue;
    const r = parseReference(ref);
    const explicitTag = /:[^/]*$/.test(ref.split('@')[0]!);
    const wanted = explicitTag ? img.tags.filter((t) => t === formatReference(r)) : img.tags.filter((t) => repository(parseReference(t, null)) === repository(r));
    // A short name found through localhost/NAME: keep the name the image has.
    const names = wanted.length ? wanted : img.tags.filter((t) => t.endsWith(`/${ref}`) || t.endsWith(`/${ref}:latest`));
    for (const n of names) if (!item.names.includes(n)) item.names.push(n);
  }
  return [...items.values()];
}

const EPOCH = new Date(0);

function addBuffer(pack: tar.Pack, name: string, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    quiet(pack.entry({ name, mode: 0o644, mtime: EPOCH }, data, (e) => (e ? reject(e) : resolve())));
  });
}

/**
 * An entry whose error its callback reports: a pack destroyed mid-entry (its
 * output failed) also emits the error on the entry, which nothing else listens to.
 */
function quiet<T extends { on(event: 'error', fn: (e: Error) => void): unknown }>(entry: T): T {
  entry.on('error', () => {});
  return entry;
}

/** Writes a stream as one entry of `size` bytes; returns the sha256 of what was written. */
async function addStream(pack: tar.Pack, name: string, size: number, body: Readable): Promise<string> {
  const hash = createHash('sha256');
  // streamx's writable, used through the node-compatible part of its interface.
  let sink!: NodeJS.WritableStream;
  const done = new Promise<void>((resolve, reject) => {
    sink = quiet(pack.entry({ name, size, mode: 0o644, mtime: EPOCH }, (e) => (e ? reject(e) : resolve()))) as unknown as NodeJS.WritableStream;
  });
  // The loop below may end on the entry's error before `done` is awaited: it is handled, not left unhandled.
  done.catch(() => {});
  for await (const chunk of body) {
    hash.update(chunk as Buffer);
    if (!sink.write(chunk as Buffer)) await once(sink, 'drain');
  }
  sink.end();
  await done;
  return `sha256:${hash.digest('hex')}`;
}

function isZstdFile(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && isZstd(head);
  } finally {
    closeSync(fd);
  }
}

function isGzip(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** The image's manifest as stored: its exact bytes and what it lists. */
function storedManifest(engine: Engine, img: ImageRecord): { bytes: Buffer; mediaType: string; layers: Descriptor[] } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(engine.images.blobPath(img.manifestDigest));
  } catch {
    throw corrupt(img, `its manifest ${img.manifestDigest} is missing`);
  }
  const m = parseManifest(bytes, `the manifest of ${img.id}`);
  if (m.layers.length !== img.layers.length) throw corrupt(img, 'its manifest and config list different numbers of layers');
  return { bytes, mediaType: m.mediaType ?? MEDIA.ociManifest, layers: m.layers };
}

function corrupt(img: ImageRecord, why: string): EngineError {
  return new EngineError(`cannot save image ${img.id.slice(7, 19)}: ${why} in the store: run \`rootlet image check --repair\`, or pull or load the image again`);
}

function blobFile(engine: Engine, img: ImageRecord, digest: string): string {
  const file = engine.images.blobPath(digest);
  try {
    statSync(file);
  } catch {
    throw corrupt(img, `blob ${digest} is missing`);
  }
  return file;
}

async function writeDockerArchive(engine: Engine, pack: tar.Pack, items: SaveItem[]): Promise<void> {
  const plan = items.map(({ img, names }) => ({ img, manifest: storedManifest(engine, img), names }));
  const manifest: DockerArchiveImage[] = plan.map(({ img, names }) => ({
    Config: `${hexOf(img.id)}.json`,
    RepoTags: names.length ? names.map(familiarName) : null,
    Layers: img.layers.map((d) => `${hexOf(d)}.tar`),
  }));
  // manifest.json first, so that a reader learns which entries are layers before they come.
  await addBuffer(pack, 'manifest.json', JSON.stringify(manifest));
  const written = new Set<string>();
  for (const { img, manifest: m } of plan) {
    await addBuffer(pack, `${hexOf(img.id)}.json`, readFileSync(blobFile(engine, img, img.id)));
    const sizes = engine.images.layerSizes(img.layers);
    for (const [i, diffId] of img.layers.entries()) {
      if (written.has(diffId)) continue;
      written.add(diffId);
      const file = blobFile(engine, img, m.layers[i]!.digest);
      // docker-archive layers are plain tars whose digest is the diff id.
      const raw = createReadStream(file);
      const body = isGzip(file) ? raw.pipe(createGunzip()) : isZstdFile(file) ? raw.pipe(zstdDecompressor()) : raw;
      raw.on('error', (e) => body.destroy(e));
      const got = await addStream(pack, `${hexOf(diffId)}.tar`, sizes[i]!, body);
      if (got !== diffId) throw corrupt(img, `layer ${diffId} reads as ${got}`);
    }
  }
}

async function writeOciArchive(engine: Engine, pack: tar.Pack, items: SaveItem[]): Promise<void> {
  const plan = items.map(({ img, names }) => ({ img, manifest: storedManifest(engine, img), names }));
  const index: OciIndex = {
    schemaVersion: 2,
    mediaType: MEDIA_OCI_INDEX,
    manifests: plan.flatMap(({ img, manifest: m, names }) => {
      const d = { mediaType: m.mediaType, digest: img.manifestDigest, size: m.bytes.length };
      return names.length ? names.map((n) => ({ ...d, annotations: { [ANNOTATION_IMAGE_NAME]: n, [ANNOTATION_REF_NAME]: n } })) : [d];
    }),
  };
  await addBuffer(pack, 'oci-layout', OCI_LAYOUT);
  await addBuffer(pack, 'index.json', JSON.stringify(index));
  const written = new Set<string>();
  // Manifests and configs before layers, so that a reader knows the layers when they come.
  for (const { img, manifest: m } of plan) {
    for (const [digest, data] of [[img.manifestDigest, m.bytes], [img.id, readFileSync(blobFile(engine, img, img.id))]] as const) {
      if (!written.has(digest)) await addBuffer(pack, blobEntry(digest), data);
      written.add(digest);
    }
  }
  for (const { img, manifest: m } of plan) {
    for (const l of m.layers) {
      if (written.has(l.digest)) continue;
      written.add(l.digest);
      const file = blobFile(engine, img, l.digest);
      const got = await addStream(pack, blobEntry(l.digest), statSync(file).size, createReadStream(file));
      if (got !== l.digest) throw corrupt(img, `blob ${l.digest} reads as ${got}`);
    }
  }
}

/** `save`: writes the images named by `refs` to `out` as a tar archive of `format`. */
export async function saveImages(engine: Engine, refs: string[], format: ArchiveFormat, out: Writable): Promise<void> {
  const items = saveItems(engine, refs);
  const pack = tar.pack();
  const written = pipeline(Readable.from(pack), out);
  // The output failing first (a reader gone, a full disk) ends the writing too: the pack's destruction fails
  // the entry being written. Handled from the start: the writer may be busy when it happens.
  let outputError: unknown;
  const settled = written.then(() => {}, (err: unknown) => { outputError ??= err; pack.destroy(err as Error); });
  try {
    await (format === 'oci-archive' ? writeOciArchive : writeDockerArchive)(engine, pack, items);
    pack.finalize();
  } catch (err) {
    // What failed first is the error: the output's, or the writer's (then the output only ends early).
    const first = outputError;
    pack.destroy(err as Error);
    await settled;
    throw first ?? err;
  }
  await written;
}
