import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { CreateRequest, DeviceMapping, ExecRequest, Isolation, LogConfig, MountSpec, RestartPolicy, SecurityOptions, Ulimit } from '../engine/index.js';
import { ISOLATIONS, LOG_DRIVERS, normalizeCap, parsePlatform } from '../engine/index.js';
import { EngineError } from '../util/errors.js';
import { openError } from '../util/os-errors.js';
import { invalid, parseBytes, parseChoice, parseDuration, parseInteger, parsePositiveNumber, parsePublish } from '../util/values.js';

/**
 * Docker's text grammar for creating a container (`run`/`create` flags,
 * and compose's strings, which are the same: "8080:80", "./data:/data:ro",
 * "64m"), turned into the engine's typed CreateRequest in one step. Values
 * that depend on the caller (relative paths, `-e KEY`, env files) are
 * resolved here against the caller's cwd and environment, so the engine
 * never looks at either.
 */
export interface CreateFlags {
  rm?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  volume?: string[];
  tmpfs?: string[];
  readOnly?: boolean;
  hostname?: string;
  net?: string;
  network?: string;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  addHost?: string[];
  networkAlias?: string[];
  interactive?: boolean;
  tty?: boolean;
  init?: boolean;
  userns?: string;
  runtime?: string;
  isolation?: string;
  restart?: string;
  stopSignal?: string;
  stopTimeout?: number;
  label?: string[];
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  /** false: --no-healthcheck */
  healthcheck?: boolean;
  pull?: string;
  capAdd?: string[];
  capDrop?: string[];
  securityOpt?: string[];
  privileged?: boolean;
  device?: string[];
  groupAdd?: string[];
  /** --mount: Docker's key=value lists. */
  mount?: string[];
  ulimit?: string[];
  platform?: string;
  /** --pod NAME: the pod the container joins. */
  pod?: string;
  labelFile?: string[];
  annotation?: string[];
  logDriver?: string;
  logOpt?: string[];
  /** -a: the streams a foreground run joins to the caller's. */
  attach?: string[];
  /** Written by the front door once the container exists. */
  cidfile?: string;
}

/** --isolation: default, or sandbox (gVisor). */
export function parseIsolation(v: string): Isolation {
  return parseChoice(v, '--isolation', ISOLATIONS, 'an isolation');
}

