import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { EngineError } from '../util/errors.js';
import { getMeta, setMeta, type DB } from '../state/db.js';
import { findInPath, isProcessAlive, processStartTime, runCapture, runCaptureAsync, sleepSync } from '../util/proc.js';
import { procFiles } from '../util/procfs.js';
import { hideUnifiedCgroup } from '../runtime/runtime.js';
import { ENV_HOLDER, type Identity } from './identity.js';
import { type IdRange, type SubIds, totalIds } from './subid.js';

/** One line of a uid_map/gid_map: `inside` .. `inside+count` maps to `outside` .. */
export interface MapEntry {
  inside: number;
  outside: number;
  count: number;
}

/**
 * The mapping of the user's long-lived namespace. For a user, container 0 is
 * the user and 1..n are the subordinate ranges in order. For root, container
 * 0 is the first subordinate id: rootlet never hands a container real root.
 */
export function namespaceMap(hostId: number, ranges: IdRange[], isRoot: boolean): MapEntry[] {
  const out: MapEntry[] = [];
  let next = 0;
  if (!isRoot) {
    out.push({ inside: 0, outside: hostId, count: 1 });
    next = 1;
  }
  for (const r of ranges) {
    out.push({ inside: next, outside: r.start, count: r.count });
    next += r.count;
  }
  return out;
}

export function mapSize(map: MapEntry[]): number {
  return map.reduce((n, e) => Math.max(n, e.inside + e.count), 0);
}

interface HolderRecord {
  pid: number;
  start: number;
  boot: string;
  /** MOUNTS_VERSION of the holder's prepared mounts (absent: none). */
  mounts?: number;
}

/** A handle on the user's namespace: a pause process holding a user and a mount namespace. */
export class UserNamespace {
  constructor(
    readonly pid: number,
    readonly uidMap: MapEntry[],
    readonly gidMap: MapEntry[],
    private readonly preserveCredentials: boolean,
    /** We already run inside the user namespace (conmon's exit hook); `pid` is then our own. */
    readonly inside = false,
  ) {}

  /**
   * Arguments for nsenter that join this namespace; commands then run as its
   * root. The working directory is / of the namespace: nsenter --wd would
   * keep a directory of the host's mount namespace, where mounts fail.
   */
  nsenterArgs(): string[] {
    // Inside already: entering our own mount namespace changes nothing, and keeps one way to run commands.
    if (this.inside) return ['-m', '-t', String(this.pid)];
    const args = ['-U', '-m', '-t', String(this.pid)];
    if (this.preserveCredentials) args.push('--preserve-credentials');
    return args;
  }

  /** Container ids 0..size-1 are mapped. */
  get size(): number {
    return Math.min(mapSize(this.uidMap), mapSize(this.gidMap));
  }

  /** The host uid/gid that container root is: who owns files container root creates. */
  get rootHostUid(): number { return this.uidMap[0]!.outside; }
  get rootHostGid(): number { return this.gidMap[0]!.outside; }

  /** Runs a command inside the namespace to completion. */
  run(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}) {
    return runCapture('nsenter', [...this.nsenterArgs(), '--', ...args], { input: opts.input, env: opts.env });
  }

  /**
   * Like run, without blocking the event loop: what a long-lived caller (the
   * API server, compose, a pod manager) uses, so one slow namespace command
   * does not stall every other request.
   */
  runAsync(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}) {
    return runCaptureAsync('nsenter', [...this.nsenterArgs(), '--', ...args], { input: opts.input, env: opts.env });
  }

  /** runAsync, with a non-zero exit as an EngineError that quotes the command's own error. */
  async runCheckedAsync(args: string[], what: string, opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    const r = await this.runAsync(args, opts);
    if (r.code !== 0) throw new EngineError(`${what}: ${lastLine(r.stderr) || `exit status ${r.code}`}`);
    return r.stdout;
  }

  /**
   * Runs a command in the holder's own mount namespace, also from the exit
   * hook (which runs in conmon's): network namespace files are mounted there.
   */
  runInHolder(args: string[], opts: { input?: string | Buffer } = {}) {
    if (!this.inside) return this.run(args, opts);
    return runCapture('nsenter', [...this.holderArgs(), '--', ...args], { input: opts.input });
  }

  /** runInHolder without blocking the event loop (network connect and disconnect, which a server calls). */
  runInHolderAsync(args: string[], opts: { input?: string | Buffer } = {}) {
    if (!this.inside) return this.runAsync(args, opts);
    return runCaptureAsync('nsenter', [...this.holderArgs(), '--', ...args], { input: opts.input });
  }

  /**
   * The holder's pid, also inside (where `pid` is our own): the exit hook is
   * told it by ROOTLET_NS_HOLDER. When that holder died (a new one serves the
   * user now, in another namespace), the hook keeps to its own mount namespace.
   */
  get holderPid(): number {
    if (!this.inside) return this.pid;
    const told = Number(process.env[ENV_HOLDER]);
    return told && sameUserNs(told) ? told : this.pid;
  }

  /**
   * An exit hook whose holder died: its namespace serves nobody any more, and
   * what it mounted would not be seen by the current holder (networks).
   */
  get orphaned(): boolean {
    return this.inside && this.holderPid === this.pid;
  }

  /** nsenter arguments that reach the holder's mount namespace (see runInHolder). */
  holderArgs(): string[] {
    return this.inside ? ['-m', '-t', String(this.holderPid)] : this.nsenterArgs();
  }

  /** Like run, but a non-zero exit is an EngineError that quotes the command's own error. */
  runChecked(args: string[], what: string, opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new EngineError(`${what}: ${lastLine(r.stderr) || `exit status ${r.code}`}`);
    return r.stdout;
  }
}

