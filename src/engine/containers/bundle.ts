import { chmodSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hexOf } from '../../image/store.js';
import { checkExecutable, resolveUser, RootfsView } from '../../runtime/rootfs-lookup.js';
import { chooseRuntime, cgroupLayout, isSandbox, runtimeArgs, runtimeStateExists, usesConsoleRelay, relayAllocatesTerminal, type Runtime } from '../../runtime/runtime.js';
import { randomHex } from '../../util/random.js';
import { buildRuntimeSpec, specText, type ConsoleSize, type SpecSecurity } from '../../runtime/spec.js';
import { ociRlimits } from './ulimits.js';
import { containerDirs, mountScript, overlayLowers, overlayOptions, shq, unmountScript } from '../../storage/rootfs.js';
import { findInPath } from '../../util/proc.js';
import { keepIdMap, type ContainerSpec } from './spec.js';
import type { ContainerRecord } from './store.js';
import { besideEntry, type Engine } from '../engine.js';
import { EngineError, EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND } from '../../util/errors.js';
import { ensureKeepIdLayers } from './keepid.js';
import { resourcesSpec } from './resources.js';
import { checkKeyQuota } from './keyring-quota.js';
import { lastLine } from '../../rootless/userns.js';
import { hostsFor, resolvFor, type NetSetup } from '../networks/endpoints.js';
import { containerDir } from './paths.js';
import { groupIds, SECCOMP_KEY_FILE, settingsOf, specSecurity } from './security.js';
import { infraNamespaces } from '../pods/join.js';

// The directory helper moved to paths.ts (the endpoints need it too); its many importers still find it here.

const runtimes = new Map<string, Runtime>();

function cachedRuntime(engine: Engine, want: string): Runtime {
  let rt = runtimes.get(want);
  if (!rt) runtimes.set(want, (rt = chooseRuntime(want || undefined, cgroupLayout(), engine.config.engine.runtimes)));
  return rt;
}

/** The runtime a new container gets (--runtime, the config's, or the fastest that works here): recorded in its spec. */
export function newContainerRuntime(engine: Engine, requested: string | undefined): Runtime {
  return cachedRuntime(engine, requested || engine.config.engine.runtime || '');
}

/**
 * The container's runtime: the one recorded when it was created. Records
 * from before that was recorded ran under runc unless the host had cgroup
 * v2 (the default then), and must stay with the runtime that holds their state.
 */
export function runtimeFor(engine: Engine, spec: ContainerSpec): Runtime {
  return cachedRuntime(engine, spec.runtime || engine.config.engine.runtime || (cgroupLayout() === 'v2' ? '' : 'runc'));
}

/**
 * Global runtime flags of this container's create (or run) only. runsc
 * given a container without a network namespace of rootlet's (--network
 * none) must not build one with interfaces: it gets gVisor's loopback only.
 */
export function containerRuntimeArgs(engine: Engine, rec: Pick<ContainerRecord, 'spec'>): string[] {
  if (!isSandbox(runtimeFor(engine, rec.spec))) return [];
  return rec.spec.net.mode === 'none' || rec.spec.net.mode === 'private' ? ['--network=none'] : [];
}

/** Whether the container's runtime holds state for it (a run not yet deleted). */
export function hasRuntimeState(engine: Engine, rec: Pick<ContainerRecord, 'id' | 'spec'>): boolean {
  return runtimeStateExists(runtimeFor(engine, rec.spec), engine.paths.runcRoot, rec.id);
}

/** The runtime command line for one of the container's operations (`kill`, `delete`, `exec`, ...), logging into its bundle. */
export function runtimeCommand(engine: Engine, rec: Pick<ContainerRecord, 'id' | 'spec'>, ...args: string[]): string[] {
  const rt = runtimeFor(engine, rec.spec);
  return [rt.path, ...runtimeArgs(rt, engine.paths.runcRoot, join(containerDir(engine, rec.id), 'runtime.log')), ...args];
}

/**
 * How a foreground run or exec with a terminal gets it: the runtime's flags
 * and the relay its command runs through (rootlet-console, for runtimes
 * that need it: runtime.ts usesConsoleRelay); nothing without one.
 */
