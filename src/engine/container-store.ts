import type { DB } from '../state/db.js';
import type { ContainerSpec } from './container-spec.js';
import { EngineError } from './errors.js';

export type ContainerState = 'created' | 'running' | 'exited' | 'removing';

export interface ContainerRecord {
  id: string;
  name: string;
  imageId: string;
  imageName: string;
  created: number;
  state: ContainerState;
  ownerPid?: number;
  ownerStart?: number;
  exitCode?: number;
  startedAt?: number;
  finishedAt?: number;
  spec: ContainerSpec;
}

interface Row {
  id: string;
  name: string;
  image_id: string;
  image_name: string;
  created: number;
  state: ContainerState;
  owner_pid: number | null;
  owner_start: number | null;
  exit_code: number | null;
  started_at: number | null;
  finished_at: number | null;
  spec: string;
}

function fromRow(r: Row): ContainerRecord {
  return {
    id: r.id,
    name: r.name,
    imageId: r.image_id,
    imageName: r.image_name,
    created: r.created,
    state: r.state,
    ownerPid: r.owner_pid ?? undefined,
    ownerStart: r.owner_start ?? undefined,
    exitCode: r.exit_code ?? undefined,
    startedAt: r.started_at ?? undefined,
    finishedAt: r.finished_at ?? undefined,
    spec: JSON.parse(r.spec) as ContainerSpec,
  };
}

/** Container records in the state database; every change is one transaction. */
export class ContainerStore {
  constructor(private readonly db: DB) {}

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
  }

  markRunning(id: string, ownerPid: number, ownerStart: number | undefined): void {
    this.db.prepare("UPDATE containers SET state = 'running', owner_pid = ?, owner_start = ?, started_at = ?, exit_code = NULL, finished_at = NULL WHERE id = ?")
      .run(ownerPid, ownerStart ?? null, Date.now(), id);
  }

  markExited(id: string, exitCode: number | undefined): void {
    this.db.prepare("UPDATE containers SET state = 'exited', exit_code = ?, finished_at = ?, owner_pid = NULL, owner_start = NULL WHERE id = ? AND state != 'removing'")
      .run(exitCode ?? null, Date.now(), id);
  }

  /** Claims a container for removal; false if it is gone or another process claimed it. */
  claimForRemoval(id: string): boolean {
    return this.db.prepare("UPDATE containers SET state = 'removing' WHERE id = ? AND state != 'removing'").run(id).changes > 0;
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
  }

  get(id: string): ContainerRecord | undefined {
    const r = this.db.prepare('SELECT * FROM containers WHERE id = ?').get(id) as Row | undefined;
    return r && fromRow(r);
  }

  list(): ContainerRecord[] {
    return (this.db.prepare('SELECT * FROM containers ORDER BY created DESC').all() as Row[]).map(fromRow);
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
