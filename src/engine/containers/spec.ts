import { posix } from 'node:path';
import type { ImageRecord } from '../../image/store.js';
import type { MapEntry } from '../../rootless/userns.js';
import type { ConsoleSize, MountRequest } from '../../runtime/spec.js';
import type { DriverName } from '../../storage/rootfs.js';
import { legacyNetworkSpec, networkSpec, type NetworkMode, type NetworkSpec } from '../networks/options.js';
import type { CreateRequest, DeviceMapping, HealthRequest, HostRequest, MountSpec, ResourcesRequest, RestartPolicy, Ulimit } from './request.js';
import { checkUlimits } from './ulimits.js';
import { logSettings, type LogSettings } from './log-config.js';
import { EngineError } from '../../util/errors.js';
import type { ContainerAsk } from '../policy/evaluate.js';
import { randomHex } from '../../util/random.js';
import { parseDuration, parseSignal } from '../../util/values.js';
import type { PodMembership } from '../pods/membership.js';

// Parsed in src/util/values.ts with every other typed value; re-exported for the modules that import them from here.
export { parseDuration, parseSignal };

export type { NetworkMode, NetworkSpec };
export type UsernsMode = 'host' | 'keep-id';

/** A named volume used by the container, and whether removing the container removes it (anonymous). */
export interface VolumeUse {
  name: string;
  anonymous: boolean;
}

/** Everything needed to (re)start a container, stored with its record. */
export interface ContainerSpec {
  args: string[];
  /** The two parts `args` was made of, as Docker's inspect shows them (absent in records of older versions). */
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  workdir: string;
  user: string;
  hostname: string;
  mounts: MountRequest[];
  volumes: VolumeUse[];
  readOnly: boolean;
  /** The network mode (kept beside `net` for records of older versions, which have only this). */
  network: NetworkMode;
  net: NetworkSpec;
  init: boolean;
  tty: boolean;
  interactive: boolean;
  /** Config.StdinOnce: the container's input closes when the first attached session's input ends (docker run -i through the API). */
  stdinOnce?: boolean;
  userns: UsernsMode;
  rm: boolean;
  runtime?: string;
  driver: DriverName;
  layers: string[];
  restart: RestartPolicy;
  stopSignal: string;
  stopTimeout: number;
  labels: Record<string, string>;
  resources: Resources;
  health?: HealthCheck;
  /** What the admin policy rules on, as asked at create: start and exec check it again (absent in records of older versions). */
  policy?: ContainerAsk;
  /** Capabilities, seccomp, masks, devices, groups (absent in records of older versions: the defaults). */
  security?: SecuritySettings;
  /** --ulimit (absent: the caller's limits, inherited). */
  ulimits?: Ulimit[];
  /** --annotation: OCI annotations of the runtime's config. */
  annotations?: Record<string, string>;
  /** --log-driver and --log-opt (absent: k8s-file, no size limit). */
  log?: LogSettings;
  /** --platform as asked (the image was checked against it at create). */
  platform?: string;
  /** --pod: the pod it belongs to, whose infra container's namespaces it joins. */
  pod?: PodMembership;
  /** HostConfig.ConsoleSize: a -t container's terminal size at each start (absent: the runtime's 0x0, until an attach resizes it). */
  consoleSize?: ConsoleSize;
}

/** The container's confinement as asked for; turned into the runtime's at each start (security.ts). */
export interface SecuritySettings {
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  noNewPrivileges: boolean;
  /** A profile given as a file is kept by its content's hash in the store's seccomp cache. */
  seccomp: 'default' | 'unconfined' | { path: string; sha: string };
  mask: string[];
  unmask: string[];
  devices: DeviceMapping[];
  groupAdd: string[];
}

