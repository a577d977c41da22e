import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { hexOf, tmpName } from '../../image/store.js';
import { shq } from '../../storage/rootfs.js';
import type { Engine } from '../engine.js';

/** Directory name of a layer copy owned for --userns=keep-id by this user. */
export function keepIdLayerName(engine: Engine, diffId: string): string {
  return `${hexOf(diffId)}-keepid-${engine.id.uid}-${engine.id.gid}`;
}

/**
 * --userns=keep-id runs the container in a nested namespace where ids are
 * shifted, so image files need a copy owned accordingly (as Podman makes
 * one). Copies are made once per layer and kept beside the layer.
 */
export function ensureKeepIdLayers(engine: Engine, diffIds: string[]): string[] {
  const ns = engine.ns();
  return diffIds.map((diffId) => {
    const name = keepIdLayerName(engine, diffId);
    const dest = join(engine.paths.layers, name);
    if (existsSync(dest)) return name;
    const tmp = join(engine.paths.layers, `.${tmpName('keepid')}`);
    const src = join(engine.paths.layers, hexOf(diffId));
    const shift = engine.helperCommand('__shift-owners', [tmp, String(engine.id.uid), String(engine.id.gid), String(ns.size)]);
    ns.runChecked(['sh', '-c', `cp -a ${shq(src)} ${shq(tmp)} && exec ${shift.map(shq).join(' ')} || { rm -rf ${shq(tmp)}; exit 1; }`],
      'cannot prepare image layers for --userns=keep-id', { env: engine.helperEnv() });
    try {
      renameSync(tmp, dest);
    } catch {
      ns.run(['rm', '-rf', tmp]);
    }
    return name;
  });
}
