import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { hexOf } from '../image/store.js';
import { checkExecutable, resolveUser, RootfsView } from '../runtime/rootfs-lookup.js';
import { chooseRuntime, cgroupLayout, runtimeArgs, type Runtime } from '../runtime/runtime.js';
import { buildRuntimeSpec } from '../runtime/spec.js';
import { lockedFlags } from '../storage/mountinfo.js';
import { containerDirs, mountScript, shq, unmountScript } from '../storage/rootfs.js';
import { findInPath, isProcessAlive, processStartTime, signalNumber } from '../util/proc.js';
import { trace } from '../util/trace.js';
import {
  buildSpec, keepIdMap, newContainerId, randomName, validateName,
  type ContainerSpec, type CreateOptions, type ParsedVolume,
} from './container-spec.js';
import { ContainerStore, type ContainerRecord } from './container-store.js';
import type { Engine } from './engine.js';
import { EngineError, errorMessage, EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND } from './errors.js';
import { ensureKeepIdLayers } from './keepid.js';

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export function containerDir(engine: Engine, id: string): string {
  return join(engine.paths.containers, id);
}

const runtimes = new Map<string, Runtime>();

/** The container's runtime, chosen once per process (it reads the cgroup layout and PATH). */
function runtimeFor(engine: Engine, spec: ContainerSpec): Runtime {
  const want = spec.runtime || engine.config.engine.runtime || '';
  let rt = runtimes.get(want);
  if (!rt) runtimes.set(want, (rt = chooseRuntime(want || undefined)));
  return rt;
}

