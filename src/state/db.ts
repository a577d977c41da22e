import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError, errorMessage } from '../engine/errors.js';

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
];

export function openDb(file: string): DB {
  let db: DB;
  try {
    const binding = nativeBinding();
    db = new Database(file, binding ? { nativeBinding: binding } : {});
  } catch (err) {
    throw new EngineError(`cannot open the state database ${file}: ${errorMessage(err)}`);
  }
  // WAL lets readers run beside one writer; NORMAL keeps commits atomic
  // across a crash of rootlet (not of the machine) without an fsync each.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
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
