import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { networkFilter, pruneLabels } from '../../src/engine/networks/filter.js';
import type { NetworkRecord } from '../../src/engine/networks/store.js';

const net = (name: string, labels: Record<string, string> = {}): NetworkRecord => ({
  id: `${name.padEnd(8, '0').replace(/[^0-9a-f]/g, 'a')}${'0'.repeat(56)}`, name, driver: 'bridge', subnet: '10.89.0.0/24', gateway: '10.89.0.1',
  internal: false, labels, created: 0,
});

describe('network ls filters', () => {
  const nets = [net('rootlet'), net('front', { tier: 'web' }), net('back', { tier: 'db', keep: '' })];
  const used = new Set(['front']);
  const names = (args: string[]) => nets.filter(networkFilter(args, (n) => used.has(n.name))).map((n) => n.name);

  test('one key ORs its values, several keys AND', () => {
    assert.deepEqual(names([]), ['rootlet', 'front', 'back']);
    assert.deepEqual(names(['name=fr', 'name=ba']), ['front', 'back']);
    assert.deepEqual(names(['name=o', 'label=tier=web']), ['front']);
    assert.deepEqual(names(['label=keep']), ['back']);
    assert.deepEqual(names(['type=builtin']), ['rootlet']);
    assert.deepEqual(names(['type=custom', 'dangling=true']), ['back']);
    assert.deepEqual(names(['dangling=false']), ['rootlet', 'front']);
    assert.deepEqual(names(['driver=macvlan']), []);
  });

  test('an unknown key or one without a value is refused in one line, exit status 1', () => {
    for (const bad of ['colour=red', 'name']) {
      assert.throws(() => networkFilter([bad], () => false), (e: Error & { exitCode?: number }) => e.exitCode === 1 && e.message.startsWith(`invalid filter '${bad}': use driver=...`));
    }
  });

  test('prune takes label filters only', () => {
    assert.deepEqual(pruneLabels(['label=a', 'label=b=c']), ['a', 'b=c']);
    assert.throws(() => pruneLabels(['name=x']), /invalid filter 'name=x': network prune takes label=KEY\[=VALUE\]$/);
  });
});
