import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { familiarName, familiarRepository, looksLikeId, parseReference, repository } from '../image/reference.js';
import { hexOf, type ImageRecord } from '../image/store.js';
import { containerDirs } from '../storage/rootfs.js';
import { cgroupLayout } from '../runtime/runtime.js';
import { hasRuntimeState, runtimeCommand, runtimeFor } from './containers/bundle.js';
import { isolationOf } from './containers/isolation.js';
import { containerDir, logPath } from './containers/paths.js';
import { networkName } from './containers/list.js';
import { exposedPorts, networkSettings, portMap } from './networks/inspect.js';
import { anonymousVolumes, binds, mountPoints, tmpfsMounts } from './containers/mounts.js';
import { containerSize } from './containers/size.js';
import { containerStore, refreshState } from './containers/state.js';
import type { ContainerRecord, HealthState } from './containers/store.js';
import type { HealthCheck } from './containers/spec.js';
import type { Engine } from './engine.js';
import { EngineError } from '../util/errors.js';
import { keepIdLayerName } from './containers/keepid.js';
import { pathsOf, securityOptText, settingsOf } from './containers/security.js';
import { logConfigOf } from './containers/log-config.js';

/** Go's zero time, which Docker prints for "never". */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** RFC 3339 with the fraction's trailing zeros dropped, as Go marshals a time. */
export function rfc3339Nano(ms: number | undefined): string {
  if (ms === undefined) return ZERO_TIME;
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, f: string) => (f ? `.${f}Z` : 'Z'));
}

/** A map with its keys sorted, as Go's JSON encoder writes maps. */
export function sorted<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]!]));
}

/** What the runtime says of a running container: its pid (a foreground run does not record it) and whether it is paused. */
async function runtimeState(engine: Engine, rec: ContainerRecord): Promise<{ pid: number; status: string }> {
  if (!hasRuntimeState(engine, rec)) return { pid: 0, status: '' };
  const r = await engine.ns().runAsync(runtimeCommand(engine, rec, 'state', rec.id));
  try {
    const s = JSON.parse(r.stdout) as { pid?: number; status?: string };
    return { pid: s.pid ?? 0, status: s.status ?? '' };
  } catch {
    return { pid: 0, status: '' };
  }
}

const NS_PER_MS = 1e6;

/** Config.Healthcheck, durations in nanoseconds as Docker gives them. */
function healthConfig(h: HealthCheck): Record<string, unknown> {
  return {
    Test: h.test,
    Interval: h.intervalMs * NS_PER_MS,
    Timeout: h.timeoutMs * NS_PER_MS,
    StartPeriod: h.startPeriodMs * NS_PER_MS,
    Retries: h.retries,
  };
}

/** State.Health: the verdict, the failing streak and the last probes. */
function healthState(h: HealthState | undefined): Record<string, unknown> {
  return {
    Status: h?.status ?? 'starting',
    FailingStreak: h?.failingStreak ?? 0,
    Log: (h?.log ?? []).map((r) => ({ Start: r.start, End: r.end, ExitCode: r.exitCode, Output: r.output })),
  };
}

/**
 * Entrypoint and Cmd as Docker's Config shows them. The spec keeps only the
 * command line they made; the image's entrypoint is taken as the entrypoint
 * when the command line still starts with it.
 */
function splitCommand(args: string[], imageEntrypoint: string[] | null | undefined): { entrypoint: string[] | null; cmd: string[] | null } {
  const ep = imageEntrypoint ?? [];
  if (ep.length && ep.every((a, i) => args[i] === a)) {
    const rest = args.slice(ep.length);
    return { entrypoint: ep, cmd: rest.length ? rest : null };
  }
  return { entrypoint: null, cmd: args };
}

