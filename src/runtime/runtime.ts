import { accessSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
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

/** The runtimes rootlet may pick by itself, fastest first in chooseRuntime. */
export type RuntimeName = 'runc' | 'crun';
export const RUNTIMES: RuntimeName[] = ['runc', 'crun'];

/**
 * The command-line dialects rootlet speaks. runsc (gVisor) is never picked
 * by itself: it is the sandbox isolation, asked for by `--isolation sandbox`
 * or `--runtime runsc`, and costs a user-space kernel per container.
 */
export type RuntimeKind = RuntimeName | 'runsc';
export const KNOWN_RUNTIMES: RuntimeKind[] = ['runc', 'crun', 'runsc'];
export const SANDBOX_RUNTIME: RuntimeKind = 'runsc';

export interface Runtime {
  /** What containers record: a known runtime's name, or one the config names in [engine.runtimes]. */
  name: string;
  /** How rootlet talks to it (its flags, its console, its start). */
  kind: RuntimeKind;
  path: string;
}

/** Whether containers of this runtime run on a user-space kernel (gVisor) rather than on the host's. */
export function isSandbox(rt: Pick<Runtime, 'kind'>): boolean {
  return rt.kind === 'runsc';
}

/**
 * The dialect of a runtime the config names by a name of its own: read from
 * its binary's name (a runsc build at /opt/gvisor/runsc is runsc); anything
 * else is taken to speak runc's command line, which the others copy.
 */
export function runtimeKind(name: string, path: string): RuntimeKind {
  for (const k of [name, basename(path)]) {
    const known = KNOWN_RUNTIMES.find((r) => k === r || k.startsWith(`${r}-`) || k.startsWith(`${r}.`));
    if (known) return known;
  }
  return 'runc';
}

/**
 * Why a runtime cannot work on this host, or undefined when it can. crun
 * refuses hybrid hosts ("cgroups in hybrid mode not supported"); rootlet's
 * namespace hides the v2 tree there (see hideUnifiedCgroup), so crun sees
 * plain v1, where a rootless container has no cgroup anyway: limits are
 * refused on such hosts whatever the runtime (resources.ts).
 */
export function runtimeBlocker(name: RuntimeKind, layout: CgroupLayout): string | undefined {
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
export function chooseRuntime(requested: string | undefined, layout = cgroupLayout(), configured: Record<string, string> = {}): Runtime {
  if (requested) {
    const own = Object.hasOwn(configured, requested) ? configured[requested] : undefined;
    if (own !== undefined) {
      // A path the admin or user wrote down: a missing binary is an error, never another runtime.
      if (!isExecutableFile(own)) throw new EngineError(`OCI runtime ${requested} cannot be used: ${own} (from [engine.runtimes] in the config) is not an executable file`);
      const kind = runtimeKind(requested, own);
      const blocker = runtimeBlocker(kind, layout);
      if (blocker) throw new EngineError(`cannot use ${requested}: ${blocker}; use --runtime runc`);
      return { name: requested, kind, path: own };
    }
    if (!(KNOWN_RUNTIMES as string[]).includes(requested)) {
      const names = [...KNOWN_RUNTIMES, ...Object.keys(configured)];
      throw new EngineError(`unknown OCI runtime "${requested}": use one of ${names.join(', ')}, or name it in [engine.runtimes] of the config`);
    }
    const name = requested as RuntimeKind;
    const path = findInPath(name);
    if (!path) throw new EngineError(`OCI runtime ${name} is not installed: install the Debian package ${name}, or choose another with --runtime`);
    const blocker = runtimeBlocker(name, layout);
    if (blocker) throw new EngineError(`cannot use ${name}: ${blocker}; use --runtime runc`);
    return { name, kind: name, path };
  }
  // crun starts a container in a quarter of runc's time (docs/decisions.md).
  const order: RuntimeName[] = ['crun', 'runc'];
  for (const name of order) {
    if (runtimeBlocker(name, layout)) continue;
    const path = findInPath(name);
    if (path) return { name, kind: name, path };
  }
  throw new EngineError('no usable OCI runtime: install crun or runc; `rootlet system check` says more');
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Whether the runtime holds state for the container: crun and runc keep a
 * directory named after it under their root; runsc keeps files named
 * `ID_sand:SANDBOX.state` (and `.lock`) there instead.
 */
export function runtimeStateExists(rt: Pick<Runtime, 'kind'>, stateRoot: string, id: string): boolean {
  if (rt.kind !== 'runsc') return existsSync(join(stateRoot, id));
  try {
    return readdirSync(stateRoot).some((f) => f.startsWith(`${id}_`) && f.endsWith('.state'));
  } catch {
    return false;
  }
}

/** Global arguments: state under our runtime dir, the runtime's own log in a file rather than on the user's terminal. */
export function runtimeArgs(rt: Pick<Runtime, 'kind'>, stateRoot: string, logFile: string): string[] {
  if (rt.kind === 'crun') return [`--root=${stateRoot}`, `--log=file:${logFile}`, '--log-format=json'];
  if (rt.kind === 'runsc') return ['--root', stateRoot, '--log', logFile, '--log-format', 'json', ...RUNSC_ARGS];
  return ['--root', stateRoot, '--log', logFile, '--log-format', 'json'];
}

/**
 * runsc's configuration, passed to every one of its commands (runsc reads
 * its configuration from flags, not from its state). rootlet starts it as
 * root of the user's namespace, never as host root:
 * --ignore-cgroups: a rootless user has no cgroup runsc could configure
 *   (limits are refused with the sandbox rather than dropped: isolation.ts).
 * The rest is gVisor's default: the ptrace platform (no /dev/kvm needed),
 * its own network stack (netstack) on the interface of the network
 * namespace rootlet made, its gofer serving the root filesystem.
 */
const RUNSC_ARGS = ['--ignore-cgroups'];

/**
 * Arguments of `create` and `run` (both runtimes spell them alike). Without
 * a keyring of its own (`[containers] keyring = false`) a container shares
 * the session keyring of the process that starts the runtime: the user's
 * login session's, with whatever it holds (e.g. Kerberos tickets), which is
 * why a keyring per container is the default, as in Docker and Podman.
 */
export function createArgs(o: { keyring: boolean }, rt?: Pick<Runtime, 'kind'>): string[] {
  // gVisor has a kernel, and so a keyring, of its own: the host's session keyring never reaches it.
  if (rt && rt.kind === 'runsc') return [];
  return o.keyring ? [] : ['--no-new-keyring'];
}

/**
 * Whether a foreground terminal goes through rootlet-console (src/runtime/
 * console.c): crun, left to allocate the terminal itself, can return before
 * copying what the process wrote last; runsc, without a console socket,
 * makes its own stdin the terminal, and a sandbox's output is always
 * relayed (containers/foreground.ts), so -t without -i had none.
 */
export function usesConsoleRelay(rt: Runtime): boolean {
  return rt.kind === 'crun' || rt.kind === 'runsc';
}

/**
 * Whether a foreground terminal is allocated by the relay and handed to the
 * runtime as its stdio (`rootlet-console --pty`), sized before the runtime
 * starts, instead of coming from the runtime over --console-socket: runsc,
 * whose exec reads --console-socket only with --detach, and which (of 2022)
 * ignores the spec's consoleSize, so that a terminal it allocated would get
 * its size only once the relay had it, racing the first instruction.
 */
export function relayAllocatesTerminal(rt: Pick<Runtime, 'kind'>): boolean {
  return rt.kind === 'runsc';
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
  if (rt.kind !== 'crun') return false;
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
