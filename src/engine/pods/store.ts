import type { DB } from '../../state/db.js';
import { EngineError } from '../../util/errors.js';

import type { PodShare } from './membership.js';

export { POD_SHARES, type PodShare } from './membership.js';

export interface PodRecord {
  id: string;
  name: string;
  /** The infra container: it holds the shared namespaces and the pod's published ports. */
  infraId: string;
  share: PodShare[];
  labels: Record<string, string>;
  created: number;
}

interface Row { id: string; name: string; infra_id: string; share: string; labels: string; created: number }

function fromRow(r: Row): PodRecord {
  return { id: r.id, name: r.name, infraId: r.infra_id, share: JSON.parse(r.share) as PodShare[], labels: JSON.parse(r.labels) as Record<string, string>, created: r.created };
}

/** A missing pod, as Podman says it (the CLI's exit code 125). */
export class PodNotFoundError extends EngineError {
  constructor(ref: string) {
    super(`no such pod: ${ref}`);
    this.name = 'PodNotFoundError';
  }
}

export class PodStore {
  constructor(private readonly db: DB) {}

  insert(p: PodRecord): void {
    try {
      this.db.prepare('INSERT INTO pods (id, name, infra_id, share, labels, created) VALUES (?, ?, ?, ?, ?, ?)')
        .run(p.id, p.name, p.infraId, JSON.stringify(p.share), JSON.stringify(p.labels), p.created);
    } catch (err) {
      if (/UNIQUE/.test(String(err))) throw new EngineError(`the pod name "${p.name}" is already in use: remove that pod or choose another name`);
      throw err;
    }
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM pods WHERE id = ?').run(id);
  }

  list(): PodRecord[] {
    return (this.db.prepare('SELECT * FROM pods ORDER BY created DESC, rowid DESC').all() as Row[]).map(fromRow);
  }

  byName(name: string): PodRecord | undefined {
    const r = this.db.prepare('SELECT * FROM pods WHERE name = ?').get(name) as Row | undefined;
    return r && fromRow(r);
  }

  /** By name, full id or unique id prefix, as containers are found. */
  find(ref: string): PodRecord | undefined {
    const r = this.db.prepare('SELECT * FROM pods WHERE name = ? OR id = ?').get(ref, ref) as Row | undefined;
    if (r) return fromRow(r);
    if (!/^[a-f0-9]+$/.test(ref)) return undefined;
    const rows = this.db.prepare('SELECT * FROM pods WHERE id LIKE ?').all(`${ref}%`) as Row[];
    if (rows.length > 1) throw new EngineError(`multiple pods match the id prefix "${ref}": give more characters`);
    return rows[0] && fromRow(rows[0]);
  }

  resolve(ref: string): PodRecord {
    const p = this.find(ref);
    if (!p) throw new PodNotFoundError(ref);
    return p;
  }
}
