import Database from 'better-sqlite3';
import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError, errorMessage } from '../util/errors.js';

export type DB = Database.Database;

/**
 * The addon sits beside the bundle (dist/) or one level up (build/ for
 * bundled tests); load it by path so no module resolution runs at start-up.
 */
function nativeBinding(): string | undefined {
  if (process.env.ROOTLET_SQLITE_ADDON) return process.env.ROOTLET_SQLITE_ADDON;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 3; i++) {
    const p = join(dir, 'better_sqlite3.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE images (
     id TEXT PRIMARY KEY,            -- sha256 digest of the config blob
     manifest_digest TEXT NOT NULL,
     created INTEGER NOT NULL,       -- ms since epoch
     config TEXT NOT NULL,           -- the OCI image config, JSON
     layers TEXT NOT NULL,           -- JSON array of diff ids, bottom first
     size INTEGER NOT NULL
   );
   CREATE TABLE tags (
     name TEXT PRIMARY KEY,          -- normalized reference, e.g. docker.io/library/busybox:latest
     image_id TEXT NOT NULL REFERENCES images(id)
   );
   CREATE INDEX tags_image ON tags(image_id);
   CREATE TABLE layers (
     diff_id TEXT PRIMARY KEY,
     size INTEGER NOT NULL,
     created INTEGER NOT NULL
   );
   CREATE TABLE containers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     image_id TEXT NOT NULL,
     image_name TEXT NOT NULL,
     created INTEGER NOT NULL,
     state TEXT NOT NULL,            -- created | running | exited | removing
     owner_pid INTEGER,              -- the rootlet process running it in the foreground
     owner_start INTEGER,
     exit_code INTEGER,
     started_at INTEGER,
     finished_at INTEGER,
     spec TEXT NOT NULL              -- ContainerSpec, JSON
   );
   CREATE INDEX containers_image ON containers(image_id);`,
  // Detached containers: their monitor (conmon), main process and restart bookkeeping.
  `ALTER TABLE containers ADD COLUMN conmon_pid INTEGER;
   ALTER TABLE containers ADD COLUMN conmon_start INTEGER;
   ALTER TABLE containers ADD COLUMN pid INTEGER;
   ALTER TABLE containers ADD COLUMN restart_count INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE containers ADD COLUMN stopped_by_user INTEGER NOT NULL DEFAULT 0;`,
  // Health checks: the last verdict, how many probes failed in a row, the last results.
  `ALTER TABLE containers ADD COLUMN health_status TEXT;
   ALTER TABLE containers ADD COLUMN health_streak INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE containers ADD COLUMN health_log TEXT;`,
  // Which run of a detached container its exit hook belongs to: a late hook must not touch the next run.
  `ALTER TABLE containers ADD COLUMN run_token TEXT;`,
  // Which extracted layer a stored layer blob unpacks to: a pull skips a layer it already has.
  `CREATE TABLE IF NOT EXISTS layer_blobs (digest TEXT PRIMARY KEY, diff_id TEXT NOT NULL, blob_size INTEGER NOT NULL, tar_size INTEGER NOT NULL);`,
  // Networks (named, and the default one), each running container's place on them, and its
  // per-run network state (the published ports as bound, the port forwarder, a stack of its own).
  `CREATE TABLE networks (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     driver TEXT NOT NULL,
     subnet TEXT NOT NULL,
     gateway TEXT NOT NULL,
     internal INTEGER NOT NULL,
     labels TEXT NOT NULL,           -- JSON object
     created INTEGER NOT NULL,
     stack_pid INTEGER,              -- the network's user-mode stack (pasta or slirp4netns) while it is up
     stack_start INTEGER,
     host_addr TEXT                  -- where the host answers, as containers reach it
   );
   CREATE TABLE endpoints (
     container_id TEXT NOT NULL,
     network_id TEXT NOT NULL REFERENCES networks(id),
     ip TEXT NOT NULL,
     mac TEXT NOT NULL,
     iface TEXT NOT NULL,            -- eth0, eth1, ... in the container
     aliases TEXT NOT NULL,          -- JSON array
     PRIMARY KEY (container_id, network_id),
     UNIQUE (network_id, ip)
   );
   CREATE TABLE net_runs (
     container_id TEXT PRIMARY KEY,
     netns TEXT,                     -- the container's network namespace file, when rootlet made one
     ports TEXT NOT NULL,            -- JSON PortBinding[] as bound (free ports resolved)
     fwd_pid INTEGER,
     fwd_start INTEGER,
     stack_pid INTEGER,              -- --network pasta|slirp4netns: the container's own stack
     stack_start INTEGER,
     owner_pid INTEGER,              -- the rootlet that set it up: if it died before the container ran, the next look removes it
     owner_start INTEGER
   );`,
  // 6: the exit codes of removed containers, for a `wait` that was still looking when an --rm container went.
  `CREATE TABLE removed_exits (
     id TEXT PRIMARY KEY,
     exit_code INTEGER NOT NULL,
     removed_at INTEGER NOT NULL
   );`,
  // 7: the engine's event log (engine/events/log.ts), bounded at each insert. AUTOINCREMENT: a seq is never
  // reused after old events are dropped, so a follower's "after seq N" cursor stays right.
  `CREATE TABLE IF NOT EXISTS events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     time INTEGER NOT NULL,          -- ms since epoch
     type TEXT NOT NULL,             -- container | image | network | volume
     action TEXT NOT NULL,
     actor_id TEXT NOT NULL,
     attributes TEXT NOT NULL        -- JSON object of strings
   );
   CREATE INDEX IF NOT EXISTS events_time ON events(time);`,
  // 8: container states are explicit (engine/containers/transitions.ts): a run that a stop has marked is "stopping".
  `UPDATE containers SET state = 'stopping' WHERE state = 'running' AND stopped_by_user = 1;`,
  // 9: pods (engine/pods/): the members find theirs by their spec's pod id; the infra container holds the namespaces.
  `CREATE TABLE IF NOT EXISTS pods (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     infra_id TEXT NOT NULL,
     share TEXT NOT NULL,            -- JSON array: net, ipc, uts
     labels TEXT NOT NULL,           -- JSON object
     created INTEGER NOT NULL
   );`,
  // 10: a process that keeps a network up between its containers (a build's RUN steps, engine/networks/endpoints.ts):
  // the network's stack stays while an endpoint or a living holder's hold is on it.
  `CREATE TABLE IF NOT EXISTS network_holds (
     network_id TEXT NOT NULL,
     owner_pid INTEGER NOT NULL,
     owner_start INTEGER,
     PRIMARY KEY (network_id, owner_pid)
   );`,
];

/** The command that rebuilds a damaged state database from the store (src/engine/system/store-recover.ts). */
export const RECOVER_COMMAND = 'rootlet system recover';

export interface OpenOptions {
  /**
   * Called when the database is new (missing, or an empty file) before
   * anything is written to it: throws to refuse a fresh database where the
   * store says there was state (a lost database must not look like an empty store).
   */
  onFresh?: (how: 'missing' | 'empty') => void;
}

export function openDb(file: string, opts: OpenOptions = {}): DB {
  const existed = existsSync(file);
  let db = openFile(file);
  try {
    let version: number;
    try {
      version = firstRead(db);
    } catch (err) {
      // Full disk: the first process to open a WAL database regrows its shared-memory file, which needs space.
      // Exclusive locking keeps that index in our memory instead, so reads still work; writes fail as "no space".
      if (!isFull(err)) throw err;
      db.close();
      db = openFile(file);
      db.pragma('locking_mode = EXCLUSIVE');
      version = firstRead(db);
    }
    // Before anything is written: a refused database stays as it was found (a missing one is not created).
    if (version === 0 && opts.onFresh) {
      try {
        opts.onFresh(existed ? 'empty' : 'missing');
      } catch (err) {
        if (!existed && statSync(file).size === 0) rmSync(file, { force: true });
        throw err;
      }
    }
    configure(db);
    migrate(db);
  } catch (err) {
    try { db.close(); } catch { /* already failing */ }
    throw translateSqliteError(err, file);
  }
  guard(db, file);
  return db;
}

function openFile(file: string): DB {
  try {
    const binding = nativeBinding();
    return new Database(file, binding ? { nativeBinding: binding } : {});
  } catch (err) {
    throw translateSqliteError(err, file, `cannot open the state database ${file}: `);
  }
}

/** The schema version: the first read, which writes nothing. */
function firstRead(db: DB): number {
  db.pragma('busy_timeout = 10000');
  return db.pragma('user_version', { simple: true }) as number;
}

function configure(db: DB): void {
  // WAL lets readers run beside one writer; NORMAL keeps commits atomic
  // across a crash of rootlet (not of the machine) without an fsync each.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
}

function sqliteCode(err: unknown): string {
  return typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
}

/** SQLite found the file damaged (a page overwritten, not a database at all). */
export function isCorrupt(err: unknown): boolean {
  const code = sqliteCode(err);
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || /malformed|file is not a database/.test(errorMessage(err));
}

/** SQLite could not write for want of space (the WAL, its index or the database file). */
export function isFull(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE' || code === 'ENOSPC';
}

export function damagedMessage(file: string, why: string): string {
  return `the state database ${file} is damaged (${why}): run \`${RECOVER_COMMAND}\` to keep it aside and rebuild the state from the store`;
}

