import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { capabilitySet, knownCaps, normalizeCap } from '../../runtime/capabilities.js';
import { isSandbox, type Runtime } from '../../runtime/runtime.js';
import { compiledFilter, DEFAULT_SECCOMP_PROFILE, keepCompiledFilter, parseProfile, readProfile, seccompEntry, type LoadedProfile } from '../../runtime/seccomp.js';
import { MASKED_PATHS, READONLY_PATHS, type SpecSecurity } from '../../runtime/spec.js';
import type { RootfsView } from '../../runtime/rootfs-lookup.js';
import { EngineError } from '../../util/errors.js';
import type { Engine } from '../engine.js';
import type { DeviceMapping, HostRequest } from './request.js';
import type { ContainerSpec, SecuritySettings } from './spec.js';

/**
 * A container's confinement: what the request asks for, checked once at
 * create (so every front door is held to the same rules), and what the
 * runtime gets at each start: capabilities, the seccomp filter (the
 * containers-common default profile unless told otherwise), masked and
 * read-only /proc and /sys paths, devices, supplementary groups.
 */

/** What a container of an older version (no settings recorded) gets: the defaults. */
export const DEFAULT_SECURITY: SecuritySettings = {
  capAdd: [], capDrop: [], privileged: false, noNewPrivileges: false, seccomp: 'default', mask: [], unmask: [], devices: [], groupAdd: [],
};

/** The seccomp cache and the copies of profiles given as files, in the user's store. */
export function seccompCacheDir(engine: Engine): string {
  return join(engine.paths.dataDir, 'seccomp');
}

/** --device: a character or block device that this user can open with the permissions asked for; else refused. */
export function checkDevice(d: DeviceMapping): DeviceMapping {
  if (!d.pathOnHost.startsWith('/')) throw new EngineError(`invalid device "${d.pathOnHost}": the host path must be absolute`);
  if (!d.pathInContainer.startsWith('/')) throw new EngineError(`invalid device "${d.pathOnHost}:${d.pathInContainer}": the container path must be absolute`);
  if (!/^[rwm]+$/.test(d.cgroupPermissions)) throw new EngineError(`invalid device permissions "${d.cgroupPermissions}" for ${d.pathOnHost}: use a combination of r, w and m`);
  let st;
  try {
    st = statSync(d.pathOnHost);
  } catch {
    throw new EngineError(`cannot use device ${d.pathOnHost}: no such device on the host`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new EngineError(`cannot use device ${d.pathOnHost}: not a character or block device`);
  const mode = (d.cgroupPermissions.includes('r') ? constants.R_OK : 0) | (d.cgroupPermissions.includes('w') ? constants.W_OK : 0);
  try {
    // access(2) checks as the real user: rootlet runs as the user, so this is what the user may open.
    if (mode) accessSync(d.pathOnHost, mode);
  } catch {
    throw new EngineError(`cannot use device ${d.pathOnHost}: you cannot open it (${d.cgroupPermissions.includes('w') ? 'read-write' : 'read'}) on the host, and a rootless container can do no more than you`);
  }
  return { ...d, pathInContainer: posix.normalize(d.pathInContainer) };
}

/** seccomp=FILE: read, parsed and checked, so a bad profile is refused before anything is made. */
export function checkSeccompProfile(file: string): LoadedProfile {
  const p = readProfile(file);
  parseProfile(p.text, file);
  return p;
}

const GROUP_NAME = /^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*$/;

/** The request's security part, checked; a profile file is copied into the store by its hash. */
export function securityFrom(engine: Engine, host: HostRequest, runtime: string): SecuritySettings {
  const { capAdd, capDrop } = requestedCaps(host);
  // Every capability named must be one this kernel has: checked here rather than at start.
  capabilitySet({ capAdd, capDrop, privileged: !!host.privileged });
  const opt = host.securityOpt ?? {};
  let seccomp: SecuritySettings['seccomp'] = 'default';
  if (opt.seccomp === 'unconfined') seccomp = 'unconfined';
  else if (opt.seccomp !== undefined) {
    if (!opt.seccomp.startsWith('/')) throw new EngineError(`invalid seccomp profile "${opt.seccomp}": give an absolute path, or unconfined`);
    const p = checkSeccompProfile(opt.seccomp);
    const dir = join(seccompCacheDir(engine), 'profiles');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `${p.sha}.${process.pid}.tmp`);
    copyFileSync(opt.seccomp, tmp);
    renameSync(tmp, join(dir, `${p.sha}.json`));
    seccomp = { path: opt.seccomp, sha: p.sha };
  }
  for (const m of [...(opt.mask ?? []), ...(opt.unmask ?? [])]) {
    if (m !== 'ALL' && !m.startsWith('/')) throw new EngineError(`invalid --security-opt mask/unmask path "${m}": it must be absolute`);
  }
  if ((opt.mask ?? []).includes('ALL')) throw new EngineError('invalid --security-opt mask=ALL: name the paths to mask');
  const devices = (host.devices ?? []).map(checkDevice);
  const groupAdd = host.groupAdd ?? [];
  if (groupAdd.includes('keep-groups')) {
    if (groupAdd.length > 1) throw new EngineError('--group-add keep-groups cannot be combined with other groups');
    // crun's annotation; another runtime would set the groups anew, silently dropping the user's.
    if (runtime !== 'crun') throw new EngineError(`--group-add keep-groups needs the crun runtime (this container's is ${runtime})`);
  }
  for (const g of groupAdd) {
    if (g !== 'keep-groups' && !GROUP_NAME.test(g)) throw new EngineError(`invalid --group-add "${g}": use a group name or id of the container, or keep-groups`);
  }
  return {
    capAdd, capDrop, privileged: !!host.privileged, noNewPrivileges: !!opt.noNewPrivileges, seccomp,
    mask: opt.mask ?? [], unmask: opt.unmask ?? [], devices, groupAdd,
  };
}

export function settingsOf(spec: ContainerSpec): SecuritySettings {
  return spec.security ?? DEFAULT_SECURITY;
}

/** The bounding set a create request asks for, under the runtime it will run on (as create will record it). */
export function requestCaps(host: HostRequest, rt: Pick<Runtime, 'kind'>): string[] {
  return capabilitySet({ ...requestedCaps(host), privileged: !!host.privileged }, knownCaps(isSandbox(rt)));
}

/** --cap-add and --cap-drop as CAP_ names (ALL stays ALL); a name that is no capability is refused. */
function requestedCaps(host: HostRequest): { capAdd: string[]; capDrop: string[] } {
  return {
    capAdd: (host.capAdd ?? []).map((c) => normalizeCap(c, '--cap-add')),
    capDrop: (host.capDrop ?? []).map((c) => normalizeCap(c, '--cap-drop')),
  };
}

/** The container's bounding set under its runtime (`ALL` and --privileged mean what that runtime knows). */
export function containerCaps(spec: ContainerSpec, rt: Pick<Runtime, 'kind'>): string[] {
  return capabilitySet(settingsOf(spec), knownCaps(isSandbox(rt)));
}

function globMatch(pattern: string, path: string): boolean {
  if (!pattern.includes('*')) return pattern === path;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  return re.test(path);
}

/** The masked and read-only paths, after --privileged and mask=/unmask=. */
export function pathsOf(s: SecuritySettings): { masked: string[]; readonly: string[] } {
  const unmasked = (p: string) => s.privileged || s.unmask.includes('ALL') || s.unmask.some((u) => globMatch(u, p));
  const masked = MASKED_PATHS.filter((p) => !unmasked(p));
  for (const m of s.mask) if (!masked.includes(m)) masked.push(m);
  return { masked, readonly: READONLY_PATHS.filter((p) => !unmasked(p)) };
}

/** Devices that crun makes in every container: --privileged leaves them to it. */
const OWN_DEVICES = new Set(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'console', 'ptmx', 'pts', 'shm', 'mqueue', 'fd', 'stdin', 'stdout', 'stderr', 'core']);

