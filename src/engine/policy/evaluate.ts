import { realpathSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { DeniedError } from '../../util/errors.js';
import type { PortBinding } from '../../util/values.js';
import type { Isolation } from '../containers/request.js';
import type { PolicySection, PortRange, Rule } from './load.js';

/** Who asks: the host user by uid (never $USER), their home from the passwd entry (never $HOME), and their groups. */
export interface Caller {
  name: string;
  uid: number;
  home: string;
  groups: string[];
}

/**
 * What the policy looks at in a container request: the parts of a
 * CreateRequest it rules on, as values. Stored with the container so that
 * `start` and `exec` check it again against the policy of the day.
 */
export interface ContainerAsk {
  privileged?: boolean;
  capAdd?: string[];
  /** Host paths of --device. */
  devices?: string[];
  networkMode?: string;
  /** Bind mount sources, as asked (resolved at each check: a symlink may have changed). */
  binds?: Array<{ source: string; target: string }>;
  ports?: PortBinding[];
  /** -P: every exposed port on a free host port. */
  publishAll?: boolean;
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  /** The runtime that will run it (the asked one, or the default). */
  runtime?: string;
  isolation?: Isolation;
}

/** A request the policy refuses: one line naming the rule, its file and line, and the part of the request. */
export class PolicyDenied extends DeniedError {
  constructor(readonly rule: Rule, readonly what: string) {
    super(`denied by policy ${rule.file}:${rule.line} ([${rule.section}] ${rule.key} = ${showValue(rule.value)}): ${what}`);
    this.name = 'PolicyDenied';
  }
}

export function showValue(v: unknown): string {
  if (typeof v === 'object' && v !== null && 'lo' in v) return `"${(v as PortRange).lo}-${(v as PortRange).hi}"`;
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)).replace(/,/g, ', ');
}

/** The sections that apply to the caller, in file order: [all], [user.NAME], each of [group.G], and the user's own [policy]. */
export function applicable(sections: PolicySection[], caller: Caller): PolicySection[] {
  const names = new Set(['all', 'policy', `user.${caller.name}`, ...caller.groups.map((g) => `group.${g}`)]);
  return sections.filter((s) => names.has(s.section));
}

/** Every rule for `key` among the sections: each must hold (the most restrictive wins). */
function rules<T>(sections: PolicySection[], key: string): Array<Rule<T>> {
  return sections.flatMap((s) => s.rules.filter((r) => r.key === key)) as Array<Rule<T>>;
}

/** A path with symlinks resolved; a part that does not exist yet (a bind source rootlet will create) is kept as written. */
export function resolvePath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const parent = dirname(p);
    if (parent === p) return p;
    return join(resolvePath(parent), basename(p));
  }
}