/** Where relative paths and bare `-e KEY` come from. */
export interface CallerPlace {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export function toCreateRequest(image: string, command: string[], f: CreateFlags, at: CallerPlace): CreateRequest {
  const health = f.healthcheck === false ? { test: ['NONE'] } : {
    ...(f.healthCmd !== undefined ? { test: ['CMD-SHELL', f.healthCmd] } : {}),
    ...(f.healthInterval ? { intervalMs: healthInterval(f.healthInterval) } : {}),
    ...(f.healthTimeout ? { timeoutMs: parseDuration(f.healthTimeout, '--health-timeout') } : {}),
    ...(f.healthRetries !== undefined ? { retries: parseInteger(f.healthRetries, '--health-retries', 1) } : {}),
    ...(f.healthStartPeriod ? { startPeriodMs: parseDuration(f.healthStartPeriod, '--health-start-period') } : {}),
  };
  const mounts: MountSpec[] = [
    ...(f.volume ?? []).map((v) => volumeMount(parseVolume(v, at.cwd, at.env.HOME))),
    ...(f.tmpfs ?? []).map(splitTmpfs),
    ...(f.mount ?? []).map((m) => parseMount(m, at.cwd, at.env.HOME)),
  ];
  return {
    image,
    name: f.name,
    cmd: command,
    entrypoint: f.entrypoint === undefined ? undefined : f.entrypoint === '' ? [] : [f.entrypoint],
    env: [...readEnvFiles(f.envFile ?? [], at), ...resolveEnv(f.env ?? [], at.env)],
    workingDir: f.workdir,
    user: f.user,
    hostname: f.hostname,
    labels: { ...readLabelFiles(f.labelFile ?? [], at.cwd), ...parseLabels(f.label ?? []) },
    tty: !!f.tty,
    openStdin: !!f.interactive,
    ...(f.attach?.length ? { attachStdin: f.attach.includes('stdin'), attachStdout: f.attach.includes('stdout'), attachStderr: f.attach.includes('stderr') } : {}),
    stopSignal: f.stopSignal,
    stopTimeoutSec: f.stopTimeout,
    healthcheck: Object.keys(health).length ? health : undefined,
    exposedPorts: f.expose ?? [],
    ...(f.platform !== undefined ? { platform: parsePlatformFlag(f.platform) } : {}),
    ...(f.pod ? { pod: f.pod } : {}),
    host: {
      mounts,
      readonlyRootfs: !!f.readOnly,
      networkMode: f.network ?? f.net,
      networkAliases: f.networkAlias ?? [],
      portBindings: (f.publish ?? []).flatMap((p) => parsePublish(p)),
      publishAllPorts: !!f.publishAll,
      dns: f.dns ?? [],
      dnsSearch: f.dnsSearch ?? [],
      dnsOptions: f.dnsOption ?? [],
      extraHosts: f.addHost ?? [],
      init: !!f.init,
      userns: parseUserns(f.userns),
      runtime: f.runtime,
      ...(f.isolation !== undefined ? { isolation: parseIsolation(f.isolation) } : {}),
      autoRemove: !!f.rm,
      restartPolicy: f.restart === undefined ? undefined : parseRestart(f.restart),
      resources: {
        ...(f.memory !== undefined ? { memoryBytes: parseMemory(f.memory) } : {}),
        ...(f.cpus !== undefined ? { nanoCpus: Math.round(parseCpus(f.cpus) * 1e9) } : {}),
        ...(f.pidsLimit !== undefined ? { pidsLimit: parsePidsLimit(f.pidsLimit) } : {}),
      },
      capAdd: (f.capAdd ?? []).map((c) => normalizeCap(c, '--cap-add')),
      capDrop: (f.capDrop ?? []).map((c) => normalizeCap(c, '--cap-drop')),
      privileged: !!f.privileged,
      securityOpt: parseSecurityOpts(f.securityOpt ?? [], at.cwd),
      devices: (f.device ?? []).map(parseDevice),
      groupAdd: (f.groupAdd ?? []).map(parseGroupAdd),
      ...(f.ulimit?.length ? { ulimits: f.ulimit.map(parseUlimit) } : {}),
      ...(f.annotation?.length ? { annotations: parseAnnotations(f.annotation) } : {}),
      ...(f.logDriver !== undefined || f.logOpt?.length ? { logConfig: parseLogConfig(f.logDriver, f.logOpt ?? []) } : {}),
    },
  };
}

/** --platform os/arch[/variant], as given but with Docker's aliases (x86_64 is amd64). */
export function parsePlatformFlag(v: string): string {
  const p = parsePlatform(v);
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** --ulimit NAME=SOFT[:HARD] (HARD defaults to SOFT; -1 or unlimited: no limit), as Docker. */
export function parseUlimit(v: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+|unlimited)(?::(-?\d+|unlimited))?$/.exec(v);
  if (!m) return invalid('--ulimit', v, 'use NAME=SOFT[:HARD], e.g. nofile=1024:2048');
  const num = (t: string) => (t === 'unlimited' ? -1 : Number(t));
  const soft = num(m[2]!);
  return { name: m[1]!, soft, hard: m[3] !== undefined ? num(m[3]) : soft };
}

/** --annotation KEY=VALUE (one KEY alone: an empty value, as Podman). */
export function parseAnnotations(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const i = a.indexOf('=');
    const k = i < 0 ? a : a.slice(0, i);
    if (!k || /\s/.test(k)) return invalid('--annotation', a, 'use KEY=VALUE');
    out[k] = i < 0 ? '' : a.slice(i + 1);
  }
  return out;
}

/** --log-driver and --log-opt KEY=VALUE. */
export function parseLogConfig(driver: string | undefined, opts: string[]): LogConfig {
  const type = driver === undefined ? 'k8s-file' : parseChoice(driver, '--log-driver', LOG_DRIVERS, 'a log driver rootlet has');
  const config: Record<string, string> = {};
  for (const o of opts) {
    const i = o.indexOf('=');
    if (i <= 0) return invalid('--log-opt', o, 'use KEY=VALUE, e.g. max-size=10m');
    config[o.slice(0, i)] = o.slice(i + 1);
  }
  return { type, ...(Object.keys(config).length ? { config } : {}) };
}

