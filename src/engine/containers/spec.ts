import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { ImageRecord } from '../../image/store.js';
import type { MapEntry } from '../../rootless/userns.js';
import type { MountRequest } from '../../runtime/spec.js';
import type { DriverName } from '../../storage/rootfs.js';
import { legacyNetworkSpec, parseNetworkFlags, type NetworkMode, type NetworkSpec } from '../networks/options.js';
import { EngineError } from '../../util/errors.js';
import { randomName } from './names.js';
import { randomHex } from '../../util/random.js';
import { openError } from '../../util/os-errors.js';
import { invalid, parseBytes, parseDuration, parseInteger, parsePositiveNumber, parseSignal } from '../../util/values.js';

// Parsed in src/util/values.ts with every other typed value; re-exported for the modules that import them from here.
export { parseDuration, parseSignal };

/** What a front door (CLI, compose, API) asks for when it creates a container. */
export interface CreateOptions {
  image: string;
  command: string[];
  name?: string;
  env: string[];
  envFiles: string[];
  workdir?: string;
  user?: string;
  /** --entrypoint: undefined keeps the image's, '' clears it. */
  entrypoint?: string;
  volumes: string[];
  tmpfs: string[];
  readOnly: boolean;
  hostname?: string;
  network?: string;
  /** -p, -P, --expose, --dns*, --add-host, --network-alias (absent: none given). */
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  addHosts?: string[];
  networkAliases?: string[];
  interactive: boolean;
  tty: boolean;
  init: boolean;
  userns?: string;
  rm: boolean;
  runtime?: string;
  detach?: boolean;
  /** --restart: no | on-failure[:N] | always | unless-stopped */
  restart?: string;
  stopSignal?: string;
  stopTimeout?: number;
  labels?: string[];
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  noHealthcheck?: boolean;
}

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

export interface RestartPolicy {
  name: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  maxRetries: number;
}

/** Limits as the runtime spec wants them; empty when none was asked for. */
export interface Resources {
  memoryBytes?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  pidsLimit?: number;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function newContainerId(): string {
  return randomHex(32);
}

export function validateName(name: string): string {
  if (!NAME_RE.test(name)) throw new EngineError(`invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters`);
  return name;
}

/** Parses --env-file: KEY=VALUE lines, # comments; a bare KEY takes the host's value. */
export function readEnvFile(file: string, hostEnv: NodeJS.ProcessEnv): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw openError(file, err);
  }
  const out: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const entry = expandEnv(line.trimStart(), hostEnv);
    if (entry === null) return;
    if (/\s/.test(entry.split('=')[0]!)) throw new EngineError(`${file}:${i + 1}: variable "${entry.split('=')[0]}" contains whitespaces`);
    out.push(entry);
  });
  return out;
}

/** KEY=VALUE as is; a bare KEY takes the host's value, or is dropped when the host has none (Docker). */
export function expandEnv(e: string, hostEnv: NodeJS.ProcessEnv): string | null {
  if (e.includes('=')) {
    if (e.startsWith('=')) throw new EngineError(`invalid environment variable "${e}": no name`);
    return e;
  }
  const v = hostEnv[e];
  return v === undefined ? null : `${e}=${v}`;
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

const BIND_OPTIONS = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'bind', 'rbind']);

export interface ParsedVolume {
  kind: 'bind' | 'named' | 'anonymous';
  source: string;
  destination: string;
  readonly: boolean;
  propagation?: string;
}

/** Parses -v SRC:DST[:OPTS] (SRC absolute: bind mount; a name: named volume) or -v DST (anonymous volume). */
export function parseVolume(v: string, cwd: string): ParsedVolume {
  const parts = v.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new EngineError(`invalid volume specification "${v}": use SRC:DST[:ro]`);
  if (parts.length === 1) {
    return { kind: 'anonymous', source: '', destination: checkDest(parts[0]!, v), readonly: false };
  }
  let [src, dst, opts] = parts as [string, string, string | undefined];
  if (parts.length === 2 && src.startsWith('/') && !dst.startsWith('/')) {
    // -v /dst:ro — an anonymous volume with options.
    opts = dst;
    dst = src;
    src = '';
  }
  let readonly = false;
  let propagation: string | undefined;
  for (const o of (opts ?? '').split(',').filter(Boolean)) {
    if (!BIND_OPTIONS.has(o)) throw new EngineError(`invalid volume specification "${v}": unknown option "${o}" (use ro, rw, z, Z, nocopy or a propagation mode)`);
    if (o === 'ro') readonly = true;
    if (o === 'rw') readonly = false;
    if (/shared|slave|private/.test(o)) propagation = o;
  }
  const destination = checkDest(dst, v);
  if (!src) return { kind: 'anonymous', source: '', destination, readonly, propagation };
  if (src.startsWith('/') || src.startsWith('.') || src.startsWith('~')) {
    const home = process.env.HOME ?? '/';
    const abs = src.startsWith('~') ? posix.join(home, src.slice(1)) : posix.resolve(cwd, src);
    return { kind: 'bind', source: abs, destination, readonly, propagation };
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(src)) throw new EngineError(`invalid volume name "${src}": use [a-zA-Z0-9][a-zA-Z0-9_.-], or an absolute path for a bind mount`);
  return { kind: 'named', source: src, destination, readonly, propagation };
}