/** `docker inspect` of a container: the fields tools read, in Docker's shape and order. */
export async function inspectContainer(engine: Engine, recIn: ContainerRecord, opts: { size?: boolean } = {}): Promise<Record<string, unknown>> {
  const rec = refreshState(engine, recIn);
  // Settling it may have finished a removal that was cut short.
  if (!rec) throw new EngineError(`No such container: ${recIn.name}`, 1);
  const spec = rec.spec;
  const running = rec.state === 'running';
  // The runtime is asked (a process, through the namespace holder) only for what the record may not
  // say: a foreground run's pid, and whether the container is paused, which only a container with
  // a cgroup of its own (cgroup v2) or gVisor's can be (pauseContainer refuses elsewhere).
  const mayBePaused = cgroupLayout() === 'v2' || runtimeFor(engine, spec).kind === 'runsc';
  const rt = running && (rec.pid === undefined || mayBePaused) ? await runtimeState(engine, rec) : { pid: 0, status: '' };
  const image = engine.images.get(rec.imageId);
  const dir = containerDir(engine, rec.id);
  const dirs = containerDirs(dir);
  const { entrypoint, cmd } = spec.entrypoint !== undefined && spec.cmd !== undefined
    ? { entrypoint: spec.entrypoint.length ? spec.entrypoint : null, cmd: spec.cmd.length ? spec.cmd : null }
    : splitCommand(spec.args, image?.config.config?.Entrypoint);
  const network = networkName(rec);
  const res = spec.resources;
  const log = logPath(engine, rec.id);
  const tmpfs = tmpfsMounts(spec);
  // Named without making them: a keep-id copy is made by the first start, not by looking.
  const layers = spec.layers.map((l) => (spec.userns === 'keep-id' ? keepIdLayerName(engine, l) : hexOf(l)));
  const sec = settingsOf(spec);
  const secPaths = pathsOf(sec);
  const out: Record<string, unknown> = {
    Id: rec.id,
    Created: rfc3339Nano(rec.created),
    Path: spec.args[0] ?? '',
    Args: spec.args.slice(1),
    State: {
      Status: rt.status === 'paused' ? 'paused' : rec.state,
      Running: running,
      Paused: rt.status === 'paused',
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? rec.pid ?? rt.pid : 0,
      // An exit nobody saw (its monitor was killed too) is 255, as `ps` and `wait` say.
      ExitCode: rec.state === 'exited' ? rec.exitCode ?? 255 : 0,
      Error: '',
      StartedAt: rfc3339Nano(rec.startedAt),
      FinishedAt: rfc3339Nano(rec.state === 'running' ? undefined : rec.finishedAt),
      ...(spec.health ? { Health: healthState(rec.health) } : {}),
    },
    Image: rec.imageId,
    ImageName: rec.imageName,
    ResolvConfPath: join(dir, 'resolv.conf'),
    HostnamePath: join(dir, 'hostname'),
    HostsPath: join(dir, 'hosts'),
    LogPath: existsSync(log) ? log : '',
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    Driver: spec.driver,
    Platform: spec.platform?.split('/')[0] ?? 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: binds(engine.paths.volumes, spec),
      ContainerIDFile: '',
      LogConfig: logConfigOf(spec.log),
      NetworkMode: network,
      PortBindings: portMap(spec.net.ports),
      RestartPolicy: { Name: spec.restart.name, MaximumRetryCount: spec.restart.maxRetries },
      AutoRemove: spec.rm,
      ConsoleSize: spec.consoleSize ? [spec.consoleSize.rows, spec.consoleSize.columns] : [0, 0],
      VolumeDriver: '',
      VolumesFrom: null,
      CapAdd: sec.capAdd.length ? sec.capAdd : null,
      CapDrop: sec.capDrop.length ? sec.capDrop : null,
      Dns: spec.net.dns,
      DnsOptions: spec.net.dnsOptions,
      DnsSearch: spec.net.dnsSearch,
      ExtraHosts: spec.net.extraHosts.length ? spec.net.extraHosts : null,
      IpcMode: 'private',
      PidMode: '',
      Privileged: sec.privileged,
      ...(sec.privileged ? { PrivilegedNote: PRIVILEGED_NOTE } : {}),
      PublishAllPorts: !!spec.net.publishAll,
      ReadonlyRootfs: spec.readOnly,
      SecurityOpt: securityOptText(sec),
      Devices: sec.devices.map((d) => ({ PathOnHost: d.pathOnHost, PathInContainer: d.pathInContainer, CgroupPermissions: d.cgroupPermissions })),
      GroupAdd: sec.groupAdd.length ? sec.groupAdd : null,
      MaskedPaths: secPaths.masked,
      ReadonlyPaths: secPaths.readonly,
      ...(Object.keys(tmpfs).length ? { Tmpfs: sorted(tmpfs) } : {}),
      UTSMode: '',
      UsernsMode: spec.userns === 'keep-id' ? 'keep-id' : '',
      ShmSize: 64 * 1024 * 1024,
      Runtime: runtimeFor(engine, spec).name,
      Isolation: isolationOf(runtimeFor(engine, spec)),
      Memory: res.memoryBytes ?? 0,
      NanoCpus: res.cpuQuota && res.cpuPeriod ? Math.round((res.cpuQuota / res.cpuPeriod) * 1e9) : 0,
      CpuPeriod: 0,
      CpuQuota: 0,
      PidsLimit: res.pidsLimit ?? null,
      Init: spec.init,
      Ulimits: spec.ulimits?.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })) ?? null,
      ...(spec.annotations ? { Annotations: sorted(spec.annotations) } : {}),
    },
    GraphDriver: {
      Name: spec.driver,
      Data: {
        LowerDir: layers.map((n) => join(engine.paths.layers, n)).reverse().join(':'),
        UpperDir: dirs.upper,
        WorkDir: dirs.work,
        MergedDir: dirs.merged,
      },
    },
    Mounts: mountPoints(engine.paths.volumes, spec),
    Config: {
      Hostname: spec.hostname,
      Domainname: '',
      User: spec.user,
      Tty: spec.tty,
      OpenStdin: spec.interactive,
      StdinOnce: false,
      Env: spec.env,
      Cmd: cmd,
      Image: rec.imageName,
      ...(exposedPorts(spec.net.exposed) ? { ExposedPorts: exposedPorts(spec.net.exposed) } : {}),
      Volumes: anonymousVolumes(engine.paths.volumes, spec),
      WorkingDir: spec.workdir,
      Entrypoint: entrypoint,
      OnBuild: null,
      ...(spec.health ? { Healthcheck: healthConfig(spec.health) } : {}),
      Labels: sorted(spec.labels),
      StopSignal: spec.stopSignal,
      StopTimeout: spec.stopTimeout,
    },
    NetworkSettings: networkSettings(engine, rec),
  };
  if (opts.size) {
    const s = await containerSize(engine, rec);
    out.SizeRw = s.rw;
    out.SizeRootFs = s.rootFs;
  }
  return out;
}

