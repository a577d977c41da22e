import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { hexOf } from '../../image/store.js';
import type { Engine } from '../engine.js';

/**
 * Where an image's audit (audit.ts) is kept: a small JSON file per image
 * id under the store, so `run` reads the image's layers once, not at every
 * start. Kept apart from audit.ts so that removing an image loads no tar code.
 */
export function auditCachePath(engine: Engine, id: string): string {
  return join(engine.paths.dataDir, 'audit', `${hexOf(id)}.json`);
}

/** Forgets an image's cached audit (the image is gone). */
export function dropAudit(engine: Engine, id: string): void {
  rmSync(auditCachePath(engine, id), { force: true });
}
