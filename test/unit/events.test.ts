import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openDb, type DB } from '../../src/state/db.js';
import { appendEvent, containerEvent, imageEvent, lastSeq, networkEvent, readEvents, recordEvent, signalAttr, type EngineEvent, type NewEvent } from '../../src/engine/events/log.js';
import { checkEventFilters, eventMatches, type EventFilters } from '../../src/engine/events/filter.js';
import { dockerMessage } from '../../src/engine/events/message.js';
import { EventService } from '../../src/engine/events/service.js';
import type { Engine } from '../../src/engine/engine.js';
import { eventLine, eventTime } from '../../src/cli/events.js';
import { EngineError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'rootlet-events-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshDb = (): DB => openDb(join(dir, `s${n++}.db`));

const ctr = { id: 'a'.repeat(64), name: 'web', imageName: 'busybox:latest', spec: { labels: { tier: 'front' } } } as unknown as Parameters<typeof containerEvent>[0];
const ev = (e: NewEvent, seq = 1, time = 1_000): EngineEvent => ({ ...e, seq, time });

describe('event log: storage and bounds', () => {
  test('events come back in the order written, with their attributes, and since/until select a window', () => {
    const db = freshDb();
    appendEvent(db, containerEvent(ctr, 'create'), undefined, 1_000);
    appendEvent(db, containerEvent(ctr, 'die', { exitCode: 3, unset: undefined }), undefined, 2_000);
    appendEvent(db, imageEvent('sha256:1', 'tag', 'x:1'), undefined, 3_000);
    const all = readEvents(db);
    assert.deepEqual(all.map((e) => e.action), ['create', 'die', 'tag']);
    assert.deepEqual(all[1]!.actor, { id: ctr.id, attributes: { tier: 'front', image: 'busybox:latest', name: 'web', exitCode: '3' } });
    assert.deepEqual(readEvents(db, { since: 2_000, until: 2_000 }).map((e) => e.action), ['die']);
    assert.deepEqual(readEvents(db, { after: all[1]!.seq }).map((e) => e.action), ['tag']);
    db.close();
  });

  test('the log keeps only the newest maxRows events, and its sequence is never reused after old ones go', () => {
    const db = freshDb();
    const limits = { maxRows: 3, maxAgeMs: 1e12 };
    for (let i = 0; i < 10; i++) appendEvent(db, imageEvent(`sha256:${i}`, 'tag', `t:${i}`), limits, 1_000 + i);
    const left = readEvents(db);
    assert.deepEqual(left.map((e) => e.actor.id), ['sha256:7', 'sha256:8', 'sha256:9']);
    assert.equal(lastSeq(db), 10);
    db.prepare('DELETE FROM events').run();
    assert.equal(appendEvent(db, imageEvent('sha256:x', 'tag', 'x'), limits, 2_000), 11);
    db.close();
  });

  test('events older than maxAgeMs are dropped as the next one is written', () => {
    const db = freshDb();
    const limits = { maxRows: 100, maxAgeMs: 1_000 };
    appendEvent(db, imageEvent('sha256:old', 'tag', 'o'), limits, 10_000);
    appendEvent(db, imageEvent('sha256:mid', 'tag', 'm'), limits, 10_500);
    appendEvent(db, imageEvent('sha256:new', 'tag', 'n'), limits, 11_200);
    assert.deepEqual(readEvents(db).map((e) => e.actor.id), ['sha256:mid', 'sha256:new']);
    db.close();
  });

  test('recording is best effort: a database that cannot take the event does not fail the operation', () => {
    const db = freshDb();
    db.close();
    assert.doesNotThrow(() => recordEvent({ db }, imageEvent('sha256:1', 'tag', 'x')));
  });

  test('a kill event names its signal by number, as Docker does', () => {
    assert.equal(signalAttr('SIGTERM'), '15');
    assert.equal(signalAttr('9'), '9');
    assert.equal(signalAttr('SIGRTMIN+3'), 'SIGRTMIN+3');
  });
});

describe('event filters', () => {
  const start = ev(containerEvent(ctr, 'start'));
  const die = ev(containerEvent(ctr, 'die', { exitCode: 0 }));
  const tag = ev(imageEvent('sha256:feed', 'tag', 'busybox:1'));
  const net = ev(networkEvent({ id: 'b'.repeat(64), name: 'front', driver: 'bridge' }, 'connect', ctr.id));
  const all = [start, die, tag, net];
  const keep = (f: EventFilters) => all.filter((e) => eventMatches(e, f));

  test('no filter keeps everything; values of one key OR, keys AND', () => {
    assert.deepEqual(keep({}), all);
    assert.deepEqual(keep({ event: ['start', 'tag'] }), [start, tag]);
    assert.deepEqual(keep({ event: ['start', 'tag'], type: ['image'] }), [tag]);
  });

  test('container matches container events by name, full id or id prefix', () => {
    assert.deepEqual(keep({ container: ['web'] }), [start, die]);
    assert.deepEqual(keep({ container: ['aaaa'] }), [start, die]);
    assert.deepEqual(keep({ container: ['other'] }), []);
  });

  test('image matches image events by id or name and container events by their image, with or without the tag', () => {
    assert.deepEqual(keep({ image: ['busybox'] }), [start, die, tag]);
    assert.deepEqual(keep({ image: ['busybox:latest'] }), [start, die]);
    assert.deepEqual(keep({ image: ['sha256:feed'] }), [tag]);
  });

  test('network matches network events by name or id; label by key or key=value', () => {
    assert.deepEqual(keep({ network: ['front'] }), [net]);
    assert.deepEqual(keep({ network: ['bbbb'] }), [net]);
    assert.deepEqual(keep({ label: ['tier'] }), [start, die]);
    assert.deepEqual(keep({ label: ['tier=back'] }), []);
  });

  test('an unknown key or type is refused in one line (exit 1, as the daemon refuses it)', () => {
    assert.throws(() => checkEventFilters({ colour: ['red'] }), (err: unknown) => err instanceof EngineError && err.exitCode === 1 && /^invalid filter 'colour'/.test(err.message));
    assert.throws(() => checkEventFilters({ type: ['container', 'box'] }), /invalid filter 'type=box'/);
    assert.doesNotThrow(() => checkEventFilters({ type: ['network', 'volume'], event: ['x'] }));
  });
});

describe('event service', () => {
  const service = (db: DB) => new EventService({ db } as unknown as Engine);

  test('list returns the window the filters keep; since after until is refused', async () => {
    const db = freshDb();
    appendEvent(db, containerEvent(ctr, 'create'), undefined, 1_000);
    appendEvent(db, imageEvent('sha256:1', 'tag', 'x:1'), undefined, 2_000);
    const svc = service(db);
    assert.deepEqual((await svc.list()).map((e) => e.action), ['create', 'tag']);
    assert.deepEqual((await svc.list({ filters: { type: ['image'] } })).map((e) => e.action), ['tag']);
    assert.deepEqual((await svc.list({ until: 1_500 })).map((e) => e.action), ['create']);
    await assert.rejects(svc.list({ since: 3_000, until: 2_000 }), /is after the until time/);
    db.close();
  });

  test('follow replays the window asked for, then yields new events as they are written, until aborted', async () => {
    const db = freshDb();
    appendEvent(db, containerEvent(ctr, 'create'), undefined, Date.now() - 5_000);
    const stop = new AbortController();
    const it = service(db).follow({ since: Date.now() - 60_000, filters: { type: ['container'] } }, { signal: stop.signal });
    assert.equal((await it.next()).value?.action, 'create');
    const next = it.next();
    appendEvent(db, imageEvent('sha256:1', 'tag', 'x:1'));
    appendEvent(db, containerEvent(ctr, 'start'));
    assert.equal((await next).value?.action, 'start');
    const last = it.next();
    stop.abort();
    assert.equal((await last).done, true);
    db.close();
  });

  test('without since, follow yields only what is written after it began; an until that has passed ends it', async () => {
    const db = freshDb();
    appendEvent(db, containerEvent(ctr, 'create'));
    const stop = new AbortController();
    const it = service(db).follow({}, { signal: stop.signal });
    const first = it.next();
    appendEvent(db, containerEvent(ctr, 'start'));
    assert.equal((await first).value?.action, 'start');
    stop.abort();
    assert.equal((await it.next()).done, true);
    const past: string[] = [];
    for await (const e of service(db).follow({ until: Date.now() }, {})) past.push(e.action);
    assert.deepEqual(past, ['create', 'start']);
    db.close();
  });
});

describe('event messages and lines', () => {
  test("Docker's message: legacy fields for containers, keys in Docker's order, times in s and ns", () => {
    const m = dockerMessage(ev(containerEvent(ctr, 'start'), 1, 1_764_766_800_123));
    assert.deepEqual(Object.keys(m), ['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
    assert.equal(m.from, 'busybox:latest');
    assert.equal(m.time, 1_764_766_800);
    assert.match(JSON.stringify(m), /"timeNano":1764766800123000000\}$/);
    assert.deepEqual(Object.keys(dockerMessage(ev(networkEvent({ id: 'n', name: 'x', driver: 'bridge' }, 'create')))), ['Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
  });

  test("the default line is Docker's: time with nanoseconds, type, action, id, attributes sorted by key", () => {
    const tz = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      assert.equal(eventTime(Date.UTC(2026, 11, 3, 13, 0, 0, 123)), '2026-12-03T13:00:00.123000000Z');
      assert.equal(eventLine(ev(containerEvent(ctr, 'die', { exitCode: 0 }), 1, Date.UTC(2026, 11, 3, 13, 0, 0, 5))),
        `2026-12-03T13:00:00.005000000Z container die ${ctr.id} (exitCode=0, image=busybox:latest, name=web, tier=front)`);
      assert.equal(eventLine(ev({ type: 'volume', action: 'create', actor: { id: 'v', attributes: {} } }, 1, 0)), '1970-01-01T00:00:00.000000000Z volume create v');
      process.env.TZ = 'Asia/Kolkata';
      assert.equal(eventTime(Date.UTC(2026, 11, 3, 13, 0, 0, 123)), '2026-12-03T18:30:00.123000000+05:30');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});
