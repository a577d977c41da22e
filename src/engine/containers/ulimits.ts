import { readFileSync } from 'node:fs';
import { EngineError } from '../../util/errors.js';
import type { Ulimit } from './request.js';

/**
 * --ulimit: Docker's names, the OCI rlimit each sets, and the line of
 * /proc/self/limits that says the caller's own. A user namespace cannot
 * raise a hard limit above the one its creator had, so a value beyond the
 * caller's hard limit is refused here rather than left to fail (or be
 * quietly lowered) in the runtime.
 */
const ULIMITS: Record<string, { rlimit: string; proc: string }> = {
  as: { rlimit: 'RLIMIT_AS', proc: 'Max address space' },
  core: { rlimit: 'RLIMIT_CORE', proc: 'Max core file size' },
  cpu: { rlimit: 'RLIMIT_CPU', proc: 'Max cpu time' },
  data: { rlimit: 'RLIMIT_DATA', proc: 'Max data size' },
  fsize: { rlimit: 'RLIMIT_FSIZE', proc: 'Max file size' },
  locks: { rlimit: 'RLIMIT_LOCKS', proc: 'Max file locks' },
  memlock: { rlimit: 'RLIMIT_MEMLOCK', proc: 'Max locked memory' },
  msgqueue: { rlimit: 'RLIMIT_MSGQUEUE', proc: 'Max msgqueue size' },
  nice: { rlimit: 'RLIMIT_NICE', proc: 'Max nice priority' },
  nofile: { rlimit: 'RLIMIT_NOFILE', proc: 'Max open files' },
  nproc: { rlimit: 'RLIMIT_NPROC', proc: 'Max processes' },
  rss: { rlimit: 'RLIMIT_RSS', proc: 'Max resident set' },
  rtprio: { rlimit: 'RLIMIT_RTPRIO', proc: 'Max realtime priority' },
  rttime: { rlimit: 'RLIMIT_RTTIME', proc: 'Max realtime timeout' },
  sigpending: { rlimit: 'RLIMIT_SIGPENDING', proc: 'Max pending signals' },
  stack: { rlimit: 'RLIMIT_STACK', proc: 'Max stack size' },
};

export const ULIMIT_NAMES = Object.keys(ULIMITS);

/** -1: unlimited. */
const fmt = (n: number) => (n < 0 ? 'unlimited' : String(n));

/** The caller's own hard limits by Docker's name (-1 unlimited), from /proc/self/limits. */
export function ownHardLimits(text = readFileSync('/proc/self/limits', 'utf8')): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, u] of Object.entries(ULIMITS)) {
    const line = text.split('\n').find((l) => l.startsWith(u.proc));
    const hard = line?.slice(u.proc.length).trim().split(/\s+/)[1];
    if (hard !== undefined) out[name] = hard === 'unlimited' ? -1 : Number(hard);
  }
  return out;
}

/** A request's ulimits, checked as any front door's: known names, soft ≤ hard, within the caller's hard limits; one per name. */
export function checkUlimits(list: Ulimit[] | undefined, own: Record<string, number> = list?.length ? ownHardLimits() : {}): Ulimit[] {
  const seen = new Set<string>();
  for (const u of list ?? []) {
    if (!ULIMITS[u.name]) throw new EngineError(`invalid ulimit type: ${u.name} (use one of ${ULIMIT_NAMES.join(', ')})`);
    for (const v of [u.soft, u.hard]) if (!Number.isSafeInteger(v) || v < -1) throw new EngineError(`invalid ulimit ${u.name}: ${v} is not a whole number of 0 or more (or -1 for unlimited)`);
    if (u.hard !== -1 && (u.soft === -1 || u.soft > u.hard)) throw new EngineError(`invalid ulimit ${u.name}: the soft limit ${fmt(u.soft)} is above the hard limit ${fmt(u.hard)}`);
    const mine = own[u.name];
    if (mine !== undefined && mine !== -1 && (u.hard === -1 || u.hard > mine)) {
      throw new EngineError(`ulimit ${u.name}=${fmt(u.soft)}:${fmt(u.hard)} is above your own hard limit of ${mine}: a rootless container cannot raise it (ask for at most ${mine})`);
    }
    if (seen.has(u.name)) throw new EngineError(`ulimit ${u.name} given twice`);
    seen.add(u.name);
  }
  return list ?? [];
}

/** The OCI spec's process.rlimits (-1 as the kernel's RLIM_INFINITY, which runtime/spec.ts writes exactly). */
export function ociRlimits(list: Ulimit[] | undefined): Array<{ type: string; soft: number; hard: number }> {
  return (list ?? []).map((u) => ({ type: ULIMITS[u.name]!.rlimit, soft: u.soft, hard: u.hard }));
}
