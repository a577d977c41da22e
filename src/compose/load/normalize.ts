import { isAbsolute, resolve } from 'node:path';
import type { ComposeDependency, ComposePort, ComposeServiceFileRef, ComposeServiceVolume } from '../model.js';
import { ComposeError } from './errors.js';
import { splitShellWords } from './shellwords.js';
import { Override, Reset } from './yaml.js';

/**
 * Short syntax to long, per service and per file, before files are merged:
 * the merge then compares like with like (ports by their address, volumes
 * by their target, environment as a map), and relative paths are made
 * absolute against the directory that applies to the file they were
 * written in (the project directory, or the directory of a file that
 * `extends` reads).
 */

export type Raw = Record<string, unknown>;

export interface NormalizeContext {
  /** The directory relative paths of this file are resolved against. */
  baseDir: string;
  /** For `~` in bind sources. */
  home?: string;
  /** `FILE: services.NAME` for messages. */
  where: string;
}

export function isPlainObject(v: unknown): v is Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Reset) && !(v instanceof Override);
}

/** Applies `fn` to a value, looking through an `!override` and leaving a `!reset` alone. */
function through(v: unknown, fn: (x: unknown) => unknown): unknown {
  if (v instanceof Reset) return v;
  if (v instanceof Override) return new Override(fn(v.value));
  return fn(v);
}

function scalarString(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return String(v);
}

/** `list_or_dict` (environment, labels, args, sysctls, ...) as a map; a bare `KEY` in a list is null (env) or "" (labels). */
export function listOrDict(v: unknown, bare: null | ''): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq < 0) out[s] = bare;
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  } else if (isPlainObject(v)) {
    for (const [k, val] of Object.entries(v)) {
      // A `!reset`/`!override` on one entry stays for the merge to read.
      if (val instanceof Reset || val instanceof Override) (out as Record<string, unknown>)[k] = val;
      else out[k] = val === null ? bare : scalarString(val);
    }
  }
  return out;
}

function stringList(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

function expandHome(p: string, ctx: NormalizeContext): string {
  if (p === '~' || p.startsWith('~/')) return (ctx.home ?? '~') + p.slice(1);
  return p;
}

export function resolvePath(p: string, ctx: NormalizeContext): string {
  const e = expandHome(p, ctx);
  return isAbsolute(e) ? e : resolve(ctx.baseDir, e);
}

/** A build context that is a URL (git, http) stays as written. */
function isRemoteContext(c: string): boolean {
  return /^(https?:\/\/|git@|git:\/\/|github\.com\/)/.test(c);
}

export function normalizeService(name: string, raw: Raw, ctx: NormalizeContext): Raw {
  const s: Raw = { ...raw };
  const where = `${ctx.where}: services.${name}`;
  const apply = (key: string, fn: (v: unknown) => unknown) => {
    if (key in s && s[key] !== undefined) s[key] = through(s[key], fn);
  };
  apply('build', (v) => {
    const b: Raw = typeof v === 'string' ? { context: v } : { ...(v as Raw) };
    const ctxDir = typeof b.context === 'string' ? b.context : '.';
    b.context = isRemoteContext(ctxDir) ? ctxDir : resolvePath(ctxDir, ctx);
    if (b.args !== undefined) b.args = listOrDict(b.args, null);
    if (b.labels !== undefined) b.labels = listOrDict(b.labels, '');
    if (b.secrets !== undefined) b.secrets = fileRefs(b.secrets, 'secret', `${where}.build.secrets`);
    return b;
  });
  for (const k of ['command', 'entrypoint']) {
    apply(k, (v) => (typeof v === 'string' ? splitShellWords(v, `${where}.${k}`) : v === null ? null : stringList(v)));
  }
  apply('environment', (v) => listOrDict(v, null));
  for (const k of ['labels', 'annotations']) apply(k, (v) => listOrDict(v, '') as Record<string, string>);
  apply('sysctls', (v) => listOrDict(v, ''));
  apply('extra_hosts', (v) => extraHosts(v));
  apply('env_file', (v) => (Array.isArray(v) ? v : [v]).map((e) => {
    const o = typeof e === 'string' ? { path: e, required: true } : { required: true, ...(e as Raw) };
    o.path = resolvePath(String(o.path), ctx);
    if (typeof o.required === 'string') o.required = o.required !== 'false';
    return o;
  }));
  for (const k of ['dns', 'dns_search', 'tmpfs', 'expose', 'cap_add', 'cap_drop', 'security_opt', 'devices', 'profiles', 'links', 'external_links', 'volumes_from', 'group_add', 'dns_opt']) {
    apply(k, (v) => stringList(v));
  }
  apply('ports', (v) => (v as unknown[]).flatMap((p, i) => portLong(p, `${where}.ports[${i}]`)));
  apply('volumes', (v) => (v as unknown[]).map((p, i) => volumeLong(p, ctx, `${where}.volumes[${i}]`)));
  apply('networks', (v) => {
    if (Array.isArray(v)) return Object.fromEntries(v.map((n) => [String(n), null]));
    return { ...(v as Raw) };
  });
  apply('depends_on', (v) => dependsOn(v));
  apply('healthcheck', (v) => {
    const h = { ...(v as Raw) };
    if (typeof h.test === 'string') h.test = ['CMD-SHELL', h.test];
    return h;
  });
  apply('secrets', (v) => fileRefs(v, 'secret', `${where}.secrets`));
  apply('configs', (v) => fileRefs(v, 'config', `${where}.configs`));
  apply('ulimits', (v) => {
    const out: Raw = {};
    for (const [k, u] of Object.entries(v as Raw)) {
      out[k] = typeof u === 'number' || typeof u === 'string' ? { soft: Number(u), hard: Number(u) } : u;
    }
    return out;
  });
  apply('deploy', (v) => {
    if (v === null) return v;
    const d = { ...(v as Raw) };
    if (d.labels !== undefined) d.labels = listOrDict(d.labels, '');
    return d;
  });
  apply('label_file', (v) => stringList(v).map((p) => resolvePath(p, ctx)));
  return s;
}

function extraHosts(v: unknown): Record<string, string> {
  if (isPlainObject(v)) {
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) out[k] = Array.isArray(x) ? x.map(String).join(',') : String(x);
    return out;
  }
  const out: Record<string, string> = {};
  for (const item of stringList(v)) {
    // `host=ip` (current) or `host:ip` (the older form, which IPv6 addresses make ambiguous: split at the first colon).
    const eq = item.indexOf('=');
    const sep = eq >= 0 ? eq : item.indexOf(':');
    if (sep < 0) out[item] = '';
    else out[item.slice(0, sep)] = item.slice(sep + 1);
  }
  return out;
}

