import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../util/errors.js';

/**
 * Seccomp profiles in the containers-common / Docker format (the file
 * Debian ships as /usr/share/containers/seccomp.json), turned into the OCI
 * runtime spec's `linux.seccomp` the way containers-common's
 * pkg/seccomp does it: the architectures of the host's entry in archMap,
 * and each syscall rule kept only when its `includes` all hold and none of
 * its `excludes` does, caps being checked against the container's bounding
 * set and arches against the host's Go architecture name.
 */

export const DEFAULT_SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';

interface Arg { index: number; value: number; valueTwo?: number; op: string }
interface Filter { caps?: string[]; arches?: string[]; minKernel?: string }
interface ProfileSyscall {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: Arg[] | null;
  includes?: Filter;
  excludes?: Filter;
}
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures?: string[] | null }> | null;
  syscalls?: ProfileSyscall[] | null;
  flags?: string[];
  listenerPath?: string;
}

/** The OCI form (config.json's linux.seccomp). */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  flags?: string[];
  syscalls: Array<{ names: string[]; action: string; errnoRet?: number; args?: Arg[] }>;
}

/** Node's process.arch → Go's GOARCH, the names a profile's `arches` use. */
const GO_ARCH: Record<string, string> = {
  x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x',
  riscv64: 'riscv64', mips64el: 'mips64le', mipsel: 'mipsle', loong64: 'loong64',
};
/** GOARCH → libseccomp's native architecture, to pick the archMap entry. */
const SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM', '386': 'SCMP_ARCH_X86',
  ppc64le: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64',
  mips64le: 'SCMP_ARCH_MIPSEL64', mipsle: 'SCMP_ARCH_MIPSEL', loong64: 'SCMP_ARCH_LOONGARCH64',
};

export function hostGoArch(): string {
  return GO_ARCH[process.arch] ?? process.arch;
}

export interface SelectFor {
  /** GOARCH of the host (amd64, arm64, ...). */
  arch: string;
  /** The container's bounding set, CAP_ names. */
  caps: string[];
  /** The host kernel's release (uname -r). */
  kernel: string;
}

/** "6.1.0-13-amd64" ≥ "5.8"? */
export function kernelAtLeast(kernel: string, min: string): boolean {
  const k = kernel.split(/[.-]/).map((x) => parseInt(x, 10));
  const m = min.split('.').map((x) => parseInt(x, 10));
  for (let i = 0; i < m.length; i++) {
    const a = Number.isFinite(k[i]) ? k[i]! : 0;
    if (a !== m[i]) return a > m[i]!;
  }
  return true;
}

function applies(s: ProfileSyscall, at: SelectFor): boolean {
  const ex = s.excludes ?? {};
  const inc = s.includes ?? {};
  if (ex.arches?.length && ex.arches.includes(at.arch)) return false;
  if (ex.caps?.length && ex.caps.some((c) => at.caps.includes(c))) return false;
  if (ex.minKernel && kernelAtLeast(at.kernel, ex.minKernel)) return false;
  if (inc.arches?.length && !inc.arches.includes(at.arch)) return false;
  if (inc.caps?.length && !inc.caps.every((c) => at.caps.includes(c))) return false;
  if (inc.minKernel && !kernelAtLeast(at.kernel, inc.minKernel)) return false;
  return true;
}

/** Checks the shape of a parsed profile; `what` names it in the error. */
export function checkProfile(p: unknown, what: string): SeccompProfile {
  const bad = (why: string): never => { throw new EngineError(`invalid seccomp profile ${what}: ${why}`); };
  if (!p || typeof p !== 'object' || Array.isArray(p)) return bad('not a JSON object');
  const o = p as SeccompProfile;
  if (typeof o.defaultAction !== 'string' || !o.defaultAction.startsWith('SCMP_ACT_')) return bad('defaultAction must be an SCMP_ACT_ action');
  if (o.architectures && o.archMap) return bad('architectures and archMap cannot both be given');
  for (const s of o.syscalls ?? []) {
    if (!s || typeof s.action !== 'string' || !s.action.startsWith('SCMP_ACT_')) return bad('every syscall rule needs an SCMP_ACT_ action');
    if (s.name && s.names?.length) return bad(`syscall rule "${s.name}" has both name and names`);
    if (!s.name && !s.names?.length) return bad('a syscall rule names no syscall');
  }
  return o;
}