/** --label-file: a label a line (KEY=VALUE, or KEY for an empty one); blank lines and # comments are skipped. */
export function readLabelFiles(files: string[], cwd: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    const file = posix.resolve(cwd, f);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw openError(file, err);
    }
    const lines = text.split('\n').map((l) => l.replace(/\r$/, '').trim()).filter((l) => l && !l.startsWith('#'));
    for (const l of lines) if (l.startsWith('=')) throw new EngineError(`${file}: invalid label "${l}": use KEY=VALUE`);
    Object.assign(out, parseLabels(lines));
  }
  return out;
}

const MOUNT_TYPES = ['bind', 'volume', 'tmpfs'] as const;
const PROPAGATIONS = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'];

/**
 * --mount type=bind|volume|tmpfs,KEY=VALUE... with Docker's keys: source
 * (src), target (dst, destination), readonly (ro), bind-propagation,
 * volume-opt (repeatable), volume-nocopy, tmpfs-size, tmpfs-mode. As
 * Docker, a bind source must exist (-v makes a missing one; --mount does not).
 */
export function parseMount(v: string, cwd: string, home = '/'): MountSpec {
  const bad = (why: string): never => invalid('--mount', v, why);
  const kv = new Map<string, string | undefined>();
  const volumeOptions: Record<string, string> = {};
  for (const field of v.split(',')) {
    if (!field) continue;
    const i = field.indexOf('=');
    const key = (i < 0 ? field : field.slice(0, i)).trim().toLowerCase();
    const value = i < 0 ? undefined : field.slice(i + 1);
    if (key === 'volume-opt') {
      const j = value?.indexOf('=') ?? -1;
      if (!value || j <= 0) return bad(`invalid volume-opt "${value ?? ''}": use volume-opt=KEY=VALUE`);
      volumeOptions[value.slice(0, j)] = value.slice(j + 1);
      continue;
    }
    const canon = ({ src: 'source', dst: 'target', destination: 'target', ro: 'readonly' } as Record<string, string>)[key] ?? key;
    if (!['type', 'source', 'target', 'readonly', 'bind-propagation', 'volume-nocopy', 'tmpfs-size', 'tmpfs-mode', 'consistency'].includes(canon)) return bad(`unexpected key '${key}' in '${field}'`);
    if (value === undefined && canon !== 'readonly' && canon !== 'volume-nocopy') return bad(`invalid field '${field}' must be a key=value pair`);
    kv.set(canon, value);
  }
  const type = kv.get('type') ?? 'volume';
  if (!(MOUNT_TYPES as readonly string[]).includes(type)) return bad(`mount type "${type}" is not supported: use bind, volume or tmpfs`);
  const flag = (k: string) => {
    if (!kv.has(k)) return false;
    const x = kv.get(k);
    if (x === undefined || ['true', '1'].includes(x.toLowerCase())) return true;
    if (['false', '0'].includes(x.toLowerCase())) return false;
    return bad(`invalid value for ${k}: ${x} (use true or false)`);
  };
  const readOnly = flag('readonly');
  const target = kv.get('target');
  if (!target) return bad(`invalid mount config for type "${type}": field Target must not be empty`);
  if (!target.startsWith('/')) return bad(`invalid mount config for type "${type}": the target "${target}" must be an absolute path`);
  const only = (keys: string[], forType: string, field: string) => {
    for (const k of keys) if (kv.has(k)) bad(`invalid mount config for type "${type}": field ${field} must not be specified (${k} is for ${forType})`);
  };
  const source = kv.get('source');
  if (type === 'tmpfs') {
    if (source) return bad('invalid mount config for type "tmpfs": field Source must not be specified');
    only(['bind-propagation'], 'bind mounts', 'BindOptions');
    if (Object.keys(volumeOptions).length || kv.has('volume-nocopy')) return bad('invalid mount config for type "tmpfs": field VolumeOptions must not be specified');
    const options: string[] = [];
    const size = kv.get('tmpfs-size');
    if (size !== undefined) options.push(`size=${parseBytes(size, '--mount tmpfs-size')}`);
    const mode = kv.get('tmpfs-mode');
    if (mode !== undefined) {
      if (!/^[0-7]{1,4}$/.test(mode)) return bad(`invalid tmpfs-mode "${mode}": use an octal mode, e.g. 1777`);
      options.push(`mode=${mode}`);
    }
    if (readOnly) options.push('ro');
    return { type: 'tmpfs', target, options };
  }
  only(['tmpfs-size', 'tmpfs-mode'], 'tmpfs mounts', 'TmpfsOptions');
  const propagation = kv.get('bind-propagation');
  if (propagation !== undefined && !PROPAGATIONS.includes(propagation)) return bad(`invalid bind-propagation "${propagation}": use ${PROPAGATIONS.join(', ')}`);
  if (type === 'bind') {
    if (!source) return bad('invalid mount config for type "bind": field Source must not be empty');
    if (Object.keys(volumeOptions).length || kv.has('volume-nocopy')) return bad('invalid mount config for type "bind": field VolumeOptions must not be specified');
    const abs = source.startsWith('~') ? posix.join(home || '/', source.slice(1)) : posix.resolve(cwd, source);
    return { type: 'bind', source: abs, target, readOnly, mustExist: true, ...(propagation ? { propagation } : {}) };
  }
  if (propagation !== undefined) return bad('invalid mount config for type "volume": field BindOptions must not be specified');
  if (source && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(source)) return bad(`invalid volume name "${source}": use [a-zA-Z0-9][a-zA-Z0-9_.-] (a path is type=bind)`);
  return { type: 'volume', ...(source ? { source } : {}), target, readOnly, ...(Object.keys(volumeOptions).length ? { volumeOptions } : {}) };
}

