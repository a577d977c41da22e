import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, blobEntry, MAX_DOCUMENT, MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX,
  parseDockerManifest, parseIndex, parseJson, parseManifest,
} from '../../image/archive-formats.js';
import { ArchiveError, readArchive } from '../../image/archive-read.js';
import { hostArchitecture, type Descriptor, type ImageConfig } from '../../image/oci.js';
import { familiarName, formatReference, parseReference } from '../../image/reference.js';
import { digestOf } from '../../image/store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { commitImage, type ImageParts } from './lifecycle.js';
import { imageEvent, recordEvent } from '../events/log.js';
import { blobMismatch, removeLayerDirs, storeLayer, type StoredLayer } from './layers.js';

export interface LoadedImage {
  id: string;
  /** Normalized names the archive gave it. */
  names: string[];
}

export interface LoadOptions {
  /** What the archive is called in messages ("archive.tar", "standard input"). */
  what: string;
  outsideIds?: 'fail' | 'root';
  /** Told each warning (device nodes left out) once the load succeeded. */
  warn: (message: string) => void;
}

/** Entries smaller than this are kept in memory until their role is known; larger ones go to a temporary file. */
const IN_MEMORY = 1 << 20;

/**
 * The entries of one archive as they stream past: layers the manifests
 * already named are extracted into the store at once; anything else is
 * kept (in memory, or in a temporary file when large) until the end, when
 * the manifests say what it is. Archives that `save` writes put manifests
 * first, so nothing of theirs is copied; others (Docker's and Podman's
 * docker-archive end with manifest.json) have their layers copied once.
 */
class ArchiveContents {
  readonly kept = new Map<string, Buffer | { file: string; size: number }>();
  readonly links = new Map<string, string>();
  /** Entry name -> the layer it was stored as. */
  readonly stored = new Map<string, StoredLayer>();
  /** Entry names known to be layers, with the digest the archive announces for them (OCI). */
  readonly layerNames = new Map<string, Descriptor | undefined>();
  /** Said once the load succeeded: a failed load keeps none of its layers, so there is nothing to warn about. */
  readonly warnings: string[] = [];
  private spool: string | undefined;
  private spooled = 0;

  constructor(private readonly engine: Engine, private readonly opts: LoadOptions) {}

  async take(name: string, type: string, size: number, linkname: string, body: Readable): Promise<void> {
    if (type === 'symlink' || type === 'link') {
      this.links.set(name, type === 'symlink' ? posix.join(posix.dirname(name), linkname) : linkname.replace(/^(\.\/)+/, ''));
      return;
    }
    if (type !== 'file' && type !== 'contiguous-file') return;
    if (this.layerNames.has(name)) {
      this.stored.set(name, await this.storeLayer(name, body));
      return;
    }
    if (size <= IN_MEMORY) {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      this.kept.set(name, data);
      this.learn(name, data);
      return;
    }
    this.spool ??= mkdtempSync(join(this.engine.paths.tmp, 'load-'));
    const file = join(this.spool, String(this.spooled++));
    await pipeline(body, createWriteStream(file, { mode: 0o600 }));
    this.kept.set(name, { file, size });
  }

  /** Reads what a small JSON entry says about which later entries are layers. */
  private learn(name: string, data: Buffer): void {
    try {
      if (name === 'manifest.json') {
        for (const img of parseDockerManifest(data)) for (const l of img.Layers) this.layerNames.set(this.resolve(l), undefined);
      } else if (name.startsWith('blobs/')) {
        const m = JSON.parse(data.toString('utf8')) as { layers?: Descriptor[] };
        if (Array.isArray(m.layers)) for (const l of m.layers) if (typeof l?.digest === 'string') this.layerNames.set(blobEntry(l.digest), l);
      }
    } catch {
      // Not a document that names layers: it is judged at the end.
    }
  }

  private resolve(name: string): string {
    let n = posix.normalize(name).replace(/^(\.\/)+/, '');
    for (let i = 0; i < 16 && this.links.has(n); i++) n = posix.normalize(this.links.get(n)!);
    return n;
  }

  has(name: string): boolean {
    return this.kept.has(this.resolve(name)) || this.stored.has(this.resolve(name));
  }