/** --privileged, rootless: every host device (in /dev and one level below) that the user can open. */
export function userDevices(root = '/dev'): DeviceMapping[] {
  const out: DeviceMapping[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try { names = readdirSync(dir); } catch { return; }
    for (const n of names.sort()) {
      if (depth === 0 && OWN_DEVICES.has(n)) continue;
      const p = join(dir, n);
      let st;
      try { st = statSync(p); } catch { continue; }
      if (st.isDirectory()) {
        if (depth === 0) walk(p, 1);
        continue;
      }
      if (!st.isCharacterDevice() && !st.isBlockDevice()) continue;
      const can = (m: number) => { try { accessSync(p, m); return true; } catch { return false; } };
      if (can(constants.R_OK | constants.W_OK)) out.push({ pathOnHost: p, pathInContainer: p, cgroupPermissions: 'rw' });
      else if (can(constants.R_OK)) out.push({ pathOnHost: p, pathInContainer: p, cgroupPermissions: 'r' });
    }
  };
  walk(root, 0);
  return out;
}

/** --group-add names and ids → gids, names looked up in the container's /etc/group. */
export function groupIds(groupAdd: string[], view: RootfsView, idLimit: number): number[] {
  const wanted = groupAdd.filter((g) => g !== 'keep-groups');
  if (!wanted.length) return [];
  const table = (view.readText('/etc/group') ?? '').split('\n').map((l) => l.split(':')).filter((f) => f.length >= 3);
  return wanted.map((g) => {
    const gid = /^\d+$/.test(g) ? Number(g) : Number(table.find((f) => f[0] === g)?.[2] ?? NaN);
    if (!Number.isInteger(gid)) throw new EngineError(`unable to find group ${g}: no matching entries in the container's group file`);
    if (gid >= idLimit) throw new EngineError(`--group-add ${g}: gid ${gid} is outside the ${idLimit} ids your user namespace maps`);
    return gid;
  });
}

