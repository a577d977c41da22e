import type { ContainerRecord, ContainerState } from './store.js';
import type { MountPoint } from './mounts.js';
import { EngineError } from '../../util/errors.js';
import type { PortBinding } from '../networks/ports.js';

/** What a filter looks at in a container, beyond its record. */
export interface FilterSubject {
  rec: ContainerRecord;
  mounts: MountPoint[];
  /** Network names (or the mode: none, host, ...). */
  networks: string[];
  /** Published ports (of the spec) and exposed ones ("80/tcp"). */
  ports: PortBinding[];
  exposed: string[];
}

/** Lookups the filters need: images (ancestor=) and containers (before=, since=). */
export interface FilterLookups {
  /** The image id a name or id means, or undefined when there is none. */
  imageId(ref: string): string | undefined;
  /** The container a name or id means; throws when there is none. */
  container(ref: string): { id: string; created: number };
}

const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];
const KEYS = ['id', 'name', 'label', 'status', 'exited', 'ancestor', 'before', 'since', 'volume', 'network',
  'health', 'publish', 'expose', 'is-task', 'isolation'];

export function invalidFilter(what: string, hint: string): EngineError {
  return new EngineError(`invalid filter '${what}': ${hint}`, 1);
}

/** Parses repeated `--filter KEY=VALUE` into values by key; `keys` are the ones the command knows. */
export function parseFilters(args: string[], keys: string[] = KEYS): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw new EngineError(`bad format of filter (expected name=value): ${a}`, 1);
    const key = a.slice(0, i).trim().toLowerCase();
    const value = a.slice(i + 1);
    if (!keys.includes(key)) throw invalidFilter(key, `use one of ${keys.slice(0, 10).join(', ')}`);
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

/** Docker's filter match: the value as a regular expression (Go's), or literally when it is not one. */
function matches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  try {
    return new RegExp(pattern).test(subject);
  } catch {
    return subject.includes(pattern);
  }
}

export interface ContainerFilter {
  /** Filters that show stopped containers without -a (status=, before=, since=). */
  includesStopped: boolean;
  test(s: FilterSubject): boolean;
}

/**
 * Docker's `ps --filter`: values of one key are alternatives (OR), keys
 * must all match (AND); label= is the exception, every label must match.
 */
export function containerFilter(args: string[], lookups: FilterLookups): ContainerFilter {
  const f = parseFilters(args);
  const get = (k: string) => f.get(k) ?? [];
  for (const s of get('status')) if (!STATES.includes(s)) throw invalidFilter(`status=${s}`, `use one of ${STATES.join(', ')}`);
  const exitCodes = get('exited').map((v) => {
    if (!/^-?\d+$/.test(v.trim())) throw invalidFilter(`exited=${v}`, 'the exit code must be a whole number');
    return Number(v);
  });
  for (const h of get('health')) if (!HEALTH.includes(h)) throw invalidFilter(`health=${h}`, `use one of ${HEALTH.join(', ')}`);
  for (const v of get('is-task')) if (v !== 'true' && v !== 'false') throw invalidFilter(`is-task=${v}`, 'use true or false');
  const ancestors = new Set(get('ancestor').map((a) => lookups.imageId(a)).filter((id): id is string => !!id));
  const before = get('before').map((r) => lookups.container(r).created);
  const since = get('since').map((r) => lookups.container(r).created);
  const any = (k: string, pred: (v: string) => boolean) => !f.has(k) || get(k).some(pred);

  return {
    includesStopped: f.has('status') || f.has('before') || f.has('since'),
    test({ rec, mounts, networks, ports, exposed }) {
      const state: ContainerState = rec.state;
      return any('id', (v) => matches(v, rec.id))
        && any('name', (v) => matches(v, rec.name) || matches(v, `/${rec.name}`))
        && get('label').every((l) => {
          const i = l.indexOf('=');
          const key = i < 0 ? l : l.slice(0, i);
          return Object.hasOwn(rec.spec.labels, key) && (i < 0 || rec.spec.labels[key] === l.slice(i + 1));
        })
        && any('status', (v) => v === state)
        && (!exitCodes.length || (state === 'exited' && exitCodes.includes(rec.exitCode ?? 0)))
        && (!f.has('ancestor') || ancestors.has(rec.imageId))
        && before.every((t) => rec.created < t)
        && since.every((t) => rec.created > t)
        && any('volume', (v) => mounts.some((m) => m.Name === v || m.Source === v || m.Destination === v))
        && any('network', (v) => networks.includes(v))
        && any('health', (v) => v === (rec.health?.status ?? 'none'))
        && any('publish', (v) => ports.some((p) => portMatches(v, p.containerPort, p.protocol)))
        && any('expose', (v) => exposed.some((e) => portMatches(v, Number(e.split('/')[0]), e.split('/')[1]!)))
        && any('is-task', (v) => v === 'false')
        && any('isolation', (v) => v === 'default');
    },
  };
}

/** publish=/expose= values: PORT, PORT/PROTO or FROM-TO[/PROTO] (tcp unless said), as Docker's. */
function portMatches(filter: string, port: number, protocol: string): boolean {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(filter);
  if (!m) throw invalidFilter(filter, 'use PORT[/PROTOCOL] or a range FROM-TO[/PROTOCOL]');
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  return port >= lo && port <= hi && (m[3] ?? 'tcp') === protocol;
}