/** The line of a tool's error output that says what went wrong (not mount's "dmesg(1) may have more"). */
export function lastLine(text: string): string {
  // Node's "Node.js v20..." after a crash says nothing about what failed.
  const lines = text.trim().split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('dmesg(1)') && !/^Node\.js v\d/.test(l));
  return lines[lines.length - 1] ?? '';
}

/**
 * Whether a process lives in our user namespace (false when it is gone).
 * A killed holder not yet reaped still names its user namespace (a zombie
 * keeps its credentials) but no longer its mount namespace: not alive.
 */
function sameUserNs(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    return readlinkSync(`/proc/${pid}/ns/user`) === ownUserNs();
  } catch {
    return false;
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function ownUserNs(): string {
  return readlinkSync('/proc/self/ns/user');
}

/** Bumped when prepareMounts changes: an older holder lacks what runtimes now expect, and is replaced. */
const MOUNTS_VERSION = 1;

/** What the namespace's mount table needs before anything runs in it. */
function prepareMounts(ns: UserNamespace): void {
  const hide = hideUnifiedCgroup();
  if (!hide) return;
  const r = ns.run(hide);
  if (r.code !== 0) {
    killQuietly(ns.pid);
    throw new EngineError(`cannot hide the host's cgroup v2 tree from crun in the user namespace: ${lastLine(r.stderr) || `exit status ${r.code}`}`);
  }
}

function holderUsable(rec: HolderRecord): boolean {
  if (rec.boot !== bootId() || !isProcessAlive(rec.pid, rec.start) || (rec.mounts ?? 0) < MOUNTS_VERSION) return false;
  try {
    if (readlinkSync(`/proc/${rec.pid}/ns/user`) === ownUserNs()) return false;
    return readFileSync(`/proc/${rec.pid}/uid_map`, 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

/** True in a process rootlet left inside the user's namespace (conmon's exit hook): root there, and told so. */
function insideUserNamespace(): boolean {
  if (!process.env[ENV_HOLDER] || process.getuid!() !== 0) return false;
  try {
    return readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') !== '0 0 4294967295';
  } catch {
    return false;
  }
}

function formatMap(map: MapEntry[]): string[] {
  return map.flatMap((e) => [String(e.inside), String(e.outside), String(e.count)]);
}

const KEY = 'holder';

/**
 * Returns the user's namespace, creating its holder when there is none or it
 * died. The check and the creation run under the database's write lock, so
 * concurrent rootlet processes agree on one holder.
 */
export function ensureUserNamespace(db: DB, id: Identity, subids: SubIds): UserNamespace {
  const isRoot = id.uid === 0;
  if (!subids.uids.length || !subids.gids.length) throw noRangeError(id, subids);
  const uidMap = namespaceMap(id.uid, subids.uids, isRoot);
  const gidMap = namespaceMap(id.gid, subids.gids, isRoot);
  const make = (pid: number) => new UserNamespace(pid, uidMap, gidMap, !isRoot);
  // The exit hook runs inside the namespace: it uses its own and never creates or kills holders.
  if (insideUserNamespace()) return new UserNamespace(process.pid, uidMap, gidMap, false, true);

  const read = (): HolderRecord | undefined => {
    const v = getMeta(db, KEY);
    return v ? (JSON.parse(v) as HolderRecord) : undefined;
  };
  const cur = read();
  if (cur && holderUsable(cur)) return make(cur.pid);

  return db.transaction(() => {
    const again = read();
    if (again && holderUsable(again)) return make(again.pid);
    // A holder whose mapping was never written (its creator died): replace it.
    if (again && isProcessAlive(again.pid, again.start)) killQuietly(again.pid);
    // A holder whose creator was killed before recording it serves nobody: stop it.
    for (const orphan of markedHolders(db.name)) killQuietly(orphan);
    const pid = spawnHolder(uidMap, gidMap, db.name);
    prepareMounts(make(pid));
    setMeta(db, KEY, JSON.stringify({ pid, start: processStartTime(pid) ?? 0, boot: bootId(), mounts: MOUNTS_VERSION } satisfies HolderRecord));
    return make(pid);
  }).immediate();
}

/**
 * After the state database was rebuilt (system recover): the holder that
 * still runs for this store is recorded again, so running containers stay
 * in the namespace they were started in instead of a new one being made.
 */
export function adoptHolder(db: DB): number | undefined {
  const pid = markedHolders(db.name)[0];
  if (!pid) return undefined;
  const rec: HolderRecord = { pid, start: processStartTime(pid) ?? 0, boot: bootId(), mounts: MOUNTS_VERSION };
  if (!holderUsable(rec)) return undefined;
  setMeta(db, KEY, JSON.stringify(rec));
  return pid;
}

/**
 * Each holder carries the store it serves in its environment, so that one
 * whose creator died before recording it (kill -9 in that instant) is found
 * and stopped when the next holder is made, instead of lingering.
 */
const HOLDER_MARK = 'ROOTLET_HOLDER_OF';

function killQuietly(pid: number): void {
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

/** Live processes of ours marked as holders of this store (read from /proc: only when a holder is made). */
export function markedHolders(store: string): number[] {
  const mark = Buffer.from(`${HOLDER_MARK}=${store}\0`);
  return procFiles('environ').filter((p) => p.data.includes(mark)).map((p) => p.pid)
    .filter((pid) => pid !== process.pid && isProcessAlive(pid));
}

function spawnHolder(uidMap: MapEntry[], gidMap: MapEntry[], store: string): number {
  const pause = findInPath('catatonit');
  const holdArgs = pause ? [pause, '-P'] : ['sleep', 'infinity'];
  const child = spawn('unshare', ['--user', '--mount', '--propagation', 'private', '--', ...holdArgs], {
    detached: true,
    stdio: 'ignore',
    cwd: '/',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', [HOLDER_MARK]: store },
  });
  child.unref();
  const pid = child.pid;
  if (!pid) throw new EngineError('cannot start the user namespace holder: unshare (util-linux) is not installed');
  const mine = ownUserNs();
  const deadline = Date.now() + 3000;
  for (;;) {
    let ns = mine;
    try { ns = readlinkSync(`/proc/${pid}/ns/user`); } catch { /* not yet, or failed */ }
    if (ns !== mine) break;
    if (!isProcessAlive(pid) || Date.now() > deadline) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      throw new EngineError('cannot create a user namespace: unshare --user failed; run `rootlet system check` to see why');
    }
    sleepSync(1);
  }
  for (const [tool, map] of [['newuidmap', uidMap], ['newgidmap', gidMap]] as const) {
    const r = runCapture(tool, [String(pid), ...formatMap(map)]);
    if (r.code !== 0) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      const why = lastLine(r.stderr) || `exit status ${r.code}`;
      throw new EngineError(`${tool} failed: ${why}; run \`rootlet system check\` to see which prerequisite is missing`);
    }
  }
  return pid;
}

export function noRangeError(id: Identity, subids: SubIds): EngineError {
  const which = !subids.uids.length ? '/etc/subuid' : '/etc/subgid';
  return new EngineError(
    `no subordinate id range for ${id.name} in ${which}: ask an admin to run ` +
    `\`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${id.name}\` (with a free range)`,
  );
}

/** Stops the holder (for `system reset`); containers in the namespace keep it alive until they exit. */
export function stopUserNamespace(db: DB): void {
  for (const orphan of markedHolders(db.name)) killQuietly(orphan);
  const v = getMeta(db, KEY);
  if (!v) return;
  const rec = JSON.parse(v) as HolderRecord;
  if (isProcessAlive(rec.pid, rec.start)) {
    try { process.kill(rec.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  db.prepare('DELETE FROM meta WHERE key = ?').run(KEY);
}

export { totalIds };
