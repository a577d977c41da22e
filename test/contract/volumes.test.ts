import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { VolumeNotFoundError } from '../../src/engine/index.js';
import { isolatedSandbox, servicesFor } from '../contract-helpers.js';

describe('contract: volumes', () => {
  const sb = isolatedSandbox('contract-vol');
  const volumes = sb.path('data', 'rootlet', 'volumes');
  const held = servicesFor(sb);


  test('create returns Docker\'s fields as data; an existing name is returned as it is; bad input is refused', async () => {
    const before = Date.now();
    const v = await held.services.volumes.create({ name: 'v1', labels: { team: 'a' } });
    assert.deepEqual({ ...v, createdAt: 0 }, {
      name: 'v1', driver: 'local', mountpoint: join(volumes, 'v1', '_data'), createdAt: 0, labels: { team: 'a' }, options: {},
      scope: 'local', anonymous: false, usedBy: [],
    });
    assert.ok(v.createdAt >= before - 1000 && v.createdAt <= Date.now() + 1000);
    assert.ok(existsSync(v.mountpoint));
    assert.deepEqual(await held.services.volumes.create({ name: 'v1' }), v);
    assert.deepEqual(await held.services.volumes.inspect('v1'), v);

    const anon = await held.services.volumes.create();
    assert.match(anon.name, /^[0-9a-f]{64}$/);
    assert.equal(anon.anonymous, true);

    await assert.rejects(held.services.volumes.create({ name: '../x' }), /invalid volume name "\.\.\/x"/);
    await assert.rejects(held.services.volumes.create({ name: 'v9', options: { type: 'tmpfs' } }), /volume option "type" is not supported/);
    assert.equal(existsSync(join(volumes, 'v9')), false, 'a refused create leaves nothing');
    await assert.rejects(held.services.volumes.inspect('nope'), (e) => e instanceof VolumeNotFoundError && e.exitCode === 1 && e.message === 'no such volume: nope');
    await assert.rejects(held.services.volumes.list({ filters: ['colour=red'] }), /invalid filter 'colour'/);
    await assert.rejects(held.services.volumes.list({ filters: ['dangling=maybe'] }), /invalid filter 'dangling=maybe'/);
  });

  test('-v creates its volumes through the module; list tells who uses each; rm of one in use is refused, also forced', async () => {
    sb.ok(['create', '--name', 'user', '-v', 'v1:/data', '-v', 'v2:/more', 'busybox', 'true']);
    sb.ok(['run', '--rm', '-v', 'v3:/d', 'busybox', 'sh', '-c', 'echo hello > /d/f']);
    const v2 = await held.services.volumes.inspect('v2');
    assert.equal(v2.anonymous, false);
    assert.deepEqual(v2.usedBy.map((c) => c.name), ['user']);
    assert.ok(existsSync(join(volumes, 'v2', 'volume.json')), 'the description lies beside _data');

    const names = async (filters: string[]) => (await held.services.volumes.list({ filters })).map((v) => v.name).filter((n) => n.startsWith('v'));
    assert.deepEqual(await names([]), ['v1', 'v2', 'v3']);
    assert.deepEqual(await names(['dangling=true']), ['v3']);
    assert.deepEqual(await names(['dangling=false']), ['v1', 'v2']);
    assert.deepEqual(await names(['label=team=a']), ['v1']);
    assert.deepEqual(await names(['name=2']), ['v2']);
    assert.deepEqual(await names(['driver=other']), []);

    await assert.rejects(held.services.volumes.remove('v2'), (e: Error & { exitCode?: number }) => e.exitCode === 125 && /^volume v2 is in use by container user: remove it first$/.test(e.message));
    await assert.rejects(held.services.volumes.remove('v2', { force: true }), /is in use by container user/);
    assert.ok(existsSync(join(volumes, 'v2', '_data')), 'a refused rm leaves the volume');
    // Once no container names it (user is made anew with v1 only, which the next test needs in use), it goes.
    sb.ok(['rm', 'user']);
    sb.ok(['create', '--name', 'user', '-v', 'v1:/data', 'busybox', 'true']);
    assert.deepEqual(await held.services.volumes.remove('v2'), { removed: true });
    assert.equal(existsSync(join(volumes, 'v2')), false);
    await assert.rejects(held.services.volumes.remove('v2'), VolumeNotFoundError);
    assert.deepEqual(await held.services.volumes.remove('v2', { force: true }), { removed: false });
  });

  test('prune removes unused anonymous volumes, every unused one with all=true, and says what it freed', async () => {
    const anon = (await held.services.volumes.list({ filters: ['dangling=true'] })).filter((v) => v.anonymous).map((v) => v.name);
    assert.equal(anon.length, 1);
    assert.deepEqual(await held.services.volumes.prune(), { deleted: anon, spaceReclaimed: 0 });
    await held.services.volumes.create({ name: 'v4', labels: { keep: 'yes' } });
    const some = (await held.services.volumes.prune({ filters: ['all=true', 'label!=keep=yes'] }))!;
    assert.deepEqual(some.deleted, ['v3']);
    assert.ok(some.spaceReclaimed > 0, 'v3 held a file');
    assert.deepEqual((await held.services.volumes.prune({ filters: ['all=1'] }))!.deleted, ['v4']);
    assert.deepEqual((await held.services.volumes.list()).map((v) => v.name), ['v1'], 'v1 is in use');
    await assert.rejects(held.services.volumes.prune({ filters: ['dangling=true'] }), /invalid filter 'dangling'/);
    sb.ok(['rm', 'user']);
    assert.deepEqual(await held.services.volumes.remove('v1'), { removed: true });
  });
});
