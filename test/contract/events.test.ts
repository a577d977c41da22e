import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dockerMessage, openServices, type Services } from '../../src/engine/index.js';
import { EngineError } from '../../src/util/errors.js';
import { Sandbox } from '../helpers.js';

/** The event service called directly, as the API server will call it: plain data in, plain data out. */
describe('contract: events', () => {
  const sb = new Sandbox('events-contract');
  let svc: Services;
  let t0: number;

  before(async () => {
    for (const k of ['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR'] as const) process.env[k] = sb.env[k];
    t0 = Date.now();
    sb.importBusybox();
    svc = await openServices();
  });
  after(() => {
    svc?.close();
    sb.destroy();
  });

  test('list returns events as data: ms times, increasing sequence, type, action, actor id and attributes', async () => {
    const got = await svc.events.list({ since: t0, filters: { type: ['image'] } });
    assert.equal(got.length, 1);
    const ev = got[0]!;
    assert.equal(ev.type, 'image');
    assert.equal(ev.action, 'import');
    assert.match(ev.actor.id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(ev.actor.attributes, { name: 'busybox:latest' });
    assert.ok(Number.isInteger(ev.time) && ev.time >= t0 && ev.time <= Date.now());
    assert.ok(Number.isInteger(ev.seq) && ev.seq > 0);
  });

  test('follow yields what another process records, and ends when the caller aborts', async () => {
    const stop = new AbortController();
    const it = svc.events.follow({ filters: { type: ['container'], event: ['create'] } }, { signal: stop.signal });
    const next = it.next();
    const id = sb.ok(['create', '--name', 'contract-c', 'busybox', 'true']).trim();
    const ev = (await next).value;
    assert.deepEqual(ev && { type: ev.type, action: ev.action, id: ev.actor.id, name: ev.actor.attributes.name, image: ev.actor.attributes.image },
      { type: 'container', action: 'create', id, name: 'contract-c', image: 'busybox' });
    const ended = it.next();
    stop.abort();
    assert.equal((await ended).done, true);
    assert.equal(dockerMessage(ev!).Actor.ID, id);
  });

  test('a filter the engine does not know is an EngineError with exit code 1, before anything is read', async () => {
    await assert.rejects(svc.events.list({ filters: { colour: ['red'] } }), (err: unknown) => err instanceof EngineError && err.exitCode === 1);
  });
});