function checkDest(dst: string, spec: string): string {
  if (!dst.startsWith('/')) throw new EngineError(`invalid volume specification "${spec}": the container path "${dst}" must be absolute`);
  const clean = posix.normalize(dst).replace(/\/$/, '') || '/';
  if (clean === '/') throw new EngineError(`invalid volume specification "${spec}": cannot mount over the container's root`);
  return clean;
}

/** Parses --tmpfs DST[:OPTIONS] with Docker's defaults. */
export function parseTmpfs(t: string): MountRequest {
  const i = t.indexOf(':');
  const dst = i < 0 ? t : t.slice(0, i);
  const opts = i < 0 ? [] : t.slice(i + 1).split(',').filter(Boolean);
  if (!dst.startsWith('/')) throw new EngineError(`invalid --tmpfs "${t}": the container path must be absolute`);
  const base = ['nosuid', 'nodev', 'noexec'].filter((o) => !opts.includes(o.replace(/^no/, '')) && !opts.includes(o));
  const destination = posix.normalize(dst).replace(/(.)\/$/, '$1');
  return { type: 'tmpfs', source: 'tmpfs', destination, options: [...base, ...opts] };
}

interface ImageHealthcheck { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number }

/** The health check from the flags, else the image's; none with --no-healthcheck or a NONE test. */
function parseHealth(opts: CreateOptions, image: ImageHealthcheck | undefined): HealthCheck | undefined {
  if (opts.noHealthcheck) return undefined;
  const ns = (n: number | undefined) => (n ? n / 1e6 : undefined);
  const test = opts.healthCmd !== undefined ? ['CMD-SHELL', opts.healthCmd] : image?.Test;
  if (!test || !test.length || test[0] === 'NONE') return undefined;
  const interval = opts.healthInterval ? healthInterval(opts.healthInterval) : ns(image?.Interval) ?? 30_000;
  const retries = opts.healthRetries !== undefined ? parseInteger(opts.healthRetries, '--health-retries', 1) : image?.Retries ?? 3;
  return {
    test: test[0] === 'CMD' || test[0] === 'CMD-SHELL' ? test : ['CMD', ...test],
    intervalMs: interval,
    timeoutMs: opts.healthTimeout ? parseDuration(opts.healthTimeout, '--health-timeout') : ns(image?.Timeout) ?? 30_000,
    retries,
    startPeriodMs: opts.healthStartPeriod ? parseDuration(opts.healthStartPeriod, '--health-start-period') : ns(image?.StartPeriod) ?? 0,
  };
}

/** --health-interval: a duration of at least 100ms (a probe more often than that would be the container's main load). */
export function healthInterval(v: string): number {
  const ms = parseDuration(v, '--health-interval');
  if (ms < 100) return invalid('--health-interval', v, 'too short: use at least 100ms');
  return ms;
}

function restartPolicy(opts: CreateOptions): RestartPolicy {
  const p = parseRestart(opts.restart);
  if (p.name !== 'no' && opts.rm) throw new EngineError('conflicting options: --restart and --rm: a container removed when it exits cannot be restarted');
  return p;
}

/** The network part of the spec: flags first, the image's EXPOSE for -P. */
export function parseNetwork(opts: CreateOptions, imageExposed: string[] = []): NetworkSpec {
  return parseNetworkFlags({
    network: opts.network,
    publish: opts.publish ?? [],
    publishAll: !!opts.publishAll,
    expose: opts.expose ?? [],
    dns: opts.dns ?? [],
    dnsSearch: opts.dnsSearch ?? [],
    dnsOptions: opts.dnsOptions ?? [],
    addHosts: opts.addHosts ?? [],
    aliases: opts.networkAliases ?? [],
    hostname: opts.hostname,
  }, imageExposed);
}

export { legacyNetworkSpec };