const SECURITY_OPT_USE = 'use no-new-privileges, seccomp=unconfined, seccomp=PROFILE.json, mask=PATH[:PATH...] or unmask=ALL|PATH[:PATH...]';

/** One --security-opt into `into` (KEY=VALUE; Docker's older KEY:VALUE too). */
export function parseSecurityOpt(v: string, cwd: string, into: SecurityOptions = {}): SecurityOptions {
  const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(v);
  const key = m?.[1];
  const value = m?.[2];
  if (key === 'no-new-privileges') {
    if (value === undefined || value === 'true') into.noNewPrivileges = true;
    else if (value === 'false') into.noNewPrivileges = false;
    else return invalid('--security-opt', v, 'no-new-privileges takes true or false');
  } else if (key === 'seccomp' && value) {
    into.seccomp = value === 'unconfined' ? 'unconfined' : posix.resolve(cwd, value);
  } else if ((key === 'mask' || key === 'unmask') && value) {
    const paths = value.split(':');
    if (paths.some((p) => !p || (p !== 'ALL' && !p.startsWith('/')))) return invalid('--security-opt', v, `${key} takes absolute paths separated by colons${key === 'unmask' ? ', or ALL' : ''}`);
    if (key === 'mask' && paths.includes('ALL')) return invalid('--security-opt', v, 'mask takes absolute paths: name the paths to mask');
    into[key] = [...(into[key] ?? []), ...paths];
  } else if (key === 'apparmor' || key === 'label' || key === 'systempaths' || key === 'proc-opts') {
    // Accepting them unenforced would be a silent downgrade.
    return invalid('--security-opt', v, `${key} is not supported by rootlet: ${SECURITY_OPT_USE}`);
  } else {
    return invalid('--security-opt', v, `not a security option: ${SECURITY_OPT_USE}`);
  }
  return into;
}

export function parseSecurityOpts(list: string[], cwd: string): SecurityOptions {
  const out: SecurityOptions = {};
  for (const v of list) parseSecurityOpt(v, cwd, out);
  return out;
}

/** --device HOST[:CONTAINER][:PERMS], as Docker: PERMS a combination of r, w, m (default rwm). */
export function parseDevice(v: string): DeviceMapping {
  const parts = v.split(':');
  const mode = (s: string) => /^[rwm]+$/.test(s);
  let [host, ctr, perms] = parts as [string, string | undefined, string | undefined];
  if (parts.length === 2 && mode(ctr!)) {
    perms = ctr;
    ctr = undefined;
  }
  if (parts.length > 3 || !host || (ctr !== undefined && !ctr) || (perms !== undefined && !mode(perms))) {
    return invalid('--device', v, 'use HOST-PATH[:CONTAINER-PATH][:PERMISSIONS], permissions a combination of r, w and m');
  }
  if (!host.startsWith('/')) return invalid('--device', v, 'the host path must be absolute');
  if (ctr !== undefined && !ctr.startsWith('/')) return invalid('--device', v, 'the container path must be absolute');
  return { pathOnHost: host, pathInContainer: ctr ?? host, cgroupPermissions: perms ?? 'rwm' };
}

