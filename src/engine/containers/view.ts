import { statSync } from 'node:fs';
import { join } from 'node:path';
import { RootfsView } from '../../runtime/rootfs-lookup.js';
import { containerDirs } from '../../storage/rootfs.js';
import { isSandbox } from '../../runtime/runtime.js';
import { layerNames, runtimeFor } from './bundle.js';
import { containerDir } from './paths.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';

/**
 * A running container's files as it sees them, read from the host side
 * without a process in the namespace: through /proc/PID/root, its mounts
 * included. A fuse-overlayfs root (mounted allow_other) refuses processes
 * outside the user's namespace; then the container's own layer over the
 * image's layers, with its bind mounts, stands in. So it does for a
 * sandbox: the pid the runtime names is gVisor's Sentry, whose root is an
 * empty directory; the container's files are served from that same upper
 * layer by gVisor's gofer.
 */
export function containerView(engine: Engine, rec: ContainerRecord, pid: number): RootfsView {
  const root = `/proc/${pid}/root`;
  try {
    if (isSandbox(runtimeFor(engine, rec.spec))) throw new Error('a sandbox: its files are not under its pid\'s root');
    statSync(`${root}/`);
    return new RootfsView([root]);
  } catch {
    const upper = containerDirs(containerDir(engine, rec.id)).upper;
    const layers = [...layerNames(engine, rec)].reverse().map((n) => join(engine.paths.layers, n));
    return new RootfsView([upper, ...layers], rec.spec.mounts);
  }
}
