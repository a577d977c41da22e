import { createRequire } from 'node:module';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../util/errors.js';
import type { Paths } from '../state/paths.js';
import type { DB } from '../state/db.js';
import type { ImageConfig, Manifest } from './oci.js';
import { formatReference, looksLikeId, parseReference } from './reference.js';
import { randomHex } from '../util/random.js';
import { asNoSpace } from '../util/no-space.js';

// node:crypto is required where a digest is computed, not at start-up: `run` never hashes.
const require = createRequire(import.meta.url);

export interface ImageRecord {
  id: string;
  manifestDigest: string;
  created: number;
  config: ImageConfig;
  layers: string[];
  size: number;
  tags: string[];
}

interface ImageRow {
  id: string;
  manifest_digest: string;
  created: number;
  config: string;
  layers: string;
  size: number;
}

export function digestOf(data: Buffer | string): string {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function hexOf(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice(7) : digest;
}

export function tmpName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomHex(4)}`;
}

/**
 * The names of the store's images and the manifest each was recorded
 * with, kept beside the database (as Docker keeps repositories.json): the
 * blobs rebuild an image's record, but only this says what it was called
 * (`system recover`, store-recover.ts). The database stays the truth.
 */
export const TAGS_FILE = 'repositories.json';

export interface TagsFile {
  tags: Record<string, string>;
  manifests: Record<string, string>;
}

export function readTagsFile(paths: Paths): TagsFile {
  try {
    const t = JSON.parse(readFileSync(join(paths.dataDir, TAGS_FILE), 'utf8')) as Partial<TagsFile>;
    return { tags: t.tags ?? {}, manifests: t.manifests ?? {} };
  } catch {
    return { tags: {}, manifests: {} };
  }
}

/** Images, tags, blobs and extracted layers of one user's store. */
export class ImageStore {
  constructor(private readonly db: DB, private readonly paths: Paths) {}

  /** Rewrites the names file from the database after a change of names (atomically: a temporary renamed into place). */
  private saveTags(): void {
    const rows = this.db.prepare('SELECT t.name, t.image_id, i.manifest_digest FROM tags t JOIN images i ON i.id = t.image_id').all() as Array<{ name: string; image_id: string; manifest_digest: string }>;
    const out: TagsFile = { tags: {}, manifests: {} };
    for (const r of rows) {
      out.tags[r.name] = r.image_id;
      out.manifests[r.image_id] = r.manifest_digest;
    }
    const tmp = join(this.paths.tmp, tmpName('tmp'));
    try {
      writeFileSync(tmp, JSON.stringify(out), { mode: 0o600 });
      renameSync(tmp, join(this.paths.dataDir, TAGS_FILE));
    } catch {
      // The change is recorded in the database, which is the truth; only a later recovery would miss it.
      rmSync(tmp, { force: true });
    }
  }

  blobPath(digest: string): string {
    return join(this.paths.blobs, hexOf(digest));
  }

  layerPath(diffId: string): string {
    return join(this.paths.layers, hexOf(diffId));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Writes a blob under a temporary name and renames it into place: a crash leaves the old state or the new. */
  writeBlob(data: Buffer | string): string {
    const digest = digestOf(data);
    const dest = this.blobPath(digest);
    if (existsSync(dest)) return digest;
    const tmp = join(this.paths.tmp, tmpName('blob'));
    try {
      writeFileSync(tmp, data, { mode: 0o600 });
      renameSync(tmp, dest);
    } catch (err) {
      // A full disk leaves a partial temporary: not ours to keep.
      rmSync(tmp, { force: true });
      throw asNoSpace(err, this.paths.dataDir);
    }
    return digest;
  }

  private toRecord(row: ImageRow): ImageRecord {
    const tags = (this.db.prepare('SELECT name FROM tags WHERE image_id = ? ORDER BY name').all(row.id) as Array<{ name: string }>).map((t) => t.name);
    return {
      id: row.id,
      manifestDigest: row.manifest_digest,
      created: row.created,
      config: JSON.parse(row.config) as ImageConfig,
      layers: JSON.parse(row.layers) as string[],
      size: row.size,
      tags,
    };
  }

  list(): ImageRecord[] {
    const rows = this.db.prepare('SELECT * FROM images ORDER BY created DESC').all() as ImageRow[];
    return rows.map((r) => this.toRecord(r));
  }

  get(id: string): ImageRecord | undefined {
    const row = this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    return row && this.toRecord(row);
  }

  /**
   * Finds an image by name, full or short id. A short name also matches
   * localhost/NAME, as Podman resolves locally built images.
   */
  find(ref: string): ImageRecord | undefined {
    if (looksLikeId(ref)) {
      const hex = hexOf(ref);
      const rows = this.db.prepare("SELECT * FROM images WHERE id LIKE ? ESCAPE '\\'").all(`sha256:${hex}%`) as ImageRow[];
      if (rows.length === 1) return this.toRecord(rows[0]!);
      if (rows.length > 1) throw new EngineError(`image id prefix "${ref}" is ambiguous: give more characters`);
    }
    let parsed;
    try {
      parsed = parseReference(ref);
    } catch (err) {
      if (looksLikeId(ref)) return undefined;
      throw err;
    }
    const candidates = [formatReference(parsed)];
    if (!ref.includes('/')) candidates.push(formatReference({ ...parsed, domain: 'localhost', path: ref.split(/[:@]/)[0]! }));
    for (const name of candidates) {
      if (parsed.digest && !parsed.tag) {
        const row = this.db.prepare('SELECT * FROM images WHERE manifest_digest = ?').get(parsed.digest) as ImageRow | undefined;
        if (row) return this.toRecord(row);
        // Pulled by the digest of an index: recorded under that name, as the manifest's own digest differs.
        const t = this.db.prepare('SELECT image_id FROM tags WHERE name = ?').get(name) as { image_id: string } | undefined;
        if (t) return this.get(t.image_id);
        continue;
      }
      const t = this.db.prepare('SELECT image_id FROM tags WHERE name = ?').get(name) as { image_id: string } | undefined;
      if (t) return this.get(t.image_id);
    }
    return undefined;
  }

  /** Like find, but a missing image is Docker's error. */
  resolve(ref: string): ImageRecord {
    const img = this.find(ref);
    if (!img) throw new EngineError(`Unable to find image '${ref}' locally: build it, import it, or pull it first`);
    return img;
  }

  /** Records an image whose blobs and layers are already in place, and points `names` at it. */
  add(rec: { id: string; manifestDigest: string; config: ImageConfig; layers: Array<{ diffId: string; size: number }>; created?: number }, names: string[]): void {
    const now = rec.created ?? Date.now();
    const size = rec.layers.reduce((n, l) => n + l.size, 0);
    this.db.transaction(() => {
      for (const l of rec.layers) {
        this.db.prepare('INSERT OR IGNORE INTO layers (diff_id, size, created) VALUES (?, ?, ?)').run(l.diffId, l.size, now);
      }
      this.db.prepare(`INSERT INTO images (id, manifest_digest, created, config, layers, size) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO NOTHING`).run(rec.id, rec.manifestDigest, now, JSON.stringify(rec.config), JSON.stringify(rec.layers.map((l) => l.diffId)), size);
      for (const n of names) this.putTag(n, rec.id);
    }).immediate();
    if (names.length) this.saveTags();
  }

  /** The uncompressed size of each layer (0 for one the store does not know). */
  layerSizes(diffIds: string[]): number[] {
    const stmt = this.db.prepare('SELECT size FROM layers WHERE diff_id = ?');
    return diffIds.map((d) => (stmt.get(d) as { size: number } | undefined)?.size ?? 0);
  }

  /** Remembers that blob `digest` unpacks to layer `diffId` (both verified by the extraction). */
  recordLayerBlob(digest: string, diffId: string, blobSize: number, tarSize: number): void {
    this.db.prepare('INSERT OR REPLACE INTO layer_blobs (digest, diff_id, blob_size, tar_size) VALUES (?, ?, ?, ?)').run(digest, diffId, blobSize, tarSize);
  }

  /** The layer a blob is known to unpack to, when blob and layer are both still on disk. */
  knownLayer(digest: string): { digest: string; diffId: string; blobSize: number; tarSize: number } | undefined {
    const row = this.db.prepare('SELECT digest, diff_id, blob_size, tar_size FROM layer_blobs WHERE digest = ?').get(digest) as { digest: string; diff_id: string; blob_size: number; tar_size: number } | undefined;
    if (!row || !this.hasBlob(digest) || !existsSync(this.layerPath(row.diff_id))) return undefined;
    return { digest: row.digest, diffId: row.diff_id, blobSize: row.blob_size, tarSize: row.tar_size };
  }

  private putTag(name: string, imageId: string): void {
    this.db.prepare('INSERT INTO tags (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id').run(name, imageId);
  }

  setTag(name: string, imageId: string): void {
    this.putTag(name, imageId);
    this.saveTags();
  }

  removeTag(name: string): boolean {
    const removed = this.db.prepare('DELETE FROM tags WHERE name = ?').run(name).changes > 0;
    if (removed) this.saveTags();
    return removed;
  }

  containersUsing(imageId: string): Array<{ id: string; name: string }> {
    return this.db.prepare('SELECT id, name FROM containers WHERE image_id = ?').all(imageId) as Array<{ id: string; name: string }>;
  }

  /**
   * Deletes an untagged image's record; returns the layers and blobs no other
   * image uses, which the caller deletes from disk (layers need the namespace).
   */
  deleteImage(id: string, manifest: Manifest | undefined): { layers: string[]; blobs: string[] } {
    const gone = this.db.transaction(() => {
      const img = this.get(id);
      if (!img) return { layers: [], blobs: [] };
      this.db.prepare('DELETE FROM tags WHERE image_id = ?').run(id);
      this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
      const rest = this.list();
      const usedLayers = new Set(rest.flatMap((r) => r.layers));
      const layers = [...new Set(img.layers)].filter((l) => !usedLayers.has(l));
      for (const l of layers) this.db.prepare('DELETE FROM layers WHERE diff_id = ?').run(l);
      const usedBlobs = new Set(rest.flatMap((r) => [r.id, r.manifestDigest, ...(this.readManifest(r)?.layers.map((l) => l.digest) ?? [])]));
      const blobs = [img.id, img.manifestDigest, ...(manifest?.layers.map((l) => l.digest) ?? [])].filter((b) => !usedBlobs.has(b));
      return { layers, blobs };
    }).immediate();
    this.saveTags();
    return gone;
  }

  readManifest(img: ImageRecord): Manifest | undefined {
    try {
      return JSON.parse(readFileSync(this.blobPath(img.manifestDigest), 'utf8')) as Manifest;
    } catch {
      return undefined;
    }
  }

  removeBlob(digest: string): void {
    rmSync(this.blobPath(digest), { force: true });
  }
}