function under(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function capName(c: string): string {
  return c.toUpperCase().replace(/^CAP_/, '');
}

function expandHome(root: string, home: string): string {
  return root.replace(/^\$HOME(?=\/|$)/, home).replace(/^\$\{HOME\}(?=\/|$)/, home);
}

function gib(bytes: number): string {
  const units = ['b', 'k', 'm', 'g', 't'];
  let i = 0;
  while (bytes >= 1024 && bytes % 1024 === 0 && i < units.length - 1) { bytes /= 1024; i++; }
  return `${bytes}${units[i]}`;
}

/**
 * Checks a container request against the sections that apply; throws the
 * first rule it breaks. Returns the request completed by the policy: a
 * limit the policy caps and the request left open gets the cap, and
 * `isolation = "sandbox"` gives a request that named no runtime gVisor's.
 * Without `fill` (an existing container), a missing limit is refused instead.
 */
export function checkContainer(sections: PolicySection[], caller: Caller, ask: ContainerAsk, defaultRuntime: () => string | undefined, opts: { fill?: boolean } = { fill: true }): ContainerAsk {
  const out: ContainerAsk = { ...ask };
  if (ask.privileged) for (const r of rules<boolean>(sections, 'privileged')) if (!r.value) throw new PolicyDenied(r, '--privileged');
  for (const cap of ask.capAdd ?? []) {
    for (const r of rules<string[]>(sections, 'cap_add')) {
      const allowed = r.value.map(capName);
      if (!allowed.includes('ALL') && !allowed.includes(capName(cap))) throw new PolicyDenied(r, `--cap-add ${cap}`);
    }
  }
  for (const dev of ask.devices ?? []) {
    for (const r of rules<boolean | string[]>(sections, 'devices')) {
      if (r.value === true) continue;
      const real = resolvePath(dev);
      if (r.value === false || !r.value.some((p) => resolvePath(p) === real)) throw new PolicyDenied(r, `--device ${dev}${real !== dev ? ` (${real})` : ''}`);
    }
  }
  if (ask.networkMode === 'host') for (const r of rules<boolean>(sections, 'host_network')) if (!r.value) throw new PolicyDenied(r, '--network host');
  for (const b of ask.binds ?? []) {
    const real = resolvePath(b.source);
    for (const r of rules<string[]>(sections, 'bind_roots')) {
      const roots = r.value.map((root) => resolvePath(expandHome(root, caller.home)));
      if (!roots.some((root) => under(real, root))) {
        throw new PolicyDenied(r, `-v ${b.source}:${b.target}${real !== b.source ? ` (${b.source} resolves to ${real})` : ''}`);
      }
    }
  }
  if (ask.publishAll) {
    for (const r of rules<PortRange>(sections, 'ports')) throw new PolicyDenied(r, `-P (free host ports are picked at random; publish ports in ${r.value.lo}-${r.value.hi} with -p)`);
  }
  for (const p of ask.ports ?? []) {
    for (const r of rules<PortRange>(sections, 'ports')) {
      const text = `-p ${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort || ''}:${p.containerPort}/${p.protocol}`;
      if (!p.hostPort) throw new PolicyDenied(r, `${text} (a free host port is picked at random; name one in ${r.value.lo}-${r.value.hi})`);
      if (p.hostPort < r.value.lo || p.hostPort > r.value.hi) throw new PolicyDenied(r, text);
    }
  }
  const limit = (key: string, field: 'memoryBytes' | 'nanoCpus' | 'pidsLimit', scale: number, what: (v: number) => string, missing: string): void => {
    const rs = rules<number>(sections, key);
    if (!rs.length) return;
    const asked = out[field];
    if (asked === undefined) {
      // An open limit gets the tightest cap, as if the request had asked for it; an existing container is refused instead.
      if (!opts.fill) throw new PolicyDenied(rs[0]!, `${missing} (it was created without one: create it again)`);
      out[field] = Math.min(...rs.map((r) => Math.round(r.value * scale)));
      return;
    }
    for (const r of rs) if (asked <= 0 || asked > r.value * scale) throw new PolicyDenied(r, what(asked));
  };
  limit('max_memory', 'memoryBytes', 1, (v) => `--memory ${gib(v)}`, 'no memory limit');
  limit('max_cpus', 'nanoCpus', 1e9, (v) => `--cpus ${v / 1e9}`, 'no CPU limit');
  limit('max_pids', 'pidsLimit', 1, (v) => `--pids-limit ${v}`, 'no pids limit');
  for (const r of rules<string>(sections, 'isolation')) {
    if (r.value !== 'sandbox') continue;
    if (out.isolation && out.isolation !== 'sandbox') throw new PolicyDenied(r, `--isolation ${out.isolation}`);
    if (out.runtime && out.runtime !== 'runsc') throw new PolicyDenied(r, `--runtime ${out.runtime}`);
    if (!opts.fill && out.runtime !== 'runsc') throw new PolicyDenied(r, 'a container not created under gVisor (create it again)');
    out.isolation = 'sandbox';
    out.runtime = 'runsc';
  }
  const runtimeRules = rules<string[]>(sections, 'runtimes');
  if (runtimeRules.length) {
    const runtime = out.runtime ?? defaultRuntime();
    for (const r of runtimeRules) {
      if (runtime && !r.value.includes(runtime)) throw new PolicyDenied(r, out.runtime ? `--runtime ${runtime}` : `the default runtime ${runtime}`);
    }
  }
  return out;
}

/** The registry host an image comes from may be used (checked before any network access). */
export function checkRegistry(sections: PolicySection[], domain: string, what: string): void {
  for (const r of rules<string[]>(sections, 'registries')) if (!r.value.includes(domain)) throw new PolicyDenied(r, what);
}

/** Images made here (import, load, build) are allowed unless `local_images = false`. */
export function checkLocalImage(sections: PolicySection[], what: string): void {
  for (const r of rules<boolean>(sections, 'local_images')) if (!r.value) throw new PolicyDenied(r, what);
}

/** One more running container must stay within `max_containers`. */
export function checkRunning(sections: PolicySection[], running: number, what: string): void {
  for (const r of rules<number>(sections, 'max_containers')) {
    if (running + 1 > r.value) throw new PolicyDenied(r, `${what} (${running} of yours already running)`);
  }
}

/**
 * The tightest `max_containers` rule, as the start of a container enforces
 * it atomically (containers/store.ts): the count checked before a run is
 * only a first, early answer, since starts running at the same time all
 * see the same count.
 */
export function runningLimit(sections: PolicySection[]): { max: number; refuse: (running: number, what: string) => PolicyDenied } | undefined {
  const tightest = rules<number>(sections, 'max_containers').sort((a, b) => a.value - b.value)[0];
  return tightest && { max: tightest.value, refuse: (running, what) => new PolicyDenied(tightest, `${what} (${running} of yours already running)`) };
}

/** A key's effective value for the caller, and the rules it came from. */
export interface EffectiveValue {
  key: string;
  value: unknown;
  from: Array<{ file: string; line: number; section: string; value: unknown }>;
}

function intersect(lists: string[][], norm: (s: string) => string = (s) => s): string[] {
  const [first, ...rest] = lists;
  return (first ?? []).filter((x) => rest.every((l) => l.map(norm).includes(norm(x)) || l.map(norm).includes('ALL')));
}

/** Prefix sets: the roots of each list that lie under a root of every other list. */
function intersectRoots(lists: string[][]): string[] {
  const out = new Set<string>();
  lists.forEach((l, i) => {
    for (const a of l) if (lists.every((m, j) => j === i || m.some((b) => under(a, b)))) out.add(a);
  });
  return [...out];
}

/** What `policy show` prints: per key, the most restrictive value over the applicable sections. */
export function effectivePolicy(sections: PolicySection[], caller: Caller): EffectiveValue[] {
  const keys = [...new Set(sections.flatMap((s) => s.rules.map((r) => r.key)))];
  return keys.map((key) => {
    const rs = rules<unknown>(sections, key);
    const vals = rs.map((r) => r.value);
    let value: unknown;
    switch (key) {
      case 'privileged': case 'host_network': case 'local_images':
        value = vals.every(Boolean);
        break;
      case 'cap_add':
        value = intersect(vals as string[][], capName);
        break;
      case 'registries': case 'runtimes':
        value = intersect(vals as string[][]);
        break;
      case 'devices':
        value = vals.includes(false) ? false : vals.every((v) => v === true) ? true : intersect(vals.filter((v) => v !== true) as string[][]);
        break;
      case 'bind_roots':
        value = intersectRoots((vals as string[][]).map((l) => l.map((r) => expandHome(r, caller.home))));
        break;
      case 'ports': {
        const rs2 = vals as PortRange[];
        const lo = Math.max(...rs2.map((r) => r.lo));
        const hi = Math.min(...rs2.map((r) => r.hi));
        value = hi >= lo ? { lo, hi } : 'none';
        break;
      }
      case 'isolation':
        value = vals.includes('sandbox') ? 'sandbox' : 'default';
        break;
      default:
        value = Math.min(...(vals as number[]));
    }
    return { key, value, from: rs.map((r) => ({ file: r.file, line: r.line, section: r.section, value: r.value })) };
  });
}
