import { containerDirs } from '../../storage/rootfs.js';
import { isSandbox } from '../../runtime/runtime.js';
import { layerNames, runtimeFor, startCommand, unmountContainer } from './bundle.js';
import { containerDir } from './paths.js';
import { containerPid } from './process.js';
import { refreshState } from './state.js';
import { isRunning } from './running.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';

/** A container's root file system, reachable by commands run in the user's namespace. */
export interface RootfsAccess {
  /** The root directory, as the commands given to `nsenter` see it. */
  root: string;
  /** Whether it is a running container's (its mounts, volumes included, are there). */
  running: boolean;
  /** Arguments for nsenter that run `cmd` where `root` is the container's root. */
  nsenter(cmd: string[]): string[];
  /** Undoes what reaching it needed (a fuse-overlayfs mount of a stopped container). */
  close(): void;
}

/**
 * A running container's root is /proc/PID/root, its mounts included, seen
 * from the user's namespace, where container ids are the namespace's and
 * root may read every container user's files. A stopped container's is
 * mounted as `start` mounts it, in a mount namespace that lives as long as
 * the command (fuse-overlayfs: in the user's, until `close`); its volumes
 * are not mounted then, and a --userns=keep-id container's owners are
 * those of the user's namespace (there is no process whose namespace to enter).
 */
export function openRootfs(engine: Engine, rec: ContainerRecord): RootfsAccess {
  const ns = engine.ns();
  const cur = refreshState(engine, rec);
  if (!cur || cur.state === 'removing') throw new EngineError(`container ${rec.name} is being removed`);
  const pid = isRunning(engine, cur) ? containerPid(engine, cur) : undefined;
  if (pid && isSandbox(runtimeFor(engine, cur.spec))) {
    // /proc/PID/root is the Sentry's, not the container's: gVisor serves the container its files itself (and keeps /tmp in its memory).
    throw new EngineError(`cannot reach into the files of ${cur.name} while it runs in a sandbox (gVisor): stop it first, or copy through the container: rootlet exec -i ${cur.name} tar ...`);
  }
  if (pid) {
    // keep-id: the container's own user namespace, so that owners are the ones it sees.
    const inner = cur.spec.userns === 'keep-id' ? ['nsenter', '-U', '-t', String(pid), '--'] : [];
    return { root: `/proc/${pid}/root`, running: true, nsenter: (cmd) => [...ns.nsenterArgs(), '--', ...inner, ...cmd], close: () => {} };
  }
  const names = layerNames(engine, cur);
  let mounted = false;
  return {
    root: containerDirs(containerDir(engine, cur.id)).merged,
    running: false,
    nsenter: (cmd) => {
      mounted = true;
      return [...ns.nsenterArgs(), '--', ...startCommand(engine, cur, names, cmd, { filesOnly: true })];
    },
    close: () => {
      if (mounted && cur.spec.driver === 'fuse-overlayfs') unmountContainer(engine, cur);
    },
  };
}