/** Turns parsed -v entries into mounts: bind sources are created if missing (as Docker), volumes live in the store. */
function resolveVolumes(engine: Engine, parsed: ParsedVolume[], spec: ContainerSpec): void {
  for (const v of parsed) {
    const propagation = v.propagation ? [v.propagation] : [];
    if (v.kind === 'bind') {
      if (!existsSync(v.source)) {
        try {
          // Made for the container: its root owns it (for host root, a subordinate id).
          engine.mkdirForNs(v.source, 0o755);
        } catch (err) {
          throw new EngineError(`bind mount source ${v.source} does not exist and cannot be created: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      const options = ['rbind', ...propagation];
      if (v.readonly) options.push('ro', ...lockedFlags(v.source));
      spec.mounts.push({ type: 'bind', source: v.source, destination: v.destination, options });
      continue;
    }
    const name = v.kind === 'named' ? v.source : newContainerId();
    const data = join(engine.paths.volumes, name, '_data');
    if (!existsSync(data)) {
      engine.mkdirForNs(join(engine.paths.volumes, name));
      engine.mkdirForNs(data);
    }
    spec.volumes.push({ name, anonymous: v.kind === 'anonymous' });
    spec.mounts.push({ type: 'bind', source: data, destination: v.destination, options: ['rbind', ...propagation, ...(v.readonly ? ['ro'] : [])] });
  }
}

/** Creates the container's record and spec; nothing runs yet. */
export function createContainer(engine: Engine, opts: CreateOptions): ContainerRecord {
  const image = engine.images.resolve(opts.image);
  const id = newContainerId();
  const { spec, volumes } = buildSpec(opts, image, {
    id,
    hostEnv: process.env,
    cwd: process.cwd(),
    isRoot: engine.id.uid === 0,
    driver: engine.storageDriver(),
    hostHostname: osHostname(),
  });
  runtimeFor(engine, spec);
  if (spec.init && !findInPath('catatonit')) throw new EngineError('--init needs catatonit: install the Debian package catatonit');
  resolveVolumes(engine, volumes, spec);
  const store = new ContainerStore(engine.db);
  const rec: ContainerRecord = {
    id,
    name: opts.name ? validateName(opts.name) : randomName(),
    imageId: image.id,
    imageName: opts.image,
    created: Date.now(),
    state: 'created',
    spec,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      store.insert(rec);
      break;
    } catch (err) {
      if (opts.name || attempt > 20) throw err;
      rec.name = `${randomName()}${attempt > 5 ? `_${attempt}` : ''}`;
    }
  }
  return rec;
}

/** The container's layer directory names, bottom first: the image's, or their --userns=keep-id copies. */
function layerNames(engine: Engine, rec: ContainerRecord): string[] {
  return rec.spec.userns === 'keep-id' ? ensureKeepIdLayers(engine, rec.spec.layers) : rec.spec.layers.map(hexOf);
}

/**
 * The command (for nsenter) that mounts the root filesystem and execs the
 * runtime. The mount is made in a mount namespace of its own that dies with
 * the runtime process, so no mount outlives the container, even when
 * rootlet is killed. fuse-overlayfs leaves a daemon behind, so it is mounted
 * beforehand in the user's namespace and unmounted after.
 */
function startCommand(engine: Engine, rec: ContainerRecord, names: string[], runtimeCmd: string[]): string[] {
  const dirs = containerDirs(containerDir(engine, rec.id));
  for (const d of [dirs.upper, dirs.work, dirs.merged]) engine.mkdirForNs(d);
  // Overlay shows the upper directory's mode on /: it must be the image's, not our private 0700.
  chmodSync(dirs.upper, statSync(join(engine.paths.layers, names[names.length - 1]!)).mode & 0o7777);
  const mount = mountScript(rec.spec.driver, engine.paths.layers, names, dirs);
  if (rec.spec.driver === 'fuse-overlayfs') {
    engine.ns().runChecked(['sh', '-c', `${unmountScript(rec.spec.driver, dirs)}; ${mount}`], 'cannot mount the container\'s root filesystem (fuse-overlayfs)');
    return runtimeCmd;
  }
  // cd inside the namespace: lower layers are named relative to the layer directory.
  const script = `cd ${shq(engine.paths.layers)} && ${mount} || { echo "rootlet: cannot mount the container's root filesystem (${rec.spec.driver})" >&2; exit 125; }; exec "$@"`;
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...runtimeCmd];
}

function hostsFile(rec: ContainerRecord): string {
  if (rec.spec.network === 'host') return readOr('/etc/hosts', '127.0.0.1\tlocalhost\n');
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${rec.spec.hostname} ${rec.name}\n`;
}

function readOr(path: string, fallback: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return fallback; }
}

/**
 * Writes config.json and the /etc files. The user and the command are
 * looked up in the image's layers first, so that a missing command is
 * Docker's exit 127 with one line rather than the runtime's error.
 */
function prepareBundle(engine: Engine, rec: ContainerRecord, names: string[]): void {
  const ns = engine.ns();
  const dir = containerDir(engine, rec.id);
  const spec = rec.spec;
  const view = new RootfsView([...names].reverse().map((n) => join(engine.paths.layers, n)), spec.mounts);
  const keepId = spec.userns === 'keep-id';
  const userSpec = spec.user || (keepId ? `${engine.id.uid}:${engine.id.gid}` : '');
  const user = resolveUser(userSpec, view, ns.size);
  const env = spec.env.some((e) => e.startsWith('HOME=')) ? spec.env : [...spec.env, `HOME=${user.home}`];
  const cmd = spec.args[0]!;
  const verdict = checkExecutable(cmd, env, spec.workdir, view);
  if (verdict) throw new EngineError(verdict.message, verdict.code);

  const etc = [
    { name: 'hosts', data: hostsFile(rec) },
    { name: 'hostname', data: `${spec.hostname}\n` },
    { name: 'resolv.conf', data: readOr('/etc/resolv.conf', '') },
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
    hostname: spec.hostname,
    network: spec.network,
    mounts: spec.mounts,
    etcFiles: etc.filter((f) => !mounted.has(`/etc/${f.name}`)).map((f) => ({ source: join(dir, f.name), destination: `/etc/${f.name}` })),
    userns: keepId ? { uidMappings: keepIdMap(engine.id.uid, ns.size), gidMappings: keepIdMap(engine.id.gid, ns.size) } : undefined,
    cgroupV2: cgroupLayout() === 'v2',
    initPath: spec.init ? findInPath('catatonit') : undefined,
  });
  engine.writeFileForNs(join(dir, 'config.json'), JSON.stringify(config));
}

/** The runtime's last error, from its JSON log. */
function runtimeError(logFile: string): string | undefined {
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

function classifyRuntimeError(msg: string): number {
  if (/executable file not found|no such file or directory/.test(msg) && /exec/.test(msg)) return EXIT_NOT_FOUND;
  if (/permission denied|exec format error/.test(msg) && /exec/.test(msg)) return EXIT_CANNOT_EXECUTE;
  return 125;
}

/**
 * `run` in the foreground: the runtime runs the container as our child with
 * our stdio; we forward signals and return its exit code. With --rm,
 * everything of the container is gone when this returns, also on Ctrl-C.
 */
export async function runForeground(engine: Engine, opts: CreateOptions): Promise<number> {
  if (opts.tty && opts.interactive && !process.stdin.isTTY) throw new EngineError('the input device is not a TTY: drop -t, or run from a terminal');
  trace('run: start');
  const rec = createContainer(engine, opts);
  trace('run: record created');
  const store = new ContainerStore(engine.db);
  const dir = containerDir(engine, rec.id);
  const runtime = runtimeFor(engine, rec.spec);
  const logFile = join(dir, 'runtime.log');
  let started = false;
  let exitCode: number | undefined;
  // A signal that arrives before the container runs must still end the run cleanly.
  let pendingSignal: NodeJS.Signals | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (child?.pid) {
      try { child.kill(sig); } catch { /* already gone */ }
    } else {
      pendingSignal = sig;
    }
  };
  const handlers = FORWARDED_SIGNALS.map((sig) => {
    const h = () => onSignal(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  const onWinch = () => { if (child?.pid) try { child.kill('SIGWINCH'); } catch { /* gone */ } };
  if (opts.tty) process.on('SIGWINCH', onWinch);
  try {
    engine.mkdirForNs(dir);
    const names = layerNames(engine, rec);
    prepareBundle(engine, rec, names);
    trace('run: bundle written');
    if (pendingSignal) throw new EngineError(`interrupted by ${pendingSignal} before the container started`, 130);
    const runtimeCmd = [runtime.path, ...runtimeArgs(runtime, engine.paths.runcRoot, logFile), 'run', '--bundle', dir, rec.id];
    const args = [...engine.ns().nsenterArgs(), '--', ...startCommand(engine, rec, names, runtimeCmd)];
    store.markRunning(rec.id, process.pid, processStartTime(process.pid));
    started = true;
    exitCode = await new Promise<number>((resolve, reject) => {
      // Its own session: terminal signals reach only us, and we forward each once.
      child = spawn('nsenter', args, { stdio: [opts.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit'], detached: true });
      child.on('error', (e) => reject(new EngineError(`cannot start nsenter: ${e.message}`)));
      child.on('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
    trace('run: runtime exited');
    if (exitCode !== 0) {
      const err = runtimeError(logFile);
      if (err) {
        exitCode = undefined;
        throw new EngineError(`the OCI runtime (${runtime.name}) failed: ${err}`, classifyRuntimeError(err));
      }
    }
    return exitCode;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    process.off('SIGWINCH', onWinch);
    if (rec.spec.rm) {
      removeContainer(engine, store.get(rec.id) ?? rec, { force: true, volumes: true, owner: true });
    } else {
      if (started) store.markExited(rec.id, exitCode);
      if (rec.spec.driver === 'fuse-overlayfs') unmountContainer(engine, rec);
    }
    trace('run: cleaned up');
  }
}

function unmountContainer(engine: Engine, rec: ContainerRecord): void {
  engine.ns().run(['sh', '-c', unmountScript(rec.spec.driver, containerDirs(containerDir(engine, rec.id)))]);
}

/** True while the container's processes exist, whoever started it. */
export function isRunning(engine: Engine, rec: ContainerRecord): boolean {
  if (rec.state !== 'running') return false;
  if (rec.ownerPid && isProcessAlive(rec.ownerPid, rec.ownerStart)) return true;
  // Its rootlet died (kill -9): ask the runtime.
  return runtimeStatus(engine, rec) === 'running';
}

function runtimeStatus(engine: Engine, rec: ContainerRecord): string | undefined {
  if (!existsSync(join(engine.paths.runcRoot, rec.id))) return undefined;
  const rt = runtimeFor(engine, rec.spec);
  const r = engine.ns().run([rt.path, '--root', engine.paths.runcRoot, 'state', rec.id]);
  if (r.code !== 0) return undefined;
  try { return (JSON.parse(r.stdout) as { status?: string }).status; } catch { return undefined; }
}

/** Records whose rootlet died while they ran are settled: still running per the runtime, or exited. */
export function refreshStates(engine: Engine, recs: ContainerRecord[]): ContainerRecord[] {
  const store = new ContainerStore(engine.db);
  return recs.map((rec) => {
    if (rec.state !== 'running' || (rec.ownerPid && isProcessAlive(rec.ownerPid, rec.ownerStart))) return rec;
    if (runtimeStatus(engine, rec) === 'running') return rec;
    store.markExited(rec.id, rec.exitCode);
    if (rec.spec.driver === 'fuse-overlayfs') unmountContainer(engine, rec);
    return store.get(rec.id) ?? rec;
  });
}

/**
 * Deletes a tree of the store: from the host when we may (fast, no
 * process), else inside the namespace, where files of subordinate ids can
 * be deleted.
 */
function removeTree(engine: Engine, paths: string[]): void {
  const left = paths.filter((p) => {
    try {
      rmSync(p, { recursive: true, force: true });
      return false;
    } catch {
      return true;
    }
  });
  if (left.length) engine.ns().runChecked(['rm', '-rf', ...left], 'cannot delete container files');
}

/**
 * Removes a container: its processes (with force), mount, files, record,
 * and with `volumes` its anonymous volumes. `owner` is the foreground run
 * removing its own --rm container.
 */
export function removeContainer(engine: Engine, rec: ContainerRecord, opts: { force: boolean; volumes: boolean; owner?: boolean }): void {
  const store = new ContainerStore(engine.db);
  if (!opts.owner && isRunning(engine, rec) && !opts.force) {
    throw new EngineError(`cannot remove container "${rec.name}": it is running: stop it first, or use rm -f`);
  }
  if (!store.claimForRemoval(rec.id) && !opts.owner) return;
  const dir = containerDir(engine, rec.id);
  if (existsSync(join(engine.paths.runcRoot, rec.id))) {
    const rt = runtimeFor(engine, rec.spec);
    engine.ns().run([rt.path, '--root', engine.paths.runcRoot, 'delete', '--force', rec.id]);
  }
  if (rec.spec.driver === 'fuse-overlayfs') unmountContainer(engine, rec);
  const anon = opts.volumes ? rec.spec.volumes.filter((v) => v.anonymous).map((v) => join(engine.paths.volumes, v.name)) : [];
  try {
    removeTree(engine, [dir, ...anon]);
  } catch (err) {
    throw new EngineError(`cannot remove container ${rec.name}: ${errorMessage(err)}`);
  }
  store.delete(rec.id);
}

export function containerStore(engine: Engine): ContainerStore {
  return new ContainerStore(engine.db);
}

