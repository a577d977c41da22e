import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DB } from '../../state/db.js';
import { asNoSpace } from '../../util/no-space.js';
import { legacyNetworkSpec, type ContainerSpec } from './spec.js';
import { EngineError } from '../../util/errors.js';
import { recordContainerEvent } from '../events/log.js';
import { MOVES, STOP_MOVES, parsePhase, visibleState, type ContainerPhase, type MoveName, type VisibleState } from './transitions.js';

/** Docker's states, as ps, inspect and wait show them; the row's exact state is `phase` (transitions.ts). */
export type ContainerState = VisibleState;

export interface ContainerRecord {
  id: string;
  name: string;
  imageId: string;
  imageName: string;
  created: number;
  state: ContainerState;
  /** The state as the database holds it (transitions.ts); absent on a record not read from it. */
  phase?: ContainerPhase;
  /** The rootlet process running it in the foreground (no monitor). */
  ownerPid?: number;
  ownerStart?: number;
  /** The monitor (conmon) of a detached container. */
  conmonPid?: number;
  conmonStart?: number;
  /** The container's main process, as the host sees it. */
  pid?: number;
  /** Names the current detached run (its exit hook carries it). */
  runToken?: string;
  exitCode?: number;
  startedAt?: number;
  finishedAt?: number;
  restartCount: number;
  /** Set by stop/kill: the restart policy must not bring it back (unless-stopped, always). */
  stoppedByUser: boolean;
  /** Set once a container with a health check has started. */
  health?: HealthState;
  spec: ContainerSpec;
}

export interface HealthResult {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface HealthState {
  status: 'starting' | 'healthy' | 'unhealthy';
  failingStreak: number;
  log: HealthResult[];
}

interface Row {
  id: string;
  name: string;
  image_id: string;
  image_name: string;
  created: number;
  state: string;
  owner_pid: number | null;
  owner_start: number | null;
  conmon_pid: number | null;
  conmon_start: number | null;
  pid: number | null;
  exit_code: number | null;
  started_at: number | null;
  finished_at: number | null;
  restart_count: number;
  stopped_by_user: number;
  health_status: string | null;
  health_streak: number;
  health_log: string | null;
  run_token: string | null;
  spec: string;
}

function fromRow(r: Row): ContainerRecord {
  return {
    id: r.id,
    name: r.name,
    imageId: r.image_id,
    imageName: r.image_name,
    created: r.created,
    state: visibleState(parsePhase(r.state)),
    phase: parsePhase(r.state),
    ownerPid: r.owner_pid ?? undefined,
    ownerStart: r.owner_start ?? undefined,
    conmonPid: r.conmon_pid ?? undefined,
    conmonStart: r.conmon_start ?? undefined,
    pid: r.pid ?? undefined,
    runToken: r.run_token ?? undefined,
    exitCode: r.exit_code ?? undefined,
    startedAt: r.started_at ?? undefined,
    finishedAt: r.finished_at ?? undefined,
    restartCount: r.restart_count,
    stoppedByUser: r.stopped_by_user !== 0,
    health: r.health_status
      ? { status: r.health_status as HealthState['status'], failingStreak: r.health_streak, log: r.health_log ? JSON.parse(r.health_log) as HealthResult[] : [] }
      : undefined,
    spec: normalizeSpec(JSON.parse(r.spec) as Partial<ContainerSpec>),
  };
}

/** Specs stored by earlier versions lack later fields: give them the defaults those versions ran with. */
export function normalizeSpec(s: Partial<ContainerSpec>): ContainerSpec {
  return {
    ...s,
    args: s.args ?? [],
    env: s.env ?? [],
    mounts: s.mounts ?? [],
    volumes: s.volumes ?? [],
    restart: s.restart ?? { name: 'no', maxRetries: 0 },
    stopSignal: s.stopSignal ?? 'SIGTERM',
    stopTimeout: s.stopTimeout ?? 10,
    labels: s.labels ?? {},
    resources: s.resources ?? {},
    net: s.net ?? legacyNetworkSpec(s.network),
  } as ContainerSpec;
}

/** How long the exit code of a removed container is kept for `wait`. */
const REMOVED_EXIT_KEPT_MS = 10 * 60_000;

/**
 * Each container's directory keeps a copy of what made it (id, name,
 * image, creation time, spec) in this file, rewritten on rename and
 * network changes: the state database can be rebuilt from it when lost
 * (`system recover`, store-recover.ts). Run state is not kept here: the
 * runtime and the exit files know it.
 */
export const RECORD_FILE = 'record.json';

export interface RecordFile {
  id: string;
  name: string;
  imageId: string;
  imageName: string;
  created: number;
  spec: ContainerSpec;
  /** The last run's end, when it was recorded (a foreground run leaves no exit file). */
  exitCode?: number;
  finishedAt?: number;
}

export function readRecordFile(dir: string): RecordFile | undefined {
  try {
    const r = JSON.parse(readFileSync(join(dir, RECORD_FILE), 'utf8')) as RecordFile;
    return r && typeof r.id === 'string' && typeof r.name === 'string' && r.spec ? { ...r, spec: normalizeSpec(r.spec) } : undefined;
  } catch {
    return undefined;
  }
}

/** The record states of a container that runs: what max_containers counts. */
const RUNNING_STATES = "('running', 'stopping')";

/** Container records in the state database; every change is one transaction. */
export class ContainerStore {
  constructor(private readonly db: DB) {}

