import type { Volume } from '../engine/index.js';

/** Docker's RFC 3339 time, to the second. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** Docker's `volume inspect` document. */
export function volumeDoc(v: Volume): Record<string, unknown> {
  return {
    CreatedAt: rfc3339(v.createdAt),
    Driver: v.driver,
    Labels: v.labels,
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: v.options,
    Scope: v.scope,
  };
}
