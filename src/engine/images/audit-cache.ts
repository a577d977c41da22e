import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf, hexOf } from '../../image/store.js';
import type { Engine } from '../engine.js';

/**
 * Where an audit (audit.ts) of a stack of layers is kept: a small JSON
 * file under the store, so `run` reads an image's layers once, not at
 * every start. Keyed by the stack (diff ids, bottom first), not the image:
 * an image made on top of another (a build step, a commit) then reads only
 * its own new layers. Kept apart from audit.ts so that removing an image
 * loads no tar code.
 */
export function auditCachePath(engine: Engine, layers: readonly string[]): string {
  return join(engine.paths.dataDir, 'audit', `${hexOf(digestOf(layers.join('\n')))}.json`);
}

/** Forgets an image's cached audit (the image is gone). */
export function dropAudit(engine: Engine, layers: readonly string[]): void {
  rmSync(auditCachePath(engine, layers), { force: true });
}