export function foregroundConsole(engine: Engine, rt: Runtime, tty: boolean, o: { remoteSize?: boolean } = {}): { flags: string[]; relay: string[]; sizeFd?: number } {
  // remoteSize: the caller's terminal is not ours to read (an API client's), so its size comes on a pipe the
  // relay reads (fd 3 of the spawned command): any runtime then runs under the relay.
  if (!tty || (!usesConsoleRelay(rt) && !o.remoteSize)) return { flags: [], relay: [] };
  const size = o.remoteSize ? ['--size-fd', String(SIZE_FD)] : [];
  const sized = o.remoteSize ? { sizeFd: SIZE_FD } : {};
  if (relayAllocatesTerminal(rt)) return { flags: [], relay: [besideEntry('rootlet-console'), ...size, '--pty', '--'], ...sized };
  const socket = join(engine.paths.sockets, `console-${randomHex(6)}`);
  return { flags: ['--console-socket', socket], relay: [besideEntry('rootlet-console'), ...size, socket, '--'], ...sized };
}

/**
 * `cmd` (a runtime's start) run after the terminal conmon holds is set to
 * `size`: at once, not when conmon reads its control FIFO, which under load
 * can come after the container's first instruction (rootlet-console
 * --set-size, which runs `cmd` also when it cannot set the size).
 */
export function sizedFirst(conmonPid: number, size: ConsoleSize, cmd: string[]): string[] {
  return [besideEntry('rootlet-console'), '--set-size', String(conmonPid), String(size.rows), String(size.columns), '--', ...cmd];
}

/** The descriptor a relay reads window sizes from: the first after stdio. */
const SIZE_FD = 3;

/** The container's layer directory names, bottom first: the image's, or their --userns=keep-id copies. */
export function layerNames(engine: Engine, rec: ContainerRecord): string[] {
  return rec.spec.userns === 'keep-id' ? ensureKeepIdLayers(engine, rec.spec.layers) : rec.spec.layers.map(hexOf);
}

/**
 * The command (for nsenter) that mounts the root filesystem and execs the
 * runtime. The mount is made in a mount namespace of its own that dies with
 * the runtime process, so no mount outlives the container, even when
 * rootlet is killed. fuse-overlayfs leaves a daemon behind, so it is mounted
 * beforehand in the user's namespace and unmounted after.
 *
 * With `exitFile` (a foreground run, which has no monitor) the program that
 * mounts (rootlet-mount-exec, or the shell for the other cases) stays as
 * the runtime's parent instead of exec-ing it, passes signals on, and
 * writes the exit code where conmon would: a rootlet killed meanwhile no
 * longer takes the container's exit code with it.
 */
