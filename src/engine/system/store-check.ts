import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../../image/oci.js';
import type { Engine } from '../engine.js';
import { isProcessAlive } from '../../util/proc.js';
import { procFiles } from '../../util/procfs.js';
import { checkIntegrity, damagedMessage } from '../../state/db.js';

/**
 * The store check (`rootlet image check [--repair]`): re-hashes every
 * blob, checks that each image's config, manifest, layer blobs and
 * extracted layers are there, and finds what interrupted writes left
 * behind. SQLite's own check of the state database comes first. The
 * temporaries of writers that died are reclaimed by every check (they are
 * scratch, not damage); repair deletes broken blobs and the records of
 * broken images (so the next pull fetches them again). Nothing a live
 * rootlet is writing is touched.
 */

export interface Problem {
  message: string;
  /** False when repair left it (an image containers still use). */
  repaired: boolean;
}

/** Temporary names are PREFIX-PID-HEX (tmpName): the pid says whether the writer still lives. */
const TEMP = /^\.?(?:tmp|blob|keepid)-(\d+)-[0-9a-f]+$/;

/** Paths that a running process names on its command line (an extraction helper whose parent was killed). */
function pathsInUse(): string {
  return procFiles('cmdline').map((p) => p.data.toString('latin1')).join('\0');
}

/** Leftovers of writers that died (kill -9, a crash): temporary blobs and half-extracted layer directories. */
export function staleTemps(engine: Engine): string[] {
  const out: string[] = [];
  let busy: string | undefined;
  for (const dir of [engine.paths.tmp, engine.paths.layers]) {
    let names: string[];
    try { names = readdirSync(dir); } catch { continue; }
    for (const n of names) {
      const m = TEMP.exec(n);
      if (!m || isProcessAlive(Number(m[1]))) continue;
      busy ??= pathsInUse();
      if (!busy.includes(n)) out.push(join(dir, n));
    }
  }
  return out;
}

export function removeTemps(engine: Engine, paths: string[]): void {
  if (!paths.length) return;
  // Half-extracted layers hold files of subordinate ids: only the namespace can delete them.
  const layerTemps = paths.filter((p) => p.startsWith(`${engine.paths.layers}/`));
  if (layerTemps.length) engine.ns().run(['rm', '-rf', ...layerTemps]);
  for (const p of paths) if (!layerTemps.includes(p)) rmSync(p, { recursive: true, force: true });
}

/** Called by pull before it writes and when it is done: what a killed pull left is cleared. */
export function sweepStaleTemps(engine: Engine): void {
  removeTemps(engine, staleTemps(engine));
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

export interface CheckResult {
  problems: Problem[];
  images: number;
  blobs: number;
  /** Scratch of writers that died (kill -9 of a pull): reclaimed by the check, not damage. */
  reclaimed: string[];
}

export async function checkStore(engine: Engine, repair: boolean): Promise<CheckResult> {
  const problems: Problem[] = [];
  const store = engine.images;

  // The database first: its records are what the rest is checked against. Only recovery fixes it.
  const damage = checkIntegrity(engine.db);
  if (damage) {
    problems.push({ message: damagedMessage(engine.paths.db, damage), repaired: false });
    return { problems, images: 0, blobs: 0, reclaimed: [] };
  }

  // A killed writer cannot clean up after itself; its temporaries are scratch under names that say whose
  // they were, so the check reclaims them (as the next pull would) instead of reporting damage.
  const reclaimed = staleTemps(engine);
  removeTemps(engine, reclaimed);

  const blobNames = readdirSync(engine.paths.blobs).filter((n) => /^[0-9a-f]{64}$/.test(n));
  for (const hex of blobNames) {
    const digest = `sha256:${hex}`;
    let actual: string;
    try {
      actual = await hashFile(store.blobPath(digest));
    } catch (err) {
      actual = `unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
    if (actual === digest) continue;
    problems.push({ message: `blob ${digest} is corrupt: its content hashes to ${actual}`, repaired: repair });
    if (repair) store.removeBlob(digest);
  }

  const images = store.list();
  for (const img of images) {
    const missing: string[] = [];
    const name = img.tags[0] ?? img.id.slice(7, 19);
    if (!store.hasBlob(img.id)) missing.push(`its config blob ${img.id}`);
    let manifest: Manifest | undefined;
    if (!store.hasBlob(img.manifestDigest)) missing.push(`its manifest blob ${img.manifestDigest}`);
    else {
      manifest = store.readManifest(img);
      if (!manifest) missing.push(`a readable manifest ${img.manifestDigest}`);
    }
    for (const l of manifest?.layers ?? []) if (!store.hasBlob(l.digest)) missing.push(`layer blob ${l.digest}`);
    for (const d of img.layers) if (!existsSync(store.layerPath(d))) missing.push(`extracted layer ${d}`);
    if (!missing.length) continue;
    const users = store.containersUsing(img.id);
    const fixable = repair && users.length === 0;
    const why = users.length && repair ? ` (kept: container ${users[0]!.name} uses it; remove the container, then repair again)` : '';
    problems.push({ message: `image ${name} (${img.id.slice(7, 19)}) lacks ${missing.join(', ')}${why}`, repaired: fixable });
    if (fixable) store.deleteImage(img.id, undefined);
  }
  return { problems, images: images.length, blobs: blobNames.length, reclaimed };
}
