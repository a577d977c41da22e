import { join } from 'node:path';
import type { Engine } from '../engine.js';

// Its own module so that the network endpoints (which write a container's
// hosts and resolv.conf) and the bundle (which asks the endpoints for them)
// can both find a container's directory without importing each other.

/** A container's directory in the store: its bundle, layers, logs and files. */
export function containerDir(engine: Engine, id: string): string {
  return join(engine.paths.containers, id);
}

/** The container's log (k8s-file format); here so that inspect and logs do not load the start path to name it. */
export function logPath(engine: Engine, id: string): string {
  return join(containerDir(engine, id), 'ctr.log');
}
