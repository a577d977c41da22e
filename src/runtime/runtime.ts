import { closeSync, constants, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { EngineError } from '../util/errors.js';
import { findInPath } from '../util/proc.js';
import { layoutFromMountinfo, type CgroupLayout } from './cgroups.js';

export type { CgroupLayout };

let layoutCache: CgroupLayout | undefined;

/** This host's cgroup hierarchy (cgroups.ts layoutFromMountinfo), read once per process. */
export function cgroupLayout(): CgroupLayout {
  if (layoutCache === undefined) {
    let mountinfo = '';
    try { mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'); } catch { /* none mounted, as far as we can tell */ }
    layoutCache = layoutFromMountinfo(mountinfo);
  }
  return layoutCache;
}

export type RuntimeName = 'runc' | 'crun';
export const RUNTIMES: RuntimeName[] = ['runc', 'crun'];

export interface Runtime {
  name: RuntimeName;
  path: string;
}

/**
 * Why a runtime cannot work on this host, or undefined when it can. crun
 * refuses hybrid hosts ("cgroups in hybrid mode not supported"); rootlet's
 * namespace hides the v2 tree there (see hideUnifiedCgroup), so crun sees
 * plain v1, where a rootless container has no cgroup anyway: limits are
 * refused on such hosts whatever the runtime (resources.ts).
 */
export function runtimeBlocker(name: RuntimeName, layout: CgroupLayout): string | undefined {
  if (name === 'crun' && layout === 'v1') return 'crun does not support cgroup v1 hosts';
  return undefined;
}

/** The mount command that hides a hybrid host's cgroup v2 tree, run once in the user's namespace (crun then sees v1). */
export function hideUnifiedCgroup(layout = cgroupLayout()): string[] | undefined {
  if (layout !== 'hybrid') return undefined;
  return ['mount', '-t', 'tmpfs', '-o', 'ro,nosuid,nodev,noexec,size=4k,mode=0555', 'rootlet-no-cgroup2', '/sys/fs/cgroup/unified'];
}

/**
 * The OCI runtime to use: the one asked for (by flag or config) or the
 * fastest that works here. An explicit choice that cannot work is an error,
 * never replaced by another.
 */
export function chooseRuntime(requested: string | undefined, layout = cgroupLayout()): Runtime {
  if (requested) {
    if (!(RUNTIMES as string[]).includes(requested)) {
      throw new EngineError(`unknown OCI runtime "${requested}": use one of ${RUNTIMES.join(', ')}`);
    }
    const name = requested as RuntimeName;
    const path = findInPath(name);
    if (!path) throw new EngineError(`OCI runtime ${name} is not installed: install the Debian package ${name}, or choose another with --runtime`);
    const blocker = runtimeBlocker(name, layout);
    if (blocker) throw new EngineError(`cannot use ${name}: ${blocker}; use --runtime runc`);
    return { name, path };
  }
  // crun starts a container in a quarter of runc's time (docs/decisions.md).
  const order: RuntimeName[] = ['crun', 'runc'];
  for (const name of order) {
    if (runtimeBlocker(name, layout)) continue;
    const path = findInPath(name);
    if (path) return { name, path };
  }
  throw new EngineError('no usable OCI runtime: install crun or runc; `rootlet system check` says more');
}

/** Global arguments: state under our runtime dir, the runtime's own log in a file rather than on the user's terminal. */
export function runtimeArgs(rt: Runtime, stateRoot: string, logFile: string): string[] {
  if (rt.name === 'crun') return [`--root=${stateRoot}`, `--log=file:${logFile}`, '--log-format=json'];
  return ['--root', stateRoot, '--log', logFile, '--log-format', 'json'];
}

/**
 * Arguments of `create` and `run` (both runtimes spell them alike). Without
 * a keyring of its own (`[containers] keyring = false`) a container shares
 * the session keyring of the process that starts the runtime: the user's
 * login session's, with whatever it holds (e.g. Kerberos tickets), which is
 * why a keyring per container is the default, as in Docker and Podman.
 */
export function createArgs(o: { keyring: boolean }): string[] {
  return o.keyring ? [] : ['--no-new-keyring'];
}

/**
 * Whether a foreground terminal goes through rootlet-console (src/runtime/
 * console.c) with `--console-socket`: crun, left to allocate the terminal
 * itself, can return before copying what the process wrote last.
 */
export function usesConsoleRelay(rt: Runtime): boolean {
  return rt.name === 'crun';
}

/**
 * Starts a created container without running `crun start`, which is (crun's
 * status.c): open the state directory's exec.fifo for writing, unlink it,
 * write one byte; the container's init, blocked reading it, then execs.
 * rootlet's containers have no poststart hooks and no notify socket, the
 * only other things `crun start` does. Done here it saves forking node,
 * nsenter and crun for every detached start (~8 ms of CPU, bench/). Returns
 * false when it does not apply (runc's protocol differs; no fifo, or no
 * reader on it): the caller then runs the runtime's own `start`.
 */
export function startCreatedFast(rt: Runtime, stateRoot: string, id: string): boolean {
  if (rt.name !== 'crun') return false;
  const fifo = `${stateRoot}/${id}/exec.fifo`;
  let fd: number;
  try {
    // Non-blocking: with no reader (the init died) the open fails instead of hanging.
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    unlinkSync(fifo);
    writeSync(fd, Buffer.alloc(1));
  } finally {
    closeSync(fd);
  }
  return true;
}
