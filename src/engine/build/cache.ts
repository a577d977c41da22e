import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpName } from '../../image/store.js';
import type { Engine } from '../engine.js';

/**
 * The build cache: one small file per step key, naming the image the step
 * made. A key chains the parent's key, the instruction as expanded, the
 * build args the step sees and (COPY/ADD) the content of the files
 * copied, so a key names one result. The images are ordinary untagged
 * images in the store: their layers are kept while the entry's image is;
 * `builder prune` (or `image prune`, which removes untagged images)
 * reclaims them. An entry whose image is gone is a miss.
 */

export function cacheDir(engine: Engine): string {
  return join(engine.paths.dataDir, 'build-cache');
}

export function stepKey(parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p.length}:${p}\n`);
  return h.digest('hex');
}

export function cacheGet(engine: Engine, key: string): string | undefined {
  let id: string;
  try {
    id = readFileSync(join(cacheDir(engine), key), 'utf8').trim();
  } catch {
    return undefined;
  }
  return engine.images.get(id) ? id : undefined;
}

export function cachePut(engine: Engine, key: string, imageId: string): void {
  const dir = cacheDir(engine);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(engine.paths.tmp, tmpName('cache'));
  try {
    writeFileSync(tmp, imageId, { mode: 0o600 });
    renameSync(tmp, join(dir, key));
  } catch {
    // A cache entry lost is only a slower next build.
    rmSync(tmp, { force: true });
  }
}

/** Every entry: key → image id. */
export function cacheEntries(engine: Engine): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try { names = readdirSync(cacheDir(engine)); } catch { return out; }
  for (const n of names) {
    try { out.set(n, readFileSync(join(cacheDir(engine), n), 'utf8').trim()); } catch { /* removed meanwhile */ }
  }
  return out;
}

export function cacheDrop(engine: Engine, key: string): void {
  rmSync(join(cacheDir(engine), key), { force: true });
}

/** Where RUN --mount=type=cache directories live between builds. */
export function cacheMountsDir(engine: Engine): string {
  return join(engine.paths.dataDir, 'build-cache-mounts');
}