/** The OCI seccomp section for a container with bounding set `at.caps` on this architecture. */
export function translateProfile(p: SeccompProfile, at: SelectFor): OciSeccomp {
  let architectures = p.architectures ?? [];
  if (p.archMap?.length) {
    const native = SCMP_ARCH[at.arch];
    const entry = p.archMap.find((a) => a.architecture === native);
    architectures = entry ? [entry.architecture, ...(entry.subArchitectures ?? [])] : [];
  }
  const syscalls: OciSeccomp['syscalls'] = [];
  for (const s of p.syscalls ?? []) {
    if (!applies(s, at)) continue;
    syscalls.push({
      names: s.names?.length ? s.names : [s.name!],
      action: s.action,
      ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}),
      ...(s.args?.length ? { args: s.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op })) } : {}),
    });
  }
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    architectures,
    ...(p.flags?.length ? { flags: p.flags } : {}),
    syscalls,
  };
}

/** A profile's text, read, parsed and checked once; `sha` names its content. */
export interface LoadedProfile {
  sha: string;
  text: string;
}

export function readProfile(file: string): LoadedProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (file === DEFAULT_SECCOMP_PROFILE && code === 'ENOENT') {
      throw new EngineError(`the default seccomp profile ${file} is missing: install the Debian package golang-github-containers-common, or run with --security-opt seccomp=unconfined`);
    }
    throw new EngineError(`cannot read seccomp profile ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
  return { sha: createHash('sha256').update(text).digest('hex'), text };
}

export function parseProfile(text: string, what: string): SeccompProfile {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch (err) {
    throw new EngineError(`invalid seccomp profile ${what}: not JSON (${(err as Error).message})`);
  }
  return checkProfile(p, what);
}

/**
 * The OCI section for a profile, cached in `cacheDir` by the profile's
 * content hash, the bounding set, the architecture and the kernel, so a
 * `run` reads one small file instead of parsing and selecting the whole
 * profile. The compiled BPF is kept beside it under the same key
 * (compiledFilter, keepCompiledFilter).
 */
export function seccompSection(cacheDir: string, profile: LoadedProfile, what: string, caps: string[], at: Omit<SelectFor, 'caps'> = { arch: hostGoArch(), kernel: release() }): OciSeccomp {
  return seccompEntry(cacheDir, profile, what, caps, at).section;
}

/** The section and its cache key (which also names the compiled filter kept beside it: compiledFilter). */
export function seccompEntry(cacheDir: string, profile: LoadedProfile, what: string, caps: string[], at: Omit<SelectFor, 'caps'> = { arch: hostGoArch(), kernel: release() }): { section: OciSeccomp; key: string } {
  const key = createHash('sha256').update(JSON.stringify([1, profile.sha, at.arch, at.kernel, [...caps].sort()])).digest('hex').slice(0, 32);
  const file = join(cacheDir, `${key}.json`);
  try {
    return { section: JSON.parse(readFileSync(file, 'utf8')) as OciSeccomp, key };
  } catch { /* not cached yet, or damaged: made again below */ }
  const section = translateProfile(parseProfile(profile.text, what), { ...at, caps });
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(section), { mode: 0o600 });
    renameSync(tmp, file);
  } catch { /* a cache that cannot be written costs time, never correctness */ }
  return { section, key };
}

/**
 * The BPF program crun compiled for a section (its state directory's
 * seccomp.bpf, kept by keepCompiledFilter), base64 as crun's
 * run.oci.seccomp_bpf_data annotation takes it; undefined until one was
 * kept. crun 1.8 compiles the profile with libseccomp at every start
 * otherwise (tens of ms); the key covers the kernel, and the file is crun's
 * own output for this section, so it is what crun would compile again.
 */
export function compiledFilter(cacheDir: string, key: string): string | undefined {
  try {
    return readFileSync(join(cacheDir, `${key}.bpf`)).toString('base64');
  } catch {
    return undefined;
  }
}

/** Keeps crun's compiled filter for the section `key` (from a container's state directory), once. */
export function keepCompiledFilter(cacheDir: string, key: string, bpfFile: string): void {
  const file = join(cacheDir, `${key}.bpf`);
  try {
    const data = readFileSync(bpfFile);
    // A BPF program is whole instructions of 8 bytes; anything else is not one.
    if (!data.length || data.length % 8 !== 0) return;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, file);
  } catch { /* no filter to keep: the next start compiles it again */ }
}
