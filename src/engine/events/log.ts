import type { DB } from '../../state/db.js';
import { signalNumber } from '../../util/proc.js';

/**
 * The engine's event log: one row per thing that happened to a container,
 * image, network or volume, kept in the state database so that every
 * process (the CLI, conmon's exit hook, a later API server) writes to and
 * reads from the same log. The operations record at the lowest place all
 * their callers pass through; `events` and /events read it back.
 */

export type EventType = 'container' | 'image' | 'network' | 'volume';

export interface EngineEvent {
  /** The order events were recorded in: increasing, never reused (also after old events are dropped). */
  seq: number;
  /** When, in ms since the epoch. */
  time: number;
  type: EventType;
  /** create, start, die, pull, tag, connect, ... (Docker's action names). */
  action: string;
  /** The object: a full id (a reference for pull and push) and its attributes (name, image, exitCode, ...). */
  actor: { id: string; attributes: Record<string, string> };
}

export type NewEvent = Omit<EngineEvent, 'seq' | 'time'>;

/**
 * How much of the log is kept: the newest 10,000 events, none older than a
 * week. Older ones are dropped as each event is written (as Podman's file
 * logger rotates), so the table never grows without bound.
 */
export interface EventLimits {
  maxRows: number;
  maxAgeMs: number;
  /** Trim at every Nth event (default every one): the log may hold up to N-1 rows more than maxRows. */
  trimEvery?: number;
}

// Trimmed every 64th event: a `run` records four, and a DELETE at each was
// a third of what its events cost (bench/).
export const EVENT_LIMITS: EventLimits = { maxRows: 10_000, maxAgeMs: 7 * 24 * 3_600_000, trimEvery: 64 };

/** Writes one event and drops what falls outside the limits; returns its seq. */
export function appendEvent(db: DB, ev: NewEvent, limits: EventLimits = EVENT_LIMITS, now = Date.now()): number {
  const seq = Number(db.prepare('INSERT INTO events (time, type, action, actor_id, attributes) VALUES (?, ?, ?, ?, ?)')
    .run(now, ev.type, ev.action, ev.actor.id, JSON.stringify(ev.actor.attributes)).lastInsertRowid);
  if (seq % (limits.trimEvery ?? 1) === 0) db.prepare('DELETE FROM events WHERE seq <= ? OR time < ?').run(seq - limits.maxRows, now - limits.maxAgeMs);
  return seq;
}

/**
 * What an event says of a container: a structural type rather than the
 * store's record, because the container store records events itself (an
 * import of it here would be a cycle).
 */
export interface EventContainer {
  id: string;
  name: string;
  imageName: string;
  spec: { labels: Record<string, string> };
}

/**
 * Records an event for an operation that has happened. Best effort: an
 * operation that succeeded must not be reported as failed because its
 * event could not be written (a busy or full database).
 */
export function recordEvent(engine: { db: DB }, ev: NewEvent): void {
  try {
    appendEvent(engine.db, ev);
  } catch { /* the operation stands; only its event is missing */ }
}

interface Row {
  seq: number;
  time: number;
  type: EventType;
  action: string;
  actor_id: string;
  attributes: string;
}

function fromRow(r: Row): EngineEvent {
  return { seq: r.seq, time: r.time, type: r.type, action: r.action, actor: { id: r.actor_id, attributes: JSON.parse(r.attributes) as Record<string, string> } };
}

/** Stored events after seq `after`, with `since <= time <= until` (ms), oldest first. */
export function readEvents(db: DB, q: { after?: number; since?: number; until?: number } = {}): EngineEvent[] {
  const rows = db.prepare('SELECT * FROM events WHERE seq > ? AND time >= ? AND time <= ? ORDER BY seq')
    .all(q.after ?? 0, q.since ?? 0, q.until ?? Number.MAX_SAFE_INTEGER) as Row[];
  return rows.map(fromRow);
}

/** The seq of the newest event (0 when there is none): a follower starts after it. */
export function lastSeq(db: DB): number {
  const r = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as { seq: number } | undefined;
  return r?.seq ?? 0;
}

/** A container event: its name and image, its labels (as Docker gives them), and `extra` (exitCode, signal, ...). */
export function containerEvent(rec: EventContainer, action: string, extra: Record<string, string | number | undefined> = {}): NewEvent {
  const attributes: Record<string, string> = { ...rec.spec.labels, image: rec.imageName, name: rec.name };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) attributes[k] = String(v);
  return { type: 'container', action, actor: { id: rec.id, attributes } };
}

/** For code that holds only the database (the container store); a record that is gone gets no event. */
export function recordContainerEvent(db: DB, rec: EventContainer | undefined, action: string, extra: Record<string, string | number | undefined> = {}): void {
  if (rec) recordEvent({ db }, containerEvent(rec, action, extra));
}

/** An image event: the image id (or, for pull and push, the reference) and the name it concerns. */
export function imageEvent(id: string, action: string, name: string): NewEvent {
  return { type: 'image', action, actor: { id, attributes: { name } } };
}

/** A network event: the network's id, name and driver; connect and disconnect name the container. */
export function networkEvent(net: { id: string; name: string; driver: string }, action: string, container?: string): NewEvent {
  return { type: 'network', action, actor: { id: net.id, attributes: { name: net.name, type: net.driver, ...(container ? { container } : {}) } } };
}

/** A kill event's signal as Docker gives it, by number ("15"); a name only where no number is known (RTMIN+3). */
export function signalAttr(sig: string): string {
  return /^\d+$/.test(sig) ? sig : String(signalNumber(sig) || sig);
}
