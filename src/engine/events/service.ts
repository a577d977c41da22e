import type { CallerContext } from '../context.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { checkEventFilters, eventMatches, type EventFilters } from './filter.js';
// Static, not loaded on use: follow must take its starting point when it is called, before anything else runs.
import { lastSeq, readEvents, type EngineEvent } from './log.js';

export interface EventQuery {
  /** Events at or after this time (ms since the epoch). */
  since?: number;
  /** Events at or before this time (ms); a follow ends once it has passed. */
  until?: number;
  /** Docker's filters: values of one key OR, keys AND (type, event, container, image, network, volume, label). */
  filters?: EventFilters;
}

/** How often a follower looks for new events: other processes write them, so there is nothing to wait on but the database. */
const POLL_MS = 200;

/** Waits `ms`, or less when the caller goes away. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function checkQuery(req: EventQuery): EventFilters {
  if (req.since !== undefined && req.until !== undefined && req.since > req.until) {
    throw new EngineError(`the since time (${new Date(req.since).toISOString()}) is after the until time (${new Date(req.until).toISOString()}): no event could match`, 1);
  }
  const filters = req.filters ?? {};
  checkEventFilters(filters);
  return filters;
}

/** The engine's event log: what happened to containers, images and networks, for `events` and the API's /events. */
export class EventService {
  constructor(private readonly engine: Engine) {}

  /** The stored events in the window that the filters keep, oldest first. */
  async list(req: EventQuery = {}): Promise<EngineEvent[]> {
    const filters = checkQuery(req);
    return readEvents(this.engine.db, { since: req.since, until: req.until }).filter((ev) => eventMatches(ev, filters));
  }

  /**
   * Docker's event stream: with `since` or `until`, the stored events of
   * that window first; then each new event as it is recorded, until the
   * caller's signal aborts or `until` has passed.
   */
  async *follow(req: EventQuery, ctx: Pick<CallerContext, 'signal'>): AsyncGenerator<EngineEvent, void, undefined> {
    const filters = checkQuery(req);
    const db = this.engine.db;
    const inWindow = (ev: EngineEvent) => (req.since === undefined || ev.time >= req.since) && (req.until === undefined || ev.time <= req.until);
    let after = lastSeq(db);
    if (req.since !== undefined || req.until !== undefined) {
      for (const ev of readEvents(db, { since: req.since, until: req.until })) {
        if (ev.seq <= after && eventMatches(ev, filters)) yield ev;
      }
    }
    for (;;) {
      if (ctx.signal?.aborted) return;
      // Decided before the read: the last read then covers every event written up to `until`.
      const done = req.until !== undefined && Date.now() > req.until;
      for (const ev of readEvents(db, { after })) {
        after = ev.seq;
        if (inWindow(ev) && eventMatches(ev, filters)) yield ev;
        if (ctx.signal?.aborted) return;
      }
      if (done) return;
      await pause(req.until === undefined ? POLL_MS : Math.max(1, Math.min(POLL_MS, req.until - Date.now() + 1)), ctx.signal);
    }
  }
}