export function startCommand(engine: Engine, rec: ContainerRecord, names: string[], runtimeCmd: string[], opts: { exitFile?: string; workdir?: WorkdirOwner; filesOnly?: boolean } = {}): string[] {
  const dirs = containerDirs(containerDir(engine, rec.id));
  for (const d of [dirs.upper, dirs.work, dirs.merged]) engine.mkdirForNs(d);
  // Overlay shows the upper directory's mode on /: it must be the image's, not our private 0700.
  chmodSync(dirs.upper, statSync(join(engine.paths.layers, names[names.length - 1]!)).mode & 0o7777);
  // overlay: the layers as the mount names them, from the directory it runs in.
  const lowers = rec.spec.driver === 'overlay' ? overlayLowers(engine.paths.layers, names, dirs) : { cwd: engine.paths.layers, names };
  // filesOnly: the command reads or writes the container's files (cp, export of a stopped one); no runtime starts.
  const sandbox = !opts.filesOnly && isSandbox(runtimeFor(engine, rec.spec)) ? `${runscNetnsFix(join(containerDir(engine, rec.id), 'config.json'))}; ` : '';
  // The plain overlay start: one small program instead of unshare, sh and mount (storage/mount-exec.c).
  if (rec.spec.driver === 'overlay' && !opts.workdir && !sandbox) {
    const exit = opts.exitFile ? ['--exit-file', opts.exitFile] : [];
    return [besideEntry('rootlet-mount-exec'), ...exit, lowers.cwd, overlayOptions(lowers.names, dirs), dirs.merged, '--', ...runtimeCmd];
  }
  // Every other start: a shell script that mounts, then execs the runtime or records its exit.
  const mount = mountScript(rec.spec.driver, engine.paths.layers, lowers.names, dirs) + (opts.workdir ? ` && { ${workdirScript(dirs.merged, rec.spec.workdir, opts.workdir)}; }` : '');
  const run = opts.exitFile ? runRecordingExit(opts.exitFile) : 'exec "$@"';
  if (rec.spec.driver === 'fuse-overlayfs') {
    // In the holder's mount namespace, where the runtime is started from (containers/start.ts).
    const r = engine.ns().runInHolder(['sh', '-c', `${unmountScript(rec.spec.driver, dirs)}; ${mount}`]);
    if (r.code !== 0) throw new EngineError(`cannot mount the container's root filesystem (fuse-overlayfs): ${lastLine(r.stderr) || `exit status ${r.code}`}`);
    if (sandbox) return ['unshare', '--mount', '--propagation', 'slave', 'sh', '-c', `${sandbox}${run}`, 'sh', ...runtimeCmd];
    return opts.exitFile ? ['sh', '-c', run, 'sh', ...runtimeCmd] : runtimeCmd;
  }
  // cd inside the namespace: lower layers are named relative to the layer directory (or to the short links).
  const script = `${sandbox}cd ${shq(lowers.cwd)} && ${mount} || { echo "rootlet: cannot mount the container's root filesystem (${rec.spec.driver})" >&2; exit 125; }; ${run}`;
  // slave: a network namespace file unmounted in the holder is gone here too (src/engine/networks/bridge.ts).
  return ['unshare', '--mount', '--propagation', 'slave', 'sh', '-c', script, 'sh', ...runtimeCmd];
}

/** Who owns a working directory made for the container: ids of the user's namespace. */
export interface WorkdirOwner {
  uid: number;
  gid: number;
}

/**
 * Makes the working directory when the image lacks it, as Podman does:
 * each missing component owned by the container's user (the runtime would
 * make it root's). Run on the mounted root before the runtime, component
 * by component: a symbolic link (which the container may have made in an
 * earlier run) is never followed on the host, and anything that is not a
 * directory stops it; the runtime then deals with the path as it is.
 */
function workdirScript(root: string, workdir: string, owner: WorkdirOwner): string {
  const parts = workdir.split('/').filter(Boolean).map(shq).join(' ');
  return `w() { d=${shq(root)}; for c in ${parts}; do d="$d/$c"; if [ -L "$d" ]; then return 0; elif [ ! -e "$d" ]; then mkdir -m 755 "$d" && chown -h ${owner.uid}:${owner.gid} "$d" || return 0; elif [ ! -d "$d" ]; then return 0; fi; done; }; w`;
}

/**
 * A runtime command that sets up the container's network (runsc's `start`
 * does, for a sandbox), run where runsc's root-namespace check is fixed
 * (runscNetnsFix); other runtimes' commands are left as they are.
 */
export function networkSetupCommand(engine: Engine, rec: ContainerRecord, cmd: string[]): string[] {
  if (!isSandbox(runtimeFor(engine, rec.spec))) return cmd;
  const fix = runscNetnsFix(join(containerDir(engine, rec.id), 'config.json'));
  return ['unshare', '--mount', '--propagation', 'slave', 'sh', '-c', `${fix}; exec "$@"`, 'sh', ...cmd];
}

/**
 * runsc (Debian's, of 2022) tells the root network namespace from others
 * by /proc/sys/net/core/rmem_default existing only there, and refuses to
 * take over the root one's interfaces. Linux 6.x has that file in every
 * network namespace, so runsc would refuse the container's own. Hidden
 * under an empty tmpfs, in the runtime's private mount namespace only (the
 * sandbox mounts a /proc of its own), the check sees what it expects. A
 * netns's sysctl directories are its own dentries: the mount is made from
 * inside the container's network namespace (named in config.json, read
 * when the script runs: the bundle is written after this command is made).
 */
