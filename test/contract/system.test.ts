import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { SystemService } from '../../src/engine/index.js';
import { isolatedSandbox, servicesFor } from '../contract-helpers.js';

describe('contract: system', () => {
  const sb = isolatedSandbox('contract-sys');
  const held = servicesFor(sb);


  test('version is data, without a store; the engine\'s adds its runtime', async () => {
    const v = SystemService.version();
    assert.match(v.version, /^\d+\.\d+\.\d+/);
    assert.match(sb.ok(['version']), new RegExp(`^Client:\\n Version: +${v.version.replace(/\./g, '\\.')}\\n`));
    assert.equal(sb.ok(['version', '--format', '{{.Client.Version}} {{.Server.Version}}']), `${v.version} ${v.version}\n`);
    assert.equal(v.os, 'linux');
    assert.equal(typeof v.arch, 'string');
    assert.match(v.apiVersion, /^1\.\d+$/);
    assert.match(v.nodeVersion, /^\d+\./);
    const full = await held.services.system.version();
    assert.equal(full.version, v.version);
    assert.match(full.runtime.name ?? '', /^(crun|runc)$/);
    assert.equal(full.runtime.error, undefined);
  });

  test('info is structured: storage, runtime, network, id maps and paths', async () => {
    const info = await held.services.system.info();
    assert.equal(info.version, SystemService.version().version);
    assert.equal(info.storage.root, sb.path('data', 'rootlet'));
    assert.equal(info.storage.runRoot, sb.path('run', 'rootlet'));
    assert.equal(info.storage.images, 1);
    assert.equal(info.storage.containers, 0);
    assert.equal(info.host.uid, process.getuid!());
    assert.match(info.runtime.name ?? '', /^(crun|runc)$/);
    assert.equal(info.network.default, 'rootlet');
    assert.ok(info.idMappings.uids.length >= 2 && info.idMappings.uids[0]!.container === 0);
    assert.equal(typeof info.paths.namespaceHolderPid, 'number');
    // The CLI's JSON is the same data.
    assert.deepEqual(JSON.parse(sb.ok(['info', '--format', 'json'])).storage, info.storage);
  });

  test('check, image check, df and recover return data', async () => {
    const check = await held.services.system.check();
    assert.equal(check.ok, true);
    assert.ok(check.checks.some((c) => c.item === 'namespace' && c.status === 'ok'));
    for (const c of check.checks) assert.match(c.status, /^(ok|warn|failed|skipped)$/);

    const store = await held.services.system.imageCheck();
    assert.deepEqual(store.problems, []);
    assert.equal(store.images, 1);
    assert.ok(store.blobs >= 2);

    sb.ok(['run', '--name', 'writer', '-v', 'dv:/d', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /d/f; head -c 3000 /dev/zero > /f']);
    const df = await held.services.system.df();
    assert.equal(df.images.count, 1);
    assert.ok(df.images.size > 0);
    assert.equal(df.containers.count, 1);
    assert.ok(df.containers.size >= 3000, `containers ${df.containers.size}`);
    assert.deepEqual(df.volumes, { count: 1, active: 1, size: 5000, reclaimable: 0 });

    const steps: string[] = [];
    const rec = await SystemService.recover({}, (s) => steps.push(s.kind));
    assert.equal(rec.verdict.state, 'sound');
    assert.equal(rec.rebuilt, false);
    assert.deepEqual(steps, []);
  });

  test('reset removes the store and says where it was', async () => {
    const root = sb.path('data', 'rootlet');
    assert.deepEqual(await held.services.system.reset(), { removed: root });
    assert.equal(existsSync(root), false);
  });
});