  /** A small document of the archive, e.g. a config; missing or oversized ones are refused. */
  document(name: string, what: string): Buffer {
    const v = this.kept.get(this.resolve(name));
    if (!v) throw missing(name, what);
    if (!Buffer.isBuffer(v)) {
      if (v.size > MAX_DOCUMENT) throw new ArchiveError(`${what} (${name}) is ${v.size} bytes, more than a document can be (${MAX_DOCUMENT}): the archive is corrupt; nothing was loaded`);
      return readFileSync(v.file);
    }
    return v;
  }

  /** The layer an entry holds, stored now if it was not on the way in. */
  async layer(name: string, what: string): Promise<StoredLayer> {
    const n = this.resolve(name);
    const done = this.stored.get(n);
    if (done) return done;
    const v = this.kept.get(n);
    if (!v) throw missing(name, what);
    const r = await this.storeLayer(n, Buffer.isBuffer(v) ? Readable.from([v]) : createReadStream(v.file));
    this.stored.set(n, r);
    return r;
  }

  private async storeLayer(name: string, body: Readable): Promise<StoredLayer> {
    const expect = this.layerNames.get(name);
    try {
      // An announced digest is checked before the layer is renamed into place.
      const r = await storeLayer(this.engine, body, {
        outsideIds: this.opts.outsideIds ?? 'fail',
        warn: (m) => this.warnings.push(m),
        ...(expect ? { expect } : {}),
      });
      this.stored.set(name, r);
      return r;
    } catch (err) {
      if (err instanceof ArchiveError) throw err;
      throw new ArchiveError(`layer ${name} of ${this.opts.what}: ${(err as Error).message.replace(/;? ?nothing was stored$/, '')}; nothing was loaded`);
    }
  }

  /** Deletes the layers this load stored that no image uses (a failed load leaves the store as it was). */
  async discardUnused(): Promise<void> {
    const diffIds = [...new Set([...this.stored.values()].map((l) => l.diffId))];
    const unused = diffIds.filter((d) => !this.engine.images.layerSizes([d])[0]);
    await removeLayerDirs(this.engine, unused);
    for (const l of this.stored.values()) if (unused.includes(l.diffId)) this.engine.images.removeBlob(l.digest);
  }

  cleanup(): void {
    if (this.spool) rmSync(this.spool, { recursive: true, force: true });
  }
}

function missing(name: string, what: string): ArchiveError {
  return new ArchiveError(`the archive names ${what} ${name}, but has no such file: the archive is incomplete or corrupt; nothing was loaded`);
}

interface PendingImage {
  parts: ImageParts;
  names: string[];
}

/** Reads a config document: valid JSON with the layers it needs. */
function configOf(data: Buffer, what: string): ImageConfig {
  const c = parseJson(data, what) as Partial<ImageConfig> | null;
  if (!c || !Array.isArray(c.rootfs?.diff_ids)) throw new ArchiveError(`${what} has no rootfs.diff_ids: the archive is corrupt; nothing was loaded`);
  return c as ImageConfig;
}

function checkDiffIds(config: ImageConfig, layers: StoredLayer[], names: string[], what: string): void {
  const want = config.rootfs.diff_ids;
  if (want.length !== layers.length) throw new ArchiveError(`${what} lists ${want.length} layers but the manifest ${layers.length}: the archive is corrupt; nothing was loaded`);
  layers.forEach((l, i) => {
    if (l.diffId !== want[i]) {
      throw new ArchiveError(`layer ${names[i]} does not match the config's diff_id ${want[i]} (its content hashes to ${l.diffId}): the archive is corrupt; nothing was loaded`);
    }
  });
}

/** A name from an archive, normalized; one that is not a valid reference is dropped with the image still loaded. */
function normalizeName(n: string): string | undefined {
  try {
    const r = parseReference(n);
    return r.digest ? undefined : formatReference(r);
  } catch {
    return undefined;
  }
}

async function dockerImages(contents: ArchiveContents): Promise<PendingImage[]> {
  const out: PendingImage[] = [];
  for (const entry of parseDockerManifest(contents.document('manifest.json', 'manifest'))) {
    const what = `the image config ${entry.Config}`;
    const configBytes = contents.document(entry.Config, 'the image config');
    const config = configOf(configBytes, what);
    const layers: StoredLayer[] = [];
    for (const l of entry.Layers) layers.push(await contents.layer(l, 'the layer'));
    checkDiffIds(config, layers, entry.Layers, what);
    const names = (entry.RepoTags ?? []).map(normalizeName).filter((n): n is string => !!n);
    out.push({ parts: { config: configBytes, layers }, names });
  }
  return out;
}