function runscNetnsFix(configJson: string): string {
  return `ns=$(grep -o '"type":"network","path":"[^"]*"' ${shq(configJson)} | sed 's/.*"path":"//; s/"$//'); `
    + 'if [ -n "$ns" ]; then nsenter --net="$ns" mount -t tmpfs -o ro,size=4k rootlet-runsc-netns /proc/sys/net/core || exit 125; fi';
}

/**
 * Runs "$@" as a child that keeps our stdin (an asynchronous command would
 * get /dev/null), forwards the signals rootlet forwards, and records the
 * exit code atomically. A trapped signal interrupts `wait`; the loop waits
 * again until the child is really gone. Descriptor 9 holds the stdin
 * meanwhile: 3 may be the console relay's size pipe (SIZE_FD), which must
 * reach "$@".
 */
function runRecordingExit(exitFile: string): string {
  const f = shq(exitFile);
  const tmp = shq(`${exitFile}.tmp`);
  const traps = ['INT', 'TERM', 'HUP', 'QUIT', 'USR1', 'USR2', 'WINCH'].map((s) => `trap 'kill -${s} $p 2>/dev/null' ${s}`).join('; ');
  return `exec 9<&0; "$@" 0<&9 9<&- & p=$!; exec 9<&-; ${traps}; `
    + 'while :; do wait $p; c=$?; kill -0 $p 2>/dev/null || break; done; '
    + `printf %s "$c" > ${tmp} && mv -f ${tmp} ${f}; exit $c`;
}

/**
 * Checks the container can start and returns what writes config.json and
 * the /etc files (once its network is set up: the files name its
 * addresses). The user and the command are looked up in the image's layers
 * first, so that a missing command is Docker's exit 127 with one line
 * rather than the runtime's error, before any network state is made.
 */
export function prepareBundle(engine: Engine, rec: ContainerRecord, names: string[], consoleSize: ConsoleSize | undefined = rec.spec.consoleSize): ((net: NetSetup) => void) & { workdir?: WorkdirOwner } {
  const ns = engine.ns();
  const spec = rec.spec;
  const view = new RootfsView([...names].reverse().map((n) => join(engine.paths.layers, n)), spec.mounts);
  const keepId = spec.userns === 'keep-id';
  const userSpec = spec.user || (keepId ? `${engine.id.uid}:${engine.id.gid}` : '');
  const resolved = resolveUser(userSpec, view, ns.size);
  const extra = groupIds(settingsOf(spec).groupAdd, view, ns.size).filter((g) => g !== resolved.gid && !resolved.additionalGids.includes(g));
  const user = { ...resolved, additionalGids: [...resolved.additionalGids, ...extra] };
  const env = spec.env.some((e) => e.startsWith('HOME=')) ? spec.env : [...spec.env, `HOME=${user.home}`];
  const cmd = spec.args[0]!;
  const cwd = view.stat(spec.workdir);
  if (cwd && !cwd.isDirectory()) throw new EngineError(`the working directory ${spec.workdir} is not a directory in the container`);
  const underMount = spec.mounts.some((m) => spec.workdir === m.destination || spec.workdir.startsWith(`${m.destination.replace(/\/$/, '')}/`));
  const workdir = cwd || underMount || spec.workdir === '/' ? undefined : nsOwner(user, keepId ? { uid: engine.id.uid, gid: engine.id.gid, size: ns.size } : undefined);
  const verdict = checkExecutable(cmd, env, spec.workdir, view);
  if (verdict) throw new EngineError(verdict.message, verdict.code);
  checkKeyQuota(engine);
  // Before any network state is made: a missing default profile or a device gone since create is refused here.
  const security = specSecurity(engine, spec, runtimeFor(engine, spec));
  return Object.assign((net: NetSetup) => writeBundle(engine, rec, { user, env, security, consoleSize }, net), { workdir });
}

