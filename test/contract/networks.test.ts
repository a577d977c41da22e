import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NetworkNotFoundError, NetworkService } from '../../src/engine/index.js';
import { isolatedSandbox, servicesFor } from '../contract-helpers.js';
import type { Sandbox } from '../helpers.js';

/** The container's interfaces, as its kernel lists them. */
function interfaces(sb: Sandbox, name: string): string[] {
  return sb.ok(['exec', name, 'cat', '/proc/net/dev']).split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort();
}

describe('contract: networks', () => {
  const sb = isolatedSandbox('contract-net');
  const held = servicesFor(sb);


  test('create returns the network as data; list filters in the engine; bad input is refused', async () => {
    const a = await held.services.networks.create({ name: 'ca', subnet: '10.97.1.0/24', labels: { team: 'x' } });
    assert.match(a.id, /^[0-9a-f]{64}$/);
    assert.equal(a.name, 'ca');
    assert.equal(a.driver, 'bridge');
    assert.equal(a.internal, false);
    assert.deepEqual(a.ipam.config, [{ subnet: '10.97.1.0/24', gateway: '10.97.1.1' }]);
    assert.deepEqual(a.labels, { team: 'x' });
    assert.equal(typeof a.created, 'number');
    assert.deepEqual(a.containers, []);
    const b = await held.services.networks.create({ name: 'cb', internal: true, gateway: undefined });
    assert.equal(b.internal, true);
    assert.match(b.ipam.config[0]!.subnet, /^10\.89\.\d+\.0\/24$/);

    const names = async (filters: string[]) => (await held.services.networks.list({ filters })).map((n) => n.name).sort();
    assert.deepEqual(await names([]), ['ca', 'cb', 'rootlet']);
    assert.deepEqual(await names(['label=team=x']), ['ca']);
    assert.deepEqual(await names(['type=custom', 'name=c']), ['ca', 'cb']);
    assert.deepEqual(await names(['type=builtin']), ['rootlet']);
    await assert.rejects(held.services.networks.list({ filters: ['colour=red'] }), (e: Error & { exitCode?: number }) => e.exitCode === 1 && /^invalid filter 'colour=red'/.test(e.message));
    await assert.rejects(held.services.networks.create({ name: 'ca' }), /network with name ca already exists/);
    await assert.rejects(held.services.networks.create({ name: 'cc', subnet: '10.97.1.0/25' }), /overlaps with network ca/);
    await assert.rejects(held.services.networks.create({ name: 'cd', driver: 'macvlan' }), /network driver "macvlan" is not supported/);
    await assert.rejects(held.services.networks.create({ name: 'bad name' }), /invalid network name "bad name"/);
    await assert.rejects(held.services.networks.inspect('nope'), (e) => e instanceof NetworkNotFoundError && e.ref === 'nope');
    await assert.rejects(held.services.networks.remove('nope'), /network nope not found/);
    assert.deepEqual(await held.services.networks.remove('nope', { force: true }), { removed: false });
    assert.throws(() => NetworkService.checkPruneFilters(['until=1h']), /network prune takes label=KEY\[=VALUE\]/);
  });

  test('connect and disconnect a running container: its interfaces and the networks\' members follow', async () => {
    sb.ok(['run', '-d', '--name', 'c1', '--network', 'ca', 'busybox', 'sleep', '600']);
    const ca = await held.services.networks.inspect('ca');
    assert.equal(ca.containers.length, 1);
    const [m] = ca.containers;
    assert.equal(m!.name, 'c1');
    assert.match(m!.ipv4Address, /^10\.97\.1\.\d+$/);
    assert.equal(m!.prefixLength, 24);
    assert.equal(m!.endpointId, `${m!.containerId.slice(0, 32)}${ca.id.slice(0, 32)}`);
    assert.deepEqual(interfaces(sb, 'c1'), ['eth0', 'lo']);

    await held.services.networks.connect('cb', 'c1', { aliases: ['web'] });
    assert.deepEqual(interfaces(sb, 'c1'), ['eth0', 'eth1', 'lo']);
    const cb = await held.services.networks.inspect('cb');
    assert.deepEqual(cb.containers.map((c) => [c.name, c.aliases]), [['c1', ['web']]]);
    await assert.rejects(held.services.networks.connect('cb', 'c1'), /endpoint with name c1 already exists in network cb/);
    await assert.rejects(held.services.networks.connect('cb', 'c1', { aliases: ['-x'] }), /not a valid name/);

    await assert.rejects(held.services.networks.remove('ca'), /network ca id [0-9a-f]+ has active endpoints \(c1\)/);
    await held.services.networks.disconnect('cb', 'c1', { force: false });
    assert.deepEqual(interfaces(sb, 'c1'), ['eth0', 'lo']);
    assert.deepEqual((await held.services.networks.inspect('cb')).containers, []);
    await assert.rejects(held.services.networks.disconnect('cb', 'c1'), /container c1 is not connected to network cb/);
    await assert.rejects(held.services.networks.disconnect('ca', 'c1'), /container c1 is only on network ca: connect it to another network first, or stop it/);
    assert.deepEqual((await held.services.networks.list({ filters: ['dangling=true'] })).map((n) => n.name), ['cb']);
  });

  test('a stopped container may leave its last network and join another with aliases (docker-compose 1.29 does so)', async () => {
    sb.ok(['create', '--name', 'c2', '--network', 'ca', 'busybox', 'sleep', '600']);
    await held.services.networks.disconnect('ca', 'c2', { force: false });
    assert.deepEqual((await held.services.networks.inspect('ca')).containers.filter((c) => c.name === 'c2'), []);
    await held.services.networks.connect('cb', 'c2', { aliases: ['svc'] });
    sb.ok(['start', 'c2']);
    assert.deepEqual(interfaces(sb, 'c2'), ['eth0', 'lo']);
    assert.deepEqual((await held.services.networks.inspect('cb')).containers.map((c) => [c.name, c.aliases]), [['c2', ['svc']]]);
    sb.ok(['rm', '-f', 'c2']);
    // With no network at all it starts with loopback alone.
    sb.ok(['create', '--name', 'c3', '--network', 'ca', 'busybox', 'sleep', '600']);
    await held.services.networks.disconnect('ca', 'c3', { force: false });
    sb.ok(['start', 'c3']);
    assert.deepEqual(interfaces(sb, 'c3'), ['lo']);
    sb.ok(['rm', '-f', 'c3']);
  });

  test('prune removes the networks no container names, by label when asked', async () => {
    await held.services.networks.create({ name: 'cp', labels: { keep: 'no' } });
    assert.deepEqual(await held.services.networks.prune({ filters: ['label=keep=no'] }), { deleted: ['cp'] });
    assert.deepEqual(await held.services.networks.prune(), { deleted: ['cb'] });
    sb.ok(['rm', '-f', 'c1']);
    assert.deepEqual(await held.services.networks.remove('ca'), { removed: true });
    assert.deepEqual((await held.services.networks.list()).map((n) => n.name), ['rootlet']);
    await assert.rejects(held.services.networks.remove('rootlet'), /pre-defined network and cannot be removed/);
  });
});