function dependsOn(v: unknown): Record<string, ComposeDependency> {
  const out: Record<string, ComposeDependency> = {};
  if (Array.isArray(v)) {
    for (const n of v) out[String(n)] = { condition: 'service_started', required: true, restart: false };
    return out;
  }
  for (const [n, d] of Object.entries(v as Raw)) {
    const o = (d ?? {}) as Partial<ComposeDependency>;
    out[n] = { condition: o.condition ?? 'service_started', required: o.required ?? true, restart: o.restart ?? false };
  }
  return out;
}

function fileRefs(v: unknown, kind: 'secret' | 'config', where: string): ComposeServiceFileRef[] {
  return (v as unknown[]).map((item, i) => {
    const o: Raw = typeof item === 'string' ? { source: item } : { ...(item as Raw) };
    if (typeof o.source !== 'string') throw new ComposeError(`${where}[${i}]: missing "source"`);
    let target = typeof o.target === 'string' && o.target ? o.target : kind === 'secret' ? o.source : `/${o.source}`;
    // A secret's relative target is a file name under /run/secrets, as Docker places it.
    if (kind === 'secret' && !target.startsWith('/')) target = `/run/secrets/${target}`;
    return { ...o, source: o.source, target } as ComposeServiceFileRef;
  });
}

function parsePortNumber(s: string, where: string, what: string): number {
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw new ComposeError(`${where}: invalid ${what} ${JSON.stringify(s)}: must be 1-65535`);
  return Number(s);
}

function range(s: string, where: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new ComposeError(`${where}: invalid ${what} ${JSON.stringify(s)}`);
  const a = parsePortNumber(m[1]!, where, what);
  const b = m[2] === undefined ? a : parsePortNumber(m[2], where, what);
  if (b < a) throw new ComposeError(`${where}: invalid ${what} range ${JSON.stringify(s)}: the end is below the start`);
  return [a, b];
}