export function parseUserns(u: string | undefined, isRoot: boolean): UsernsMode {
  if (!u || u === 'host' || u === '') return 'host';
  if (u === 'keep-id') {
    if (isRoot) throw new EngineError('--userns=keep-id keeps your own uid inside the container, and yours is root: rootlet never maps host root into a container');
    return 'keep-id';
  }
  return invalid('--userns', u, 'not a supported user namespace mode: use keep-id, or leave it out for the default mapping');
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

/** Parses --restart as Docker does. */
export function parseRestart(r: string | undefined): RestartPolicy {
  if (!r || r === 'no') return { name: 'no', maxRetries: 0 };
  const m = /^(always|unless-stopped|on-failure)(?::(\d+))?$/.exec(r);
  if (!m) return invalid('--restart', r, 'not a restart policy: use no, on-failure[:max-retries], always or unless-stopped');
  if (m[2] !== undefined && m[1] !== 'on-failure') return invalid('--restart', r, 'not a restart policy: only on-failure takes a retry count');
  return { name: m[1] as RestartPolicy['name'], maxRetries: m[2] !== undefined ? parseInteger(m[2], '--restart', 0) : 0 };
}

/** KEY=VALUE (or KEY, an empty value) labels. */
export function parseLabels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    const k = i < 0 ? l : l.slice(0, i);
    if (!k) throw new EngineError(`invalid label "${l}": use KEY=VALUE`);
    out[k] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

/** --memory: a size (64m, 1g, 512k, bytes) of at least 6m, Docker's minimum. */
export function parseMemory(v: string): number {
  const bytes = parseBytes(v, '-m, --memory');
  if (bytes < 6 * 1024 * 1024) return invalid('-m, --memory', v, 'below the minimum memory limit of 6m');
  return bytes;
}

/** --cpus: a positive number of CPUs. */
export function parseCpus(v: string): number {
  return parsePositiveNumber(v, '--cpus');
}

/** --pids-limit: a positive number, or -1 (or 0, as Docker) for no limit. */
export function parsePidsLimit(v: string): number {
  const n = parseInteger(v, '--pids-limit', -1);
  return n <= 0 ? -1 : n;
}

export function parseResources(opts: CreateOptions): Resources {
  const r: Resources = {};
  if (opts.memory !== undefined) r.memoryBytes = parseMemory(opts.memory);
  if (opts.cpus !== undefined) {
    const n = parseCpus(opts.cpus);
    r.cpuPeriod = 100_000;
    r.cpuQuota = Math.round(n * 100_000);
  }
  if (opts.pidsLimit !== undefined) {
    const n = parsePidsLimit(opts.pidsLimit);
    if (n > 0) r.pidsLimit = n;
  }
  return r;
}

/** Builds the spec from the options and the image. Mounts of named volumes are completed by the caller. */
export function buildSpec(opts: CreateOptions, image: ImageRecord, ctx: {
  id: string;
  hostEnv: NodeJS.ProcessEnv;
  cwd: string;
  isRoot: boolean;
  driver: DriverName;
  hostHostname: string;
}): { spec: ContainerSpec; volumes: ParsedVolume[] } {
  const cfg = image.config.config ?? {};
  const net = parseNetwork(opts, Object.keys((cfg as { ExposedPorts?: Record<string, unknown> }).ExposedPorts ?? {}));
  const network = net.mode;
  const userns = parseUserns(opts.userns, ctx.isRoot);
  const entrypoint = opts.entrypoint !== undefined
    ? (opts.entrypoint === '' ? [] : [opts.entrypoint])
    : (cfg.Entrypoint ?? []);
  const cmd = opts.command.length ? opts.command : (opts.entrypoint !== undefined ? [] : (cfg.Cmd ?? []));
  const args = [...entrypoint, ...cmd];
  if (!args.length) throw new EngineError('no command specified: give one after the image name, or set CMD or ENTRYPOINT in the image');
  const workdir = opts.workdir || cfg.WorkingDir || '/';
  if (!workdir.startsWith('/')) throw new EngineError(`the working directory "${workdir}" is invalid: it must be an absolute path`);
  const hostname = opts.hostname || (network === 'host' ? ctx.hostHostname : ctx.id.slice(0, 12));
  const userEnv = opts.env.map((e) => expandEnv(e, ctx.hostEnv)).filter((e): e is string => e !== null);
  const fileEnv = opts.envFiles.flatMap((f) => readEnvFile(f, ctx.hostEnv));
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  const env = mergeEnv(base, cfg.Env ?? [], opts.tty ? ['TERM=xterm'] : [], fileEnv, userEnv);
  const volumes = opts.volumes.map((v) => parseVolume(v, ctx.cwd));
  const mounts: MountRequest[] = opts.tmpfs.map(parseTmpfs);
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
      user: opts.user ?? cfg.User ?? '',
      hostname,
      mounts,
      volumes: [],
      readOnly: opts.readOnly,
      network,
      net,
      init: opts.init,
      tty: opts.tty,
      interactive: opts.interactive,
      userns,
      rm: opts.rm,
      runtime: opts.runtime,
      driver: ctx.driver,
      layers: image.layers,
      restart: restartPolicy(opts),
      stopSignal: parseSignal(opts.stopSignal ?? cfg.StopSignal ?? 'SIGTERM', opts.stopSignal !== undefined ? '--stop-signal' : 'the image\'s StopSignal'),
      stopTimeout: opts.stopTimeout ?? 10,
      labels: { ...(cfg.Labels ?? {}), ...parseLabels(opts.labels ?? []) },
      resources: parseResources(opts),
      health: parseHealth(opts, (cfg as { Healthcheck?: ImageHealthcheck }).Healthcheck),
    },
    volumes,
  };
}

export { randomName };
