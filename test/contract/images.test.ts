import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { ImagePullEvent, ImageService, PushEvent } from '../../src/engine/index.js';
import { EngineError } from '../../src/util/errors.js';
import { memoryContext, openContractStore, type ContractStore } from '../contract-helpers.js';
import { busyboxTarball } from '../helpers.js';
import { startRegistry, type Registry } from '../registry-helpers.js';

/**
 * The image service as a front door other than the CLI sees it: called
 * in this process, with in-memory streams, returning values (numbers for
 * sizes and times, events for progress) and failing with EngineError.
 */

async function rejects(p: Promise<unknown>, message: RegExp, exitCode = 125): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EngineError, `not an EngineError: ${String(err)}`);
    assert.match(err.message, message);
    assert.equal(err.exitCode, exitCode);
    assert.equal(err.message.split('\n').length, 1, err.message);
    return err;
  }
  assert.fail(`did not fail (wanted ${message})`);
}

describe('ImageService', () => {
  let store: ContractStore;
  let images: ImageService;
  let reg: Registry;
  let id: string;
  let remote: string;

  before(async () => {
    store = await openContractStore('contract-images');
    images = store.services.images;
    reg = await startRegistry();
    remote = `${reg.host}/test/busybox`;
    // The registry is plain HTTP: registries.conf says so, for ensure (which has no --tls-verify).
    const conf = store.sb.path('registries.conf');
    writeFileSync(conf, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
    process.env.CONTAINERS_REGISTRIES_CONF = conf;
  });
  after(() => {
    reg?.stop();
    store?.close();
  });

  test('import resolves a relative path against the caller\'s cwd, not the process\'s', async () => {
    const tarball = busyboxTarball();
    const caller = memoryContext({ cwd: dirname(tarball) });
    const r = await images.import(basename(tarball), { reference: 'busybox' }, caller.ctx);
    assert.match(r.id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(r.remapped, 0);
    id = r.id;
    assert.equal(caller.out(), '');
    const elsewhere = memoryContext({ cwd: store.sb.path() });
    await rejects(images.import(basename(tarball), {}, elsewhere.ctx), new RegExp(store.sb.path(basename(tarball)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  test('push reports its progress as events and returns the digest', async () => {
    const events: PushEvent[] = [];
    const r = await images.push('busybox', `${remote}:1`, { tlsVerify: false }, (e) => events.push(e));
    assert.equal(r.name, `${remote}:1`);
    assert.match(r.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(typeof r.size, 'number');
    assert.deepEqual(events[0], { type: 'start', name: `${remote}:1`, host: reg.host, path: 'test/busybox' });
    assert.ok(events.some((e) => e.type === 'blob' && e.state === 'pushed'));
    await images.push('busybox', `${remote}:2`, { tlsVerify: false });
  });

  test('pull: events from begin to pulled; allTags pulls every tag', async () => {
    const events: ImagePullEvent[] = [];
    const [r, ...rest] = await images.pull(`${remote}:1`, { tlsVerify: false }, (e) => events.push(e));
    assert.equal(rest.length, 0);
    assert.equal(r!.id, id);
    assert.equal(r!.name, `${remote}:1`);
    assert.equal(r!.upToDate, false);
    assert.deepEqual(events[0], { type: 'begin', name: `${remote}:1` });
    assert.ok(events.some((e) => e.type === 'resolved' && e.tag === '1'));
    assert.ok(events.some((e) => e.type === 'layer' && e.state === 'exists'));
    assert.deepEqual(events.at(-1), { type: 'pulled', result: r });

    const all = await images.pull(remote, { tlsVerify: false, allTags: true });
    assert.deepEqual(all.map((p) => p.name).sort(), [`${remote}:1`, `${remote}:2`]);
    await rejects(images.pull(`${remote}:1`, { allTags: true, tlsVerify: false }), /--all-tags takes a repository without a tag/);
  });

  test('ensure under each policy', async () => {
    const name = `${remote}:1`;
    // Here: no pull, no event.
    const quiet: ImagePullEvent[] = [];
    assert.deepEqual(await images.ensure(name, { policy: 'missing' }, (e) => quiet.push(e)), { name });
    assert.deepEqual(await images.ensure(name, { policy: 'never' }), { name });
    assert.equal(quiet.length, 0);

    // always: pulled even though here, and found up to date.
    const always = await images.ensure(name, { policy: 'always' });
    assert.equal(always.pulled?.upToDate, true);

    await images.remove(name);
    await rejects(images.ensure(name, { policy: 'never' }), /Unable to find image/);
    const events: ImagePullEvent[] = [];
    const missing = await images.ensure(name, { policy: 'missing' }, (e) => events.push(e));
    assert.equal(missing.name, name);
    assert.equal(missing.pulled?.id, id);
    assert.deepEqual(events[0], { type: 'begin', name, missingLocally: name });
    // A pull that fails says both why it pulled and why that failed, in one line.
    await rejects(images.ensure(`${remote}:nope`, { policy: 'missing' }), /^Unable to find image '.*:nope' locally, and pulling it failed: .*manifest unknown/);
  });

  test('tag, then list and history as values', async () => {
    const t = await images.tag('busybox', 'contract/tagged:v1');
    assert.deepEqual(t, { id, name: 'docker.io/contract/tagged:v1' });
    await rejects(images.tag('busybox', 'contract/x@sha256:' + 'a'.repeat(64)), /refusing to create a tag with a digest/);

    const list = await images.list({ filters: ['reference=contract/*'] });
    assert.equal(list.length, 1);
    const s = list[0]!;
    assert.equal(s.id, id);
    assert.deepEqual(s.repoTags, ['contract/tagged:v1']);
    assert.equal(typeof s.size, 'number');
    assert.ok(s.size > 100_000, String(s.size));
    assert.equal(typeof s.created, 'number');
    assert.ok(s.created > Date.parse('2020-01-01') && s.created <= Date.now(), String(s.created));
    assert.match(s.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(s.containers, 0);
    const everything = await images.list();
    assert.deepEqual(everything.find((i) => i.id === id)?.repoTags.sort(), ['busybox:latest', 'contract/tagged:v1', `${remote}:1`, `${remote}:2`].sort());
    await rejects(images.list({ filters: ['bogus=1'] }), /invalid filter 'bogus'/, 1);

    const h = await images.history('contract/tagged:v1');
    assert.equal(h[0]!.id, id);
    assert.equal(h[0]!.createdBy, 'rootlet import');
    assert.equal(typeof h[0]!.created, 'number');
    assert.equal(typeof h[0]!.size, 'number');
    assert.ok(h[0]!.size > 100_000);
    await rejects(images.history('no/such:image'), /Unable to find image 'no\/such:image' locally/);

    const doc = await images.inspect('contract/tagged:v1');
    assert.equal(doc.Id, id);
  });

  test('save to a stream, load it back', async () => {
    for (const format of ['docker-archive', 'oci-archive'] as const) {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      await images.save(['contract/tagged:v1'], { format }, out);
      const archive = Buffer.concat(chunks);
      assert.ok(archive.length > 100_000, `${format}: ${archive.length} bytes`);

      assert.deepEqual(await images.remove('contract/tagged:v1'), { untagged: ['contract/tagged:v1'], deleted: [] });
      const caller = memoryContext();
      const input = new PassThrough();
      input.end(archive);
      const loaded = await images.load(input, { what: format }, caller.ctx);
      assert.deepEqual(loaded, [{ id, names: ['docker.io/contract/tagged:v1'] }], format);
      assert.deepEqual(caller.warnings, []);
    }
    const garbage = new PassThrough();
    garbage.end(Buffer.from('not a tar'));
    await rejects(images.load(garbage, { what: 'garbage' }, memoryContext().ctx), /garbage/);
  });

  test('remove: an id with several names needs force; then the image is deleted', async () => {
    await rejects(images.remove(id), /referenced in multiple repositories/);
    await rejects(images.remove('no/such:image'), /No such image: no\/such:image/);
    const r = await images.remove(id, { force: true });
    assert.deepEqual(r.deleted, [id]);
    assert.deepEqual(r.untagged.sort(), ['busybox:latest', 'contract/tagged:v1', `${remote}:1`, `${remote}:2`].sort());
    assert.deepEqual(await images.list(), []);
  });

  test('prune: asks first, refuses a bad filter before asking, deletes nameless images', async () => {
    const tarball = busyboxTarball();
    const { id: nameless } = await images.import(tarball, {}, memoryContext().ctx);
    let asked = 0;
    await rejects(images.prune({ filters: ['dangling=true'], confirm: async () => { asked++; return true; } }), /invalid filter 'dangling'/, 1);
    assert.equal(asked, 0);
    assert.equal(await images.prune({ confirm: async () => { asked++; return false; } }), undefined);
    assert.equal(asked, 1);
    assert.equal((await images.list()).length, 1);
    const r = await images.prune();
    assert.deepEqual(r, { untagged: [], deleted: [nameless], reclaimed: r!.reclaimed });
    assert.equal(typeof r!.reclaimed, 'number');
    assert.ok(r!.reclaimed > 100_000);
    assert.deepEqual(await images.list(), []);
  });
});