/** One port entry (short or long syntax) as long-syntax ports; a container port range gives one per port. */
export function portLong(p: unknown, where: string): ComposePort[] {
  if (isPlainObject(p)) {
    const target = Number(p.target);
    if (!Number.isInteger(target) || target < 1 || target > 65535) throw new ComposeError(`${where}.target: must be a port number 1-65535`);
    const protocol = (p.protocol as string | undefined) ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') throw new ComposeError(`${where}.protocol: must be "tcp" or "udp"`);
    const published = p.published !== undefined && p.published !== null && p.published !== '' ? String(p.published) : undefined;
    return [port(target, published, p.host_ip ? String(p.host_ip) : undefined, protocol, ((p.mode as string | undefined) ?? 'ingress') as 'ingress' | 'host', p.name ? String(p.name) : undefined)];
  }
  let s = String(p);
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = s.lastIndexOf('/');
  if (slash >= 0) {
    const proto = s.slice(slash + 1);
    if (proto !== 'tcp' && proto !== 'udp') throw new ComposeError(`${where}: invalid protocol ${JSON.stringify(proto)} in ${JSON.stringify(String(p))}: use tcp or udp`);
    protocol = proto;
    s = s.slice(0, slash);
  }
  let hostIp: string | undefined;
  // An IPv6 host address is written in brackets: [::1]:8080:80.
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(s);
  if (v6) {
    hostIp = v6[1];
    s = v6[2]!;
  }
  const parts = s.split(':');
  let published: string | undefined;
  let container: string;
  if (parts.length === 1) {
    container = parts[0]!;
  } else if (parts.length === 2) {
    [published, container] = parts as [string, string];
  } else if (parts.length === 3 && !hostIp) {
    [hostIp, published, container] = parts as [string, string, string];
  } else {
    throw new ComposeError(`${where}: invalid port ${JSON.stringify(String(p))}: use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`);
  }
  if (published === '') published = undefined;
  const [c0, c1] = range(container, where, 'container port');
  if (c0 === c1) {
    if (published !== undefined) range(published, where, 'host port');
    return [port(c0, published, hostIp, protocol, 'ingress')];
  }
  // A container range maps one to one onto a host range of the same length.
  let h: [number, number] | undefined;
  if (published !== undefined) {
    h = range(published, where, 'host port');
    if (h[1] - h[0] !== c1 - c0) throw new ComposeError(`${where}: the host port range ${published} and the container port range ${container} differ in length`);
  }
  const out: ComposePort[] = [];
  for (let i = 0; i <= c1 - c0; i++) out.push(port(c0 + i, h ? String(h[0] + i) : undefined, hostIp, protocol, 'ingress'));
  return out;
}

/** A long-syntax port with its keys in the order Docker prints them. */
function port(target: number, published: string | undefined, hostIp: string | undefined, protocol: 'tcp' | 'udp', mode: 'ingress' | 'host', name?: string): ComposePort {
  return {
    ...(name ? { name } : {}),
    mode,
    ...(hostIp ? { host_ip: hostIp } : {}),
    target,
    ...(published !== undefined ? { published } : {}),
    protocol,
  };
}

const VOLUME_MODES = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'cached', 'delegated', 'consistent']);

export function volumeLong(v: unknown, ctx: NormalizeContext, where: string): ComposeServiceVolume {
  if (isPlainObject(v)) {
    const o = { ...v } as unknown as ComposeServiceVolume & Raw;
    if (!['bind', 'volume', 'tmpfs'].includes(o.type)) throw new ComposeError(`${where}.type: ${JSON.stringify(o.type)} is not supported: use bind, volume or tmpfs`);
    if (typeof o.target !== 'string' || !o.target) throw new ComposeError(`${where}: missing "target"`);
    if (o.type === 'bind') {
      if (typeof o.source !== 'string' || !o.source) throw new ComposeError(`${where}: a bind mount needs a "source"`);
      o.source = resolvePath(o.source, ctx);
    }
    return o;
  }
  const s = String(v);
  const parts = s.split(':');
  if (parts.length === 1) return { type: 'volume', target: s };
  if (parts.length > 3 || !parts[0] || !parts[1]) throw new ComposeError(`${where}: invalid volume ${JSON.stringify(s)}: use [SOURCE:]TARGET[:MODE]`);
  const [source, target, mode] = parts as [string, string, string | undefined];
  const modes = mode ? mode.split(',') : [];
  for (const m of modes) if (!VOLUME_MODES.has(m)) throw new ComposeError(`${where}: invalid volume mode ${JSON.stringify(m)} in ${JSON.stringify(s)}`);
  const isBind = source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
  const out: ComposeServiceVolume = { type: isBind ? 'bind' : 'volume', source: isBind ? resolvePath(source, ctx) : source, target };
  if (modes.includes('ro')) out.read_only = true;
  if (isBind) out.bind = { create_host_path: true };
  else out.volume = {};
  if (isBind) {
    const selinux = modes.find((m) => m === 'z' || m === 'Z') as 'z' | 'Z' | undefined;
    if (selinux) out.bind!.selinux = selinux;
    const prop = modes.find((m) => /^r?(shared|slave|private)$/.test(m));
    if (prop) out.bind!.propagation = prop;
  } else {
    if (modes.includes('nocopy')) out.volume = { nocopy: true };
    if (Object.keys(out.volume!).length === 0) delete out.volume;
  }
  return out;
}
