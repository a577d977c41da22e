import { readdirSync } from 'node:fs';
import { RECOVER_COMMAND } from '../../state/db.js';
import { EngineError } from '../../util/errors.js';
import type { Paths } from '../../state/paths.js';

/**
 * What the store holds on disk that only a state database could have made:
 * blobs, extracted layers and container directories. A database that is
 * missing or empty beside any of these was lost, not new, and must not be
 * taken for an empty store (ps would show nothing, run would pull again,
 * rm would forget running containers). The runtime's containers alone do
 * not count: its directory is per user, not per store, and a new store
 * beside another store's running containers is new.
 */
export function storeHoldings(paths: Paths): string | undefined {
  const count = (dir: string, keep: (n: string) => boolean): number => {
    try { return readdirSync(dir).filter(keep).length; } catch { return 0; }
  };
  const hex = (n: string): boolean => /^[0-9a-f]{64}/.test(n);
  const parts: Array<[number, string, string]> = [
    [count(paths.blobs, hex), 'blob', 'blobs'],
    [count(paths.layers, hex), 'layer', 'layers'],
    [count(paths.containers, hex), 'container directory', 'container directories'],
  ];
  const held = parts.filter(([n]) => n > 0).map(([n, one, many]) => `${n} ${n === 1 ? one : many}`);
  return held.length ? held.join(', ') : undefined;
}

/** Refuses a fresh database where the store shows there was state. */
export function refuseLostDatabase(paths: Paths, how: 'missing' | 'empty'): void {
  const held = storeHoldings(paths);
  if (!held) return;
  throw new EngineError(`the state database ${paths.db} is ${how} but the store holds ${held}: run \`${RECOVER_COMMAND}\` to rebuild the state from the store`);
}