/**
 * The runtime's part: what config.json says, computed at each start (the
 * default profile from the store's cache). `seccompKey` names the section
 * in the cache; with crun, a filter it compiled for that section before is
 * handed back to it, so it does not compile it again.
 */
export function specSecurity(engine: Engine, spec: ContainerSpec, rt: Pick<Runtime, 'kind' | 'name'>): SpecSecurity & { seccompKey?: string } {
  const s = settingsOf(spec);
  const caps = containerCaps(spec, rt);
  const { masked, readonly } = pathsOf(s);
  let seccomp: SpecSecurity['seccomp'];
  let seccompKey: string | undefined;
  const cache = seccompCacheDir(engine);
  if (typeof s.seccomp === 'object') {
    const copy = join(cache, 'profiles', `${s.seccomp.sha}.json`);
    let text: string;
    try {
      text = readFileSync(copy, 'utf8');
    } catch {
      throw new EngineError(`the seccomp profile this container was created with (${s.seccomp.path}) is no longer in the store: create the container again`);
    }
    ({ section: seccomp, key: seccompKey } = seccompEntry(cache, { sha: s.seccomp.sha, text }, s.seccomp.path, caps));
  } else if (s.seccomp === 'default' && !s.privileged) {
    ({ section: seccomp, key: seccompKey } = seccompEntry(cache, readProfile(DEFAULT_SECCOMP_PROFILE), DEFAULT_SECCOMP_PROFILE, caps));
  }
  const annotations: Record<string, string> = s.groupAdd.includes('keep-groups') ? { 'run.oci.keep_original_groups': '1' } : {};
  const bpf = seccompKey && rt.name === 'crun' ? compiledFilter(cache, seccompKey) : undefined;
  if (bpf) annotations['run.oci.seccomp_bpf_data'] = bpf;
  const devices = [...(s.privileged ? userDevices().filter((d) => !s.devices.some((x) => x.pathInContainer === d.pathInContainer)) : []), ...s.devices];
  return {
    caps,
    noNewPrivileges: s.noNewPrivileges,
    seccomp,
    maskedPaths: masked,
    readonlyPaths: readonly,
    devices: devices.map((d) => ({ source: d.pathOnHost, destination: d.pathInContainer, readOnly: !d.cgroupPermissions.includes('w') })),
    annotations,
    seccompKey,
  };
}

/** The file in a container's directory that names its seccomp section in the cache (written with config.json). */
export const SECCOMP_KEY_FILE = 'seccomp.key';

/**
 * After crun created a container: keeps the filter it compiled, so later
 * starts of any container with the same section skip the compile.
 */
export function keepFilterOf(engine: Engine, id: string, containerDirPath: string): void {
  let key: string;
  try {
    key = readFileSync(join(containerDirPath, SECCOMP_KEY_FILE), 'utf8').trim();
  } catch {
    return;
  }
  if (!/^[0-9a-f]{32}$/.test(key) || compiledFilter(seccompCacheDir(engine), key)) return;
  keepCompiledFilter(seccompCacheDir(engine), key, join(engine.paths.runcRoot, id, 'seccomp.bpf'));
}

/**
 * For `crun run` (a foreground run): crun's state directory lives only as
 * long as the container, so its compiled filter is kept while it runs. Only
 * when the container's directory names a section whose filter is not kept
 * yet (SECCOMP_KEY_FILE): that is the first run of a profile, so every
 * foreground run after it skips the compile too. crun writes the filter
 * before it creates the container and its `status` file after, so the
 * filter is whole once `status` exists. Polls (a few ms apart, bounded)
 * rather than watching: the state directory does not exist yet when the
 * run begins. Returns a stop function for when the run ends.
 */
export function keepFilterWhileRunning(engine: Engine, id: string, containerDirPath: string): () => void {
  if (!existsSync(join(containerDirPath, SECCOMP_KEY_FILE))) return () => {};
  const state = join(engine.paths.runcRoot, id);
  let tries = 0;
  const timer = setInterval(() => {
    if (existsSync(join(state, 'status'))) {
      clearInterval(timer);
      keepFilterOf(engine, id, containerDirPath);
    } else if (++tries >= 500) {
      clearInterval(timer); // a container that never got created: nothing to keep
    }
  }, 5);
  timer.unref();
  return () => clearInterval(timer);
}

/** HostConfig.SecurityOpt as Docker shows it: the options given, as text; null when none. */
export function securityOptText(s: SecuritySettings): string[] | null {
  const out: string[] = [];
  if (s.noNewPrivileges) out.push('no-new-privileges');
  if (s.seccomp === 'unconfined') out.push('seccomp=unconfined');
  else if (typeof s.seccomp === 'object') out.push(`seccomp=${s.seccomp.path}`);
  if (s.mask.length) out.push(`mask=${s.mask.join(':')}`);
  if (s.unmask.length) out.push(`unmask=${s.unmask.join(':')}`);
  return out.length ? out : null;
}