  /** The container directories lie beside the database (paths.ts). */
  private containerDir(id: string): string {
    return join(dirname(this.db.name), 'containers', id);
  }

  /**
   * Writes the record file atomically. Only `insert` makes the directory:
   * a rewrite that races with the container's removal must not bring its
   * directory back.
   */
  private writeRecordFile(r: RecordFile, makeDir = false): void {
    const dir = this.containerDir(r.id);
    const file = join(dir, RECORD_FILE);
    const tmp = `${file}.tmp`;
    if (!makeDir && !existsSync(dir)) return;
    const made = mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(tmp, JSON.stringify(r), { mode: 0o600 });
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      if (made) rmSync(dir, { recursive: true, force: true });
      throw asNoSpace(err, dirname(dir));
    }
  }

  private rewriteRecordFile(id: string): void {
    const c = this.get(id);
    if (c) this.writeRecordFile({ id: c.id, name: c.name, imageId: c.imageId, imageName: c.imageName, created: c.created, spec: c.spec, exitCode: c.exitCode, finishedAt: c.finishedAt });
  }

  /**
   * The database row first, then the record file: rootlet killed between
   * the two leaves a record that `rm` removes (with no file, recovery could
   * not bring it back), never a directory that no record names. A record
   * file that cannot be written (a full disk) takes the row back.
   */
  insert(c: ContainerRecord): void {
    try {
      this.db.prepare(`INSERT INTO containers (id, name, image_id, image_name, created, state, spec)
        VALUES (?, ?, ?, ?, ?, ?, ?)`).run(c.id, c.name, c.imageId, c.imageName, c.created, c.state, JSON.stringify(c.spec));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const other = this.db.prepare('SELECT id FROM containers WHERE name = ?').get(c.name) as { id: string } | undefined;
        throw new EngineError(`the container name "/${c.name}" is already in use by container "${other?.id ?? '?'}": remove (or rename) that container to reuse the name`);
      }
      throw err;
    }
    try {
      this.writeRecordFile({ id: c.id, name: c.name, imageId: c.imageId, imageName: c.imageName, created: c.created, spec: c.spec }, true);
    } catch (err) {
      this.db.prepare('DELETE FROM containers WHERE id = ?').run(c.id);
      throw err;
    }
  }

  /**
   * One move of transitions.ts as one conditional UPDATE: it applies only
   * while the row is in a state the move starts from (and, with a run
   * token, still names that run), so of two processes racing for a
   * container exactly one wins. `set` adds columns the move writes.
   * Returns whether it applied.
   */
  private move(id: string, name: MoveName, opts: { runToken?: string | null; set?: Record<string, unknown>; setSql?: string; maxRunning?: number } = {}): boolean {
    const m = MOVES[name];
    if (m.sameRun && opts.runToken === undefined) throw new Error(`the ${name} move needs the run it acts on`);
    const sets: string[] = [];
    const params: unknown[] = [];
    if (m.to) sets.push(`state = '${m.to}'`);
    if (m.stoppedByUser) sets.push(`stopped_by_user = ${m.stoppedByUser === 'set' ? 1 : 0}`);
    for (const [col, value] of Object.entries(opts.set ?? {})) {
      sets.push(`${col} = ?`);
      params.push(value);
    }
    if (opts.setSql) sets.push(opts.setSql);
    let where = `id = ? AND state IN (${m.from.map((p) => `'${p}'`).join(', ')})`;
    params.push(id);
    if (opts.runToken !== undefined) {
      where += ' AND run_token IS ?';
      params.push(opts.runToken);
    }
    if (m.unlessStopped) where += ' AND stopped_by_user = 0';
    if (opts.maxRunning !== undefined) {
      // In the same statement, so two starts at once cannot both see room for one more (SQLite runs writes one at a time).
      where += ` AND (SELECT COUNT(*) FROM containers WHERE state IN ${RUNNING_STATES} AND id != ?) < ?`;
      params.push(id, opts.maxRunning);
    }
    return this.db.prepare(`UPDATE containers SET ${sets.join(', ')} WHERE ${where}`).run(...params).changes > 0;
  }

  /**
   * A foreground run's second watcher: the shell that waits for the runtime
   * and records its exit code (containers/bundle.ts). It outlives a killed
   * rootlet, so the record stays "running" until the code is written.
   */
  setForegroundMonitor(id: string, pid: number, start: number | undefined): void {
    this.db.prepare("UPDATE containers SET conmon_pid = ?, conmon_start = ? WHERE id = ? AND state IN ('running', 'stopping')").run(pid, start ?? null, id);
  }

  /**
   * Running in the foreground under this rootlet process (the start move).
   * `maxRunning`: the move applies only while fewer other containers run
   * (the admin policy's max_containers).
   */
  markRunning(id: string, ownerPid: number, ownerStart: number | undefined, maxRunning?: number): boolean {
    return this.move(id, 'start', {
      set: { owner_pid: ownerPid, owner_start: ownerStart ?? null, conmon_pid: null, conmon_start: null, started_at: Date.now(), exit_code: null, finished_at: null },
      ...(maxRunning !== undefined ? { maxRunning } : {}),
    });
  }

  /** How many other containers run (or are being stopped): what a start's `maxRunning` counts. */
  countRunning(except: string): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM containers WHERE state IN ${RUNNING_STATES} AND id != ?`).get(except) as { n: number }).n;
  }

  /**
   * A detached start under way: until its monitor is known the starting
   * rootlet watches it, so a starter killed mid-way leaves a record that
   * ps settles (through the runtime) and stop and rm can act on. A user's
   * start moves from created, exited or a scheduled restart; the exit
   * hook's (`restartOf`: the run that ended) only from the restart it
   * scheduled, which a stop or start meanwhile has taken. Returns whether
   * this start won.
   */
  markStarting(id: string, runToken: string, ownerPid: number, ownerStart: number | undefined, restartOf?: string, maxRunning?: number): boolean {
    const set: Record<string, unknown> = {
      owner_pid: ownerPid, owner_start: ownerStart ?? null, conmon_pid: null, conmon_start: null, pid: null,
      run_token: runToken, started_at: Date.now(), exit_code: null, finished_at: null,
    };
    // A restart by the policy is not limited: the container was running, and counted, until it ended.
    if (restartOf === undefined) return this.move(id, 'start', { set, ...(maxRunning !== undefined ? { maxRunning } : {}) });
    return this.move(id, 'restart', { runToken: restartOf, set, setSql: 'restart_count = restart_count + 1' });
  }

  /**
   * Running detached under its monitor. Not a move: a stop that came while
   * it started keeps the row "stopping" (the starter sees it and does not
   * start it). Returns whether the run is still this one.
   */
  markDetached(id: string, conmonPid: number, conmonStart: number | undefined, pid: number, runToken: string): boolean {
    return this.db.prepare(`UPDATE containers SET owner_pid = NULL, owner_start = NULL, conmon_pid = ?, conmon_start = ?, pid = ?,
      started_at = ?, exit_code = NULL, finished_at = NULL WHERE id = ? AND run_token IS ? AND state IN ('running', 'stopping')`)
      .run(conmonPid, conmonStart ?? null, pid, Date.now(), id, runToken).changes > 0;
  }

  /** Records the end of a run; a container being removed keeps that state. Returns whether it was running. */
  markExited(id: string, exitCode: number | undefined, finishedAt = Date.now(), runToken?: string | null): boolean {
    // With a run token, only that run: a look that read the record before a restart must not end the next run.
    const ended = this.move(id, 'exit', {
      runToken,
      set: { exit_code: exitCode ?? null, finished_at: finishedAt, owner_pid: null, owner_start: null, conmon_pid: null, conmon_start: null, pid: null },
    });
    // Once per run: only the look that ended it gets here (the move above is its own test).
    if (ended) recordContainerEvent(this.db, this.get(id), 'die', { exitCode });
    if (ended && exitCode !== undefined) {
      // For recovery only: the database has the end recorded; a record file that cannot be written must not undo that.
      try { this.rewriteRecordFile(id); } catch { /* full disk: recovery would show the exit code as unknown */ }
    }
    return ended;
  }

  /**
   * stop and kill -9, before they signal anything: a running container
   * becomes "stopping", a restart scheduled between two runs is cancelled,
   * and one that does not run is marked so that no policy brings it back.
   * One transaction: the exit hook cannot move the row between the tries.
   * Returns the state it left (undefined: gone).
   */
  requestStop(id: string): ContainerPhase | undefined {
    return this.db.transaction(() => {
      for (const m of STOP_MOVES) if (this.move(id, m)) break;
      return this.get(id)?.phase;
    }).immediate();
  }

  /**
   * The exit hook's decision to restart the run that ended: only that run,
   * only once it is recorded as ended, and only if no stop marked it, all
   * in the same UPDATE. Returns whether the restart is scheduled.
   */
  scheduleRestart(id: string, runToken: string): boolean {
    return this.move(id, 'scheduleRestart', { runToken });
  }

  /** The run state found on disk and in the runtime when the database is rebuilt (store-recover.ts). */
  restoreRunState(id: string, s: { state: ContainerState; pid?: number; conmonPid?: number; conmonStart?: number; runToken?: string; exitCode?: number; startedAt?: number; finishedAt?: number }): void {
    this.db.prepare(`UPDATE containers SET state = ?, pid = ?, conmon_pid = ?, conmon_start = ?, run_token = ?, exit_code = ?, started_at = ?, finished_at = ?
      WHERE id = ?`).run(s.state, s.pid ?? null, s.conmonPid ?? null, s.conmonStart ?? null, s.runToken ?? null, s.exitCode ?? null, s.startedAt ?? null, s.finishedAt ?? null, id);
    this.rewriteRecordFile(id);
  }

  /** A new run starts its health from scratch (only for containers that have a check). */
  resetHealth(id: string, hasCheck: boolean): void {
    this.db.prepare('UPDATE containers SET health_status = ?, health_streak = 0, health_log = NULL WHERE id = ?').run(hasCheck ? 'starting' : null, id);
  }

  saveHealth(id: string, h: HealthState): void {
    this.db.prepare('UPDATE containers SET health_status = ?, health_streak = ?, health_log = ? WHERE id = ?').run(h.status, h.failingStreak, JSON.stringify(h.log), id);
  }

  /** The mark of a stop without its signal (requestStop). */
  setStoppedByUser(id: string): void {
    this.requestStop(id);
  }

  /** Replaces the stored spec (network connect/disconnect change the networks joined). */
  updateSpec(id: string, spec: ContainerSpec): void {
    this.db.prepare('UPDATE containers SET spec = ? WHERE id = ?').run(JSON.stringify(spec), id);
    this.rewriteRecordFile(id);
  }

  rename(id: string, name: string): void {
    const oldName = this.get(id)?.name;
    try {
      this.db.prepare('UPDATE containers SET name = ? WHERE id = ?').run(name, id);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new EngineError(`the container name "/${name}" is already in use: choose another`);
      throw err;
    }
    recordContainerEvent(this.db, this.get(id), 'rename', { oldName });
    this.rewriteRecordFile(id);
  }

  /**
   * Claims a container for removal, recording the remover so that a removal
   * cut short (kill -9) is finished by whoever looks next; false if it is
   * gone or a live process claimed it.
   */
  claimForRemoval(id: string, remover: { pid: number; start: number | undefined }, removerAlive: (pid: number, start?: number) => boolean): boolean {
    return this.db.transaction(() => {
      const r = this.db.prepare('SELECT state, owner_pid, owner_start FROM containers WHERE id = ?').get(id) as
        { state: string; owner_pid: number | null; owner_start: number | null } | undefined;
      if (!r) return false;
      if (r.state === 'removing' && r.owner_pid && removerAlive(r.owner_pid, r.owner_start ?? undefined)) return false;
      this.db.prepare("UPDATE containers SET state = 'removing', owner_pid = ?, owner_start = ? WHERE id = ?").run(remover.pid, remover.start ?? null, id);
      return true;
    }).immediate();
  }

  /**
   * Deletes the record. The exit code of a run that ended stays readable
   * for a while (removedExitCode): `wait` on an --rm container must get it
   * however fast the exit hook removes the container.
   */
  delete(id: string): void {
    this.db.transaction(() => {
      const now = Date.now();
      this.db.prepare('DELETE FROM removed_exits WHERE removed_at < ?').run(now - REMOVED_EXIT_KEPT_MS);
      this.db.prepare(`INSERT OR REPLACE INTO removed_exits (id, exit_code, removed_at)
        SELECT id, exit_code, ? FROM containers WHERE id = ? AND exit_code IS NOT NULL`).run(now, id);
      this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
    }).immediate();
  }

  removedExitCode(id: string): number | undefined {
    const r = this.db.prepare('SELECT exit_code FROM removed_exits WHERE id = ?').get(id) as { exit_code: number } | undefined;
    return r?.exit_code;
  }

  get(id: string): ContainerRecord | undefined {
    const r = this.db.prepare('SELECT * FROM containers WHERE id = ?').get(id) as Row | undefined;
    return r && fromRow(r);
  }

  list(): ContainerRecord[] {
    return (this.db.prepare('SELECT * FROM containers ORDER BY created DESC, rowid DESC').all() as Row[]).map(fromRow);
  }

  /** By exact name, full id, or unique id prefix, as Docker finds containers. */
  find(ref: string): ContainerRecord | undefined {
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byName = this.db.prepare('SELECT * FROM containers WHERE name = ? OR id = ?').get(name, ref) as Row | undefined;
    if (byName) return fromRow(byName);
    if (!/^[a-f0-9]+$/.test(ref)) return undefined;
    const rows = this.db.prepare('SELECT * FROM containers WHERE id LIKE ?').all(`${ref}%`) as Row[];
    if (rows.length > 1) throw new EngineError(`multiple containers match the id prefix "${ref}": give more characters`);
    return rows[0] && fromRow(rows[0]);
  }

  resolve(ref: string): ContainerRecord {
    const c = this.find(ref);
    if (!c) throw new EngineError(`No such container: ${ref}`);
    return c;
  }
}