/** --group-add: a group name or id of the container, or keep-groups. */
export function parseGroupAdd(v: string): string {
  if (v === 'keep-groups' || /^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*$/.test(v)) return v;
  return invalid('--group-add', v, 'use a group name or id of the container, or keep-groups');
}

/** `exec`'s flags → its request (env resolved against the caller's). */
export function toExecRequest(command: string[], f: { interactive?: boolean; tty?: boolean; detach?: boolean; user?: string; workdir?: string; env?: string[]; envFile?: string[] }, at: CallerPlace): ExecRequest {
  return {
    command,
    interactive: !!f.interactive,
    tty: !!f.tty,
    detach: !!f.detach,
    user: f.user,
    workingDir: f.workdir,
    env: [...readEnvFiles(f.envFile ?? [], at), ...resolveEnv(f.env ?? [], at.env)],
  };
}

function resolveEnv(list: string[], env: CallerPlace['env']): string[] {
  return list.map((e) => expandEnv(e, env)).filter((e): e is string => e !== null);
}

function readEnvFiles(files: string[], at: CallerPlace): string[] {
  return files.flatMap((f) => readEnvFile(posix.resolve(at.cwd, f), at.env));
}

/** Parses --env-file: KEY=VALUE lines, # comments; a bare KEY takes the caller's value. */
export function readEnvFile(file: string, env: CallerPlace['env']): string[] {
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
    const entry = expandEnv(line.trimStart(), env);
    if (entry === null) return;
    if (/\s/.test(entry.split('=')[0]!)) throw new EngineError(`${file}:${i + 1}: variable "${entry.split('=')[0]}" contains whitespaces`);
    out.push(entry);
  });
  return out;
}

/** KEY=VALUE as is; a bare KEY takes the caller's value, or is dropped when the caller has none (Docker). */
export function expandEnv(e: string, env: CallerPlace['env']): string | null {
  if (e.includes('=')) {
    if (e.startsWith('=')) throw new EngineError(`invalid environment variable "${e}": no name`);
    return e;
  }
  const v = env[e];
  return v === undefined ? null : `${e}=${v}`;
}

const BIND_OPTIONS = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'bind', 'rbind']);

export interface ParsedVolume {
  kind: 'bind' | 'named' | 'anonymous';
  source: string;
  destination: string;
  readonly: boolean;
  propagation?: string;
}

function volumeMount(v: ParsedVolume): MountSpec {
  const common = { target: v.destination, readOnly: v.readonly, ...(v.propagation ? { propagation: v.propagation } : {}) };
  if (v.kind === 'bind') return { type: 'bind', source: v.source, ...common };
  return { type: 'volume', ...(v.kind === 'named' ? { source: v.source } : {}), ...common };
}

/** Parses -v SRC:DST[:OPTS] (SRC a path: bind mount, relative to cwd, ~ is home; a name: named volume) or -v DST (anonymous volume). */
export function parseVolume(v: string, cwd: string, home = '/'): ParsedVolume {
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
    const abs = src.startsWith('~') ? posix.join(home || '/', src.slice(1)) : posix.resolve(cwd, src);
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

/** --tmpfs DST[:OPTIONS] → a tmpfs mount (the engine adds Docker's defaults). */
export function splitTmpfs(t: string): MountSpec {
  const i = t.indexOf(':');
  const target = i < 0 ? t : t.slice(0, i);
  if (!target.startsWith('/')) throw new EngineError(`invalid --tmpfs "${t}": the container path must be absolute`);
  return { type: 'tmpfs', target, options: i < 0 ? [] : t.slice(i + 1).split(',').filter(Boolean) };
}

/** --health-interval: a duration of at least 100ms (a probe more often than that would be the container's main load). */
export function healthInterval(v: string): number {
  const ms = parseDuration(v, '--health-interval');
  if (ms < 100) return invalid('--health-interval', v, 'too short: use at least 100ms');
  return ms;
}

/** --userns: keep-id, or the default mapping (whether keep-id is allowed for this user is the engine's to say). */
export function parseUserns(u: string | undefined): 'host' | 'keep-id' | undefined {
  if (u === undefined) return undefined;
  if (!u || u === 'host') return 'host';
  if (u === 'keep-id') return 'keep-id';
  return invalid('--userns', u, 'not a supported user namespace mode: use keep-id, or leave it out for the default mapping');
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