/** inspect's word on --privileged: rootless, it is the user's own rights and no more. */
const PRIVILEGED_NOTE = 'rootless: every capability of the user namespace, no seccomp filter, no masked paths, and the host devices the user can open; nothing the user could not do without rootlet';

/** Where the image's layers are on disk, for GraphDriver (as Podman shows an image's layers). */
export interface ImageStorage {
  driver: string;
  layerDir: (diffId: string) => string;
}

/**
 * `docker image inspect`: the image's config in Docker's shape.
 * RepoDigests name the manifest under each repository, as Podman does for
 * every image (Docker only for pulled ones).
 */
export function inspectImage(img: ImageRecord, storage?: ImageStorage): Record<string, unknown> {
  const cfg = img.config.config ?? {};
  const history = img.config.history ?? [];
  const config: Record<string, unknown> = {
    Hostname: '',
    Domainname: '',
    User: cfg.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(cfg.ExposedPorts && Object.keys(cfg.ExposedPorts).length ? { ExposedPorts: sorted(cfg.ExposedPorts) } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: cfg.Env ?? null,
    Cmd: cfg.Cmd ?? null,
    Image: '',
    Volumes: cfg.Volumes && Object.keys(cfg.Volumes).length ? sorted(cfg.Volumes) : null,
    WorkingDir: cfg.WorkingDir ?? '',
    Entrypoint: cfg.Entrypoint ?? null,
    // A build's ONBUILD triggers (docs/build.md): Docker shows them here.
    OnBuild: (cfg as { OnBuild?: string[] }).OnBuild?.length ? (cfg as { OnBuild?: string[] }).OnBuild : null,
    Labels: cfg.Labels ? sorted(cfg.Labels) : null,
    ...(cfg.StopSignal ? { StopSignal: cfg.StopSignal } : {}),
  };
  const repos = [...new Set(img.tags.map((t) => familiarRepository(repository(parseReference(t, null)))))];
  const layers = storage ? img.layers.map(storage.layerDir).reverse() : [];
  return {
    Id: img.id,
    RepoTags: img.tags.map(familiarName),
    RepoDigests: repos.map((r) => `${r}@${img.manifestDigest}`),
    Parent: '',
    Comment: [...history].reverse().find((h) => h.comment)?.comment ?? '',
    Created: img.config.created ?? rfc3339Nano(img.created),
    DockerVersion: '',
    Author: img.config.author ?? '',
    Config: config,
    Architecture: img.config.architecture,
    ...(img.config.variant ? { Variant: img.config.variant } : {}),
    Os: img.config.os,
    Size: img.size,
    VirtualSize: img.size,
    ...(storage ? {
      GraphDriver: {
        Name: storage.driver,
        Data: { ...(layers.length > 1 ? { LowerDir: layers.slice(1).join(':') } : {}), UpperDir: layers[0] ?? '' },
      },
    } : {}),
    RootFS: { Type: 'layers', Layers: img.config.rootfs.diff_ids },
    Metadata: { LastTagTime: ZERO_TIME },
  };
}

export type InspectType = 'container' | 'image';

export type Found =
  | { type: 'container'; rec: ContainerRecord }
  | { type: 'image'; img: ImageRecord };

/** A string that can name an image at all: anything else is simply not one. */
function couldBeImage(ref: string): boolean {
  if (looksLikeId(ref)) return true;
  try {
    parseReference(ref);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds what `inspect NAME` means: a container first, then an image, as
 * Docker resolves names; `type` limits the search. Missing is Docker's
 * error for the type asked for ("No such object" when none was).
 */
export function findObject(engine: Engine, ref: string, type?: InspectType): Found {
  if (type !== 'image') {
    const rec = containerStore(engine).find(ref);
    if (rec) return { type: 'container', rec };
  }
  if (type !== 'container' && couldBeImage(ref)) {
    const img = engine.images.find(ref);
    if (img) return { type: 'image', img };
  }
  const what = type === 'container' ? 'container' : type === 'image' ? 'image' : 'object';
  throw new EngineError(`No such ${what}: ${ref}`, 1);
}

/** The inspect document of what `ref` names. */
export async function inspectObject(engine: Engine, ref: string, opts: { type?: InspectType; size?: boolean } = {}): Promise<Record<string, unknown>> {
  const found = findObject(engine, ref, opts.type);
  return found.type === 'container' ? inspectContainer(engine, found.rec, { size: opts.size }) : inspectImage(found.img, { driver: engine.storageDriver(), layerDir: (d) => engine.images.layerPath(d) });
}