/** A blob of the OCI layout, checked against the digest and size its descriptor gives. */
function ociDocument(contents: ArchiveContents, d: Descriptor, what: string): Buffer {
  const data = contents.document(blobEntry(d.digest), what);
  const mismatch = blobMismatch(d, digestOf(data), data.length);
  if (mismatch) throw new ArchiveError(`${what} ${d.digest} ${mismatch}: the archive is corrupt; nothing was loaded`);
  return data;
}

/** From an index entry, the image manifest for this host (an index is narrowed to the host's platform). */
function platformManifest(contents: ArchiveContents, d: Descriptor): Descriptor {
  if (d.mediaType !== MEDIA_OCI_INDEX && d.mediaType !== MEDIA_DOCKER_LIST) return d;
  const index = parseIndex(ociDocument(contents, d, 'the image index'), `the image index ${d.digest}`);
  const arch = hostArchitecture();
  const pick = index.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch);
  if (!pick) throw new ArchiveError(`the archive's image index ${d.digest} has no linux/${arch} image; nothing was loaded`);
  return pick;
}

async function ociImages(contents: ArchiveContents): Promise<PendingImage[]> {
  const index = parseIndex(contents.document('index.json', 'the index'), 'index.json');
  const byDigest = new Map<string, PendingImage>();
  for (const top of index.manifests) {
    const d = platformManifest(contents, top);
    const name = normalizeName(top.annotations?.[ANNOTATION_IMAGE_NAME] ?? top.annotations?.[ANNOTATION_REF_NAME] ?? '');
    const known = byDigest.get(d.digest);
    if (known) {
      if (name && !known.names.includes(name)) known.names.push(name);
      continue;
    }
    const manifestBytes = ociDocument(contents, d, 'the manifest');
    const m = parseManifest(manifestBytes, `the manifest ${d.digest}`);
    const configBytes = ociDocument(contents, m.config, 'the image config');
    const config = configOf(configBytes, `the image config ${m.config.digest}`);
    const layers: Array<StoredLayer & { mediaType: string }> = [];
    for (const l of m.layers) {
      const r = await contents.layer(blobEntry(l.digest), 'the layer');
      const mismatch = blobMismatch(l, r.digest, r.blobSize);
      if (mismatch) throw new ArchiveError(`layer ${blobEntry(l.digest)} ${mismatch}: the archive is corrupt; nothing was loaded`);
      layers.push({ ...r, mediaType: l.mediaType });
    }
    checkDiffIds(config, layers, m.layers.map((l) => blobEntry(l.digest)), `the image config ${m.config.digest}`);
    const pending = { parts: { config: configBytes, layers, manifest: manifestBytes }, names: name ? [name] : [] };
    byDigest.set(d.digest, pending);
  }
  return [...byDigest.values()];
}

/**
 * `load`: reads a docker-archive or oci-archive (gzip-compressed or not)
 * from `input` and records its images under the names it gives. Every
 * layer is verified (OCI: digest and size; both: the config's diff ids)
 * before any image is recorded; on any failure the store is left as it was.
 */
export async function loadImages(engine: Engine, input: Readable, opts: LoadOptions): Promise<LoadedImage[]> {
  const contents = new ArchiveContents(engine, opts);
  try {
    await readArchive(input, opts.what, (e) => contents.take(e.name, e.type, e.size, e.linkname, e.body));
    let pending: PendingImage[];
    if (contents.has('manifest.json')) pending = await dockerImages(contents);
    else if (contents.has('index.json')) pending = await ociImages(contents);
    else throw new ArchiveError(`${opts.what} is neither a docker-archive nor an oci-archive: it has no manifest.json or index.json; nothing was loaded`);
    const loaded = pending.map((p) => ({ id: commitImage(engine, p.parts, p.names).id, names: p.names }));
    for (const l of loaded) recordEvent(engine, imageEvent(l.id, 'load', l.names[0] ? familiarName(l.names[0]) : l.id));
    for (const w of contents.warnings) opts.warn(w);
    return loaded;
  } catch (err) {
    await contents.discardUnused();
    if (err instanceof EngineError) throw err;
    throw new ArchiveError(`${opts.what}: ${(err as Error).message}; nothing was loaded`);
  } finally {
    contents.cleanup();
  }
}