/** The container's user as ids of the user's namespace (keep-id nests another namespace: its maps say where each id is). */
function nsOwner(user: { uid: number; gid: number }, keepId?: { uid: number; gid: number; size: number }): WorkdirOwner {
  if (!keepId) return { uid: user.uid, gid: user.gid };
  const outside = (id: number, host: number) => {
    const e = keepIdMap(host, keepId.size).find((m) => id >= m.inside && id < m.inside + m.count);
    return e ? e.outside + (id - e.inside) : 0;
  };
  return { uid: outside(user.uid, keepId.uid), gid: outside(user.gid, keepId.gid) };
}

function writeBundle(engine: Engine, rec: ContainerRecord, proc: { user: ReturnType<typeof resolveUser>; env: string[]; security: SpecSecurity & { seccompKey?: string }; consoleSize: ConsoleSize | undefined }, net: NetSetup): void {
  const ns = engine.ns();
  const dir = containerDir(engine, rec.id);
  const spec = rec.spec;
  const { user, env } = proc;
  const keepId = spec.userns === 'keep-id';
  const etc = [
    { name: 'hosts', data: hostsFor(engine, rec) },
    { name: 'hostname', data: `${spec.hostname}\n` },
    { name: 'resolv.conf', data: resolvFor(engine, rec) },
  ];
  for (const f of etc) engine.writeFileForNs(join(dir, f.name), f.data);
  const mounted = new Set(spec.mounts.map((m) => m.destination));
  const config = buildRuntimeSpec({
    rootfs: containerDirs(dir).merged,
    readonlyRootfs: spec.readOnly,
    args: spec.args,
    env,
    cwd: spec.workdir,
    user,
    terminal: spec.tty,
    consoleSize: proc.consoleSize,
    hostname: spec.hostname,
    ...(spec.pod ? { joinNamespaces: infraNamespaces(engine, spec.pod) } : {}),
    network: spec.net.mode === 'host' ? 'host' : 'own',
    netnsPath: net.netnsPath,
    mounts: spec.mounts,
    etcFiles: etc.filter((f) => !mounted.has(`/etc/${f.name}`)).map((f) => ({ source: join(dir, f.name), destination: `/etc/${f.name}` })),
    userns: keepId ? { uidMappings: keepIdMap(engine.id.uid, ns.size), gidMappings: keepIdMap(engine.id.gid, ns.size) } : undefined,
    cgroupV2: cgroupLayout() === 'v2',
    initPath: spec.init ? findInPath('catatonit') : undefined,
    resources: resourcesSpec(spec.resources, rec.id, engine.id.uid),
    security: proc.security,
    rlimits: ociRlimits(spec.ulimits),
    annotations: spec.annotations,
  });
  engine.writeFileForNs(join(dir, 'config.json'), specText(config));
  // Which compiled filter the runtime's state will hold once it created the container (start.ts keeps it).
  if (proc.security.seccompKey && !proc.security.annotations['run.oci.seccomp_bpf_data']) engine.writeFileForNs(join(dir, SECCOMP_KEY_FILE), proc.security.seccompKey);
  else rmSync(join(dir, SECCOMP_KEY_FILE), { force: true });
}

/** The runtime's last error, from its JSON log. */
export function runtimeError(logFile: string): string | undefined {
  let text: string;
  try { text = readFileSync(logFile, 'utf8'); } catch { return undefined; }
  let msg: string | undefined;
  for (const line of text.split('\n')) {
    try {
      const e = JSON.parse(line) as { level?: string; msg?: string };
      if (e.level === 'error' || e.level === 'fatal') msg = e.msg;
    } catch { /* not JSON */ }
  }
  return msg;
}

/** Docker's exit code for a runtime failure: 127 when the command is missing, 126 when it cannot run, else 125. */
export function classifyRuntimeError(msg: string): number {
  if (/exec: "[^"]*": (executable file not found|stat [^:]*: no such file or directory)/.test(msg)) return EXIT_NOT_FOUND;
  if (/exec: "[^"]*": (permission denied|is a directory)|exec format error/.test(msg)) return EXIT_CANNOT_EXECUTE;
  return 125;
}

export function unmountContainer(engine: Engine, rec: ContainerRecord): void {
  engine.ns().run(['sh', '-c', unmountScript(rec.spec.driver, containerDirs(containerDir(engine, rec.id)))]);
}