export function fullMessage(file: string): string {
  return `no space left on ${dirname(file)}: the state database cannot be written; free some space and try again`;
}

/** The one line the user sees for a damaged database or a full disk; other errors pass unchanged. */
export function translateSqliteError(err: unknown, file: string, prefix = ''): unknown {
  if (err instanceof EngineError) return err;
  const out = isCorrupt(err) ? new EngineError(damagedMessage(file, errorMessage(err)))
    : isFull(err) ? new EngineError(fullMessage(file)) : undefined;
  if (out) return Object.assign(out, { cause: err });
  return prefix ? new EngineError(`${prefix}${errorMessage(err)}`) : err;
}

/** How many compiled statements a connection keeps (guard): far more than the distinct queries rootlet asks. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Every statement, pragma and transaction of this connection reports a
 * damaged database or a full disk as one line naming the file: they can
 * surface at any read (a damaged page) or commit (the WAL grows), not only at open.
 */
function guard(db: DB, file: string): void {
  const wrap = <F extends (...a: never[]) => unknown>(f: F, self: unknown): F => (function (this: unknown, ...a: Parameters<F>) {
    try {
      return f.apply(self, a);
    } catch (err) {
      throw translateSqliteError(err, file);
    }
  }) as F;
  const prepare = db.prepare;
  // Each statement is compiled once per connection: a look over many containers asks the same few
  // queries once per row, and compiling them again each time was most of what that cost. Safe to
  // share because nothing here changes a statement's mode (pluck, raw, expand) or iterates one.
  const statements = new Map<string, Database.Statement>();
  db.prepare = function (this: DB, source: string) {
    const cached = statements.get(source);
    if (cached) return cached;
    let stmt;
    try {
      stmt = prepare.call(db, source);
    } catch (err) {
      throw translateSqliteError(err, file);
    }
    const s = stmt as unknown as Record<string, unknown>;
    for (const m of ['run', 'get', 'all', 'iterate']) s[m] = wrap(s[m] as (...a: never[]) => unknown, stmt);
    // Bounded: statements built from values (none today) must not grow it without end.
    if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
    statements.set(source, stmt);
    return stmt;
  } as DB['prepare'];
  db.exec = wrap(db.exec, db);
  db.pragma = wrap(db.pragma, db);
  const transaction = db.transaction;
  db.transaction = function (this: DB, fn: (...a: never[]) => unknown) {
    const t = transaction.call(db, fn) as unknown as Record<string, unknown>;
    const out = wrap(t as unknown as (...a: never[]) => unknown, t) as unknown as Record<string, unknown>;
    for (const m of ['deferred', 'immediate', 'exclusive']) out[m] = wrap(t[m] as (...a: never[]) => unknown, t);
    return out;
  } as unknown as DB['transaction'];
}

/** SQLite's own verdict on the file (PRAGMA quick_check): undefined when sound, else its first finding. */
export function checkIntegrity(db: DB): string | undefined {
  try {
    const rows = db.prepare('PRAGMA quick_check').all() as Array<{ quick_check: string }>;
    const first = rows[0]?.quick_check;
    return first === 'ok' ? undefined : rows.map((r) => r.quick_check).slice(0, 3).join('; ');
  } catch (err) {
    return errorMessage((err as { cause?: unknown }).cause ?? err);
  }
}

function migrate(db: DB): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= MIGRATIONS.length) return;
  db.transaction(() => {
    // Re-read inside the write lock: another rootlet may have migrated meanwhile.
    const v = db.pragma('user_version', { simple: true }) as number;
    for (let i = v; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

export function getMeta(db: DB, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: DB, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