/** Docker's HEALTHCHECK: the probe runs in the container every interval. */
export interface HealthCheck {
  /** ["CMD-SHELL", script] or ["CMD", argv...] */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export type { RestartPolicy };

/** Limits as the runtime spec wants them; empty when none was asked for. */
export interface Resources {
  memoryBytes?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  pidsLimit?: number;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function newContainerId(): string {
  return randomHex(32);
}


/** A request's environment: complete KEY=VALUE entries (a front door resolved bare names and files). */
export function checkEnv(env: string[] | undefined): void {
  for (const e of env ?? []) if (!e.includes('=') || e.startsWith('=')) throw new EngineError(`invalid environment variable "${e}": use KEY=VALUE`);
}

/** Later entries win, keeping the first position of each name. */
export function mergeEnv(...lists: string[][]): string[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  for (const list of lists) {
    for (const e of list) {
      const k = e.split('=')[0]!;
      if (!values.has(k)) order.push(k);
      values.set(k, e);
    }
  }
  return order.map((k) => values.get(k)!);
}

interface ImageHealthcheck { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number }

/** The health check from the request over the image's; none when either says NONE. */
function healthFrom(req: HealthRequest | undefined, image: ImageHealthcheck | undefined): HealthCheck | undefined {
  const ns = (n: number | undefined) => (n ? n / 1e6 : undefined);
  const test = req?.test ?? image?.Test;
  if (!test || !test.length || test[0] === 'NONE') return undefined;
  const interval = req?.intervalMs ?? ns(image?.Interval) ?? 30_000;
  // A probe more often than that would be the container's main load.
  if (interval < 100) throw new EngineError(`invalid health check interval ${interval}ms: use at least 100ms`);
  const retries = req?.retries ?? image?.Retries ?? 3;
  if (!Number.isInteger(retries) || retries < 1) throw new EngineError(`invalid health check retries ${retries}: use a whole number of 1 or more`);
  return {
    test: test[0] === 'CMD' || test[0] === 'CMD-SHELL' ? test : ['CMD', ...test],
    intervalMs: interval,
    timeoutMs: req?.timeoutMs ?? ns(image?.Timeout) ?? 30_000,
    retries,
    startPeriodMs: req?.startPeriodMs ?? ns(image?.StartPeriod) ?? 0,
  };
}

function restartPolicy(host: HostRequest): RestartPolicy {
  const p = host.restartPolicy ?? { name: 'no', maxRetries: 0 };
  if (p.name !== 'no' && host.autoRemove) throw new EngineError('conflicting options: --restart and --rm: a container removed when it exits cannot be restarted');
  return p;
}

/** The network part of the spec: the request first, the image's EXPOSE for -P. */
export function networkFromRequest(req: CreateRequest, imageExposed: string[] = []): NetworkSpec {
  const h = req.host ?? {};
  return networkSpec({
    network: h.networkMode === 'default' ? undefined : h.networkMode,
    ports: h.portBindings ?? [],
    publishAll: !!h.publishAllPorts,
    expose: req.exposedPorts ?? [],
    dns: h.dns ?? [],
    dnsSearch: h.dnsSearch ?? [],
    dnsOptions: h.dnsOptions ?? [],
    addHosts: h.extraHosts ?? [],
    aliases: h.networkAliases ?? [],
    hostname: req.hostname,
  }, imageExposed);
}

export { legacyNetworkSpec };

/** keep-id needs a user other than root: rootlet never maps host root into a container. */
function usernsMode(u: HostRequest['userns'], isRoot: boolean): UsernsMode {
  if (u === 'keep-id' && isRoot) throw new EngineError('--userns=keep-id keeps your own uid inside the container, and yours is root: rootlet never maps host root into a container');
  return u ?? 'host';
}

/**
 * Maps for --userns=keep-id, as a nested namespace inside the user's: the
 * user's own uid is itself inside, and every other container id keeps a
 * distinct subordinate id. Ids are those of the user's namespace (0 is the
 * user, 1.. the subordinate ranges), of which there are `size`.
 */
export function keepIdMap(hostId: number, size: number): MapEntry[] {
  const maps: MapEntry[] = [];
  const below = Math.min(hostId, size - 1);
  if (below > 0) maps.push({ inside: 0, outside: 1, count: below });
  maps.push({ inside: hostId, outside: 0, count: 1 });
  if (hostId + 1 < size) maps.push({ inside: hostId + 1, outside: hostId + 1, count: size - hostId - 1 });
  return maps;
}

/**
 * The owner a file of the user's namespace gets in a keep-id copy, so the
 * container sees the same owner. Ids at the top of the range have nowhere
 * to go (the namespace maps `size` ids) and keep theirs.
 */
export function keepIdShift(id: number, hostId: number, size: number): number {
  if (id < hostId) return id + 1 < size ? id + 1 : id;
  if (id === hostId) return 0;
  return id;
}

/** Docker's minimum memory limit. */
export const MIN_MEMORY = 6 * 1024 * 1024;

export function resourcesFrom(r: ResourcesRequest = {}): Resources {
  const out: Resources = {};
  if (r.memoryBytes !== undefined) {
    if (r.memoryBytes < MIN_MEMORY) throw new EngineError(`invalid memory limit ${r.memoryBytes} bytes: below the minimum of 6m`);
    out.memoryBytes = r.memoryBytes;
  }
  if (r.nanoCpus !== undefined) {
    if (!(r.nanoCpus > 0)) throw new EngineError(`invalid CPU limit ${r.nanoCpus / 1e9}: use a positive number of CPUs`);
    out.cpuPeriod = 100_000;
    out.cpuQuota = Math.round((r.nanoCpus / 1e9) * 100_000);
  }
  if (r.pidsLimit !== undefined && r.pidsLimit > 0) out.pidsLimit = r.pidsLimit;
  return out;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A mount's container path: absolute, normalised, not the root. */
function mountTarget(target: string): string {
  if (!target.startsWith('/')) throw new EngineError(`invalid mount: the container path "${target}" must be absolute`);
  const clean = posix.normalize(target).replace(/\/$/, '') || '/';
  if (clean === '/') throw new EngineError(`invalid mount "${target}": cannot mount over the container's root`);
  return clean;
}

/** A tmpfs with Docker's defaults (nosuid, nodev, noexec unless the options say otherwise). */
export function tmpfsMount(target: string, opts: string[] = []): MountRequest {
  if (!target.startsWith('/')) throw new EngineError(`invalid --tmpfs "${target}": the container path must be absolute`);
  const base = ['nosuid', 'nodev', 'noexec'].filter((o) => !opts.includes(o.replace(/^no/, '')) && !opts.includes(o));
  const destination = posix.normalize(target).replace(/(.)\/$/, '$1');
  return { type: 'tmpfs', source: 'tmpfs', destination, options: [...base, ...opts] };
}

/** A bind or volume mount of the request, checked: what create.ts turns into mounts. */
export interface VolumeMount {
  kind: 'bind' | 'named' | 'anonymous';
  source: string;
  destination: string;
  readonly: boolean;
  propagation?: string;
  /** A bind source that must exist (--mount): not made when missing. */
  mustExist?: boolean;
  /** --mount volume-opt: options for a volume made for this mount. */
  options?: Record<string, string>;
}

function volumeMount(m: Extract<MountSpec, { type: 'bind' | 'volume' }>): VolumeMount {
  const destination = mountTarget(m.target);
  const base = { destination, readonly: !!m.readOnly, ...(m.propagation ? { propagation: m.propagation } : {}) };
  if (m.type === 'bind') {
    if (!m.source.startsWith('/')) throw new EngineError(`invalid bind mount source "${m.source}": it must be an absolute path`);
    return { kind: 'bind', source: posix.normalize(m.source), ...base, ...(m.mustExist ? { mustExist: true } : {}) };
  }
  const options = m.volumeOptions && Object.keys(m.volumeOptions).length ? { options: m.volumeOptions } : {};
  if (!m.source) return { kind: 'anonymous', source: '', ...base, ...options };
  if (!VOLUME_NAME.test(m.source)) throw new EngineError(`invalid volume name "${m.source}": use [a-zA-Z0-9][a-zA-Z0-9_.-], or an absolute path for a bind mount`);
  return { kind: 'named', source: m.source, ...base, ...options };
}

/**
 * --annotation: keys as OCI has them (reverse domain notation, at least
 * not empty). The runtime's own keys (run.oci.*, io.kubernetes.cri-o.*)
 * steer crun: those that rootlet sets itself could undo the confinement
 * (seccomp filter data, keep-groups), so they are not taken from a request.
 */
function checkAnnotations(a: Record<string, string>): Record<string, string> {
  for (const k of Object.keys(a)) {
    if (!k || /\s/.test(k)) throw new EngineError(`invalid annotation "${k}": use KEY=VALUE, the key not empty and without spaces`);
    if (k.startsWith('run.oci.')) throw new EngineError(`annotation "${k}" is refused: run.oci.* annotations set crun's own behaviour (seccomp, groups), which rootlet decides`);
  }
  return a;
}

/** Builds the spec from the request and the image. Mounts of volumes are completed by the caller. */
export function buildSpec(req: CreateRequest, image: ImageRecord, ctx: {
  id: string;
  isRoot: boolean;
  driver: DriverName;
  hostHostname: string;
  /** containers.conf's env: below the image's and the request's. */
  defaultEnv?: string[];
}): { spec: ContainerSpec; volumes: VolumeMount[] } {
  const host = req.host ?? {};
  const cfg = image.config.config ?? {};
  const net = networkFromRequest(req, Object.keys((cfg as { ExposedPorts?: Record<string, unknown> }).ExposedPorts ?? {}));
  const network = net.mode;
  const userns = usernsMode(host.userns, ctx.isRoot);
  const entrypoint = req.entrypoint ?? cfg.Entrypoint ?? [];
  const cmd = req.cmd?.length ? req.cmd : (req.entrypoint !== undefined ? [] : (cfg.Cmd ?? []));
  const args = [...entrypoint, ...cmd];
  if (!args.length) throw new EngineError('no command specified: give one after the image name, or set CMD or ENTRYPOINT in the image');
  const workdir = req.workingDir || cfg.WorkingDir || '/';
  if (!workdir.startsWith('/')) throw new EngineError(`the working directory "${workdir}" is invalid: it must be an absolute path`);
  const hostname = req.hostname || (network === 'host' ? ctx.hostHostname : ctx.id.slice(0, 12));
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  checkEnv(req.env);
  const env = mergeEnv(base, ctx.defaultEnv ?? [], cfg.Env ?? [], req.tty ? ['TERM=xterm'] : [], req.env ?? []);
  const volumes: VolumeMount[] = [];
  const mounts: MountRequest[] = [];
  for (const m of host.mounts ?? []) {
    if (m.type === 'tmpfs') mounts.push(tmpfsMount(m.target, m.options));
    else volumes.push(volumeMount(m));
  }
  const dests = new Set<string>();
  for (const m of [...volumes.map((v) => v.destination), ...mounts.map((m) => m.destination)]) {
    if (dests.has(m)) throw new EngineError(`duplicate mount point: ${m}`);
    dests.add(m);
  }
  return {
    spec: {
      args,
      entrypoint,
      cmd,
      env,
      workdir: posix.normalize(workdir),
      user: req.user ?? cfg.User ?? '',
      hostname,
      mounts,
      volumes: [],
      readOnly: !!host.readonlyRootfs,
      network,
      net,
      init: !!host.init,
      tty: !!req.tty,
      interactive: !!req.openStdin,
      ...(req.stdinOnce && req.openStdin ? { stdinOnce: true } : {}),
      userns,
      rm: !!host.autoRemove,
      runtime: host.runtime,
      driver: ctx.driver,
      layers: image.layers,
      restart: restartPolicy(host),
      stopSignal: parseSignal(req.stopSignal ?? cfg.StopSignal ?? 'SIGTERM', req.stopSignal !== undefined ? '--stop-signal' : 'the image\'s StopSignal'),
      stopTimeout: req.stopTimeoutSec ?? 10,
      labels: { ...(cfg.Labels ?? {}), ...(req.labels ?? {}) },
      resources: resourcesFrom(host.resources),
      health: healthFrom(req.healthcheck, (cfg as { Healthcheck?: ImageHealthcheck }).Healthcheck),
      ...(host.ulimits?.length ? { ulimits: checkUlimits(host.ulimits) } : {}),
      ...(host.annotations && Object.keys(host.annotations).length ? { annotations: checkAnnotations(host.annotations) } : {}),
      ...(host.logConfig ? { log: logSettings(host.logConfig) } : {}),
      ...(req.platform ? { platform: req.platform } : {}),
      ...(req.tty && host.consoleSize?.rows && host.consoleSize.columns ? { consoleSize: host.consoleSize } : {}),
    },
    volumes,
  };
}

