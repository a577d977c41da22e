import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';

describe('pause', () => {
  test('where rootless containers have no cgroup freezer, pause fails with one line saying why, and the container keeps running', () => {
    const sb = new Sandbox('pause');
    try {
      sb.importBusybox();
      sb.ok(['run', '-d', '--name', 'pz', 'busybox', 'sleep', '1000']);
      const hybrid = !/cgroups v2/.test(sb.ok(['info']));
      const r = sb.run(['pause', 'pz']);
      if (hybrid) {
        assert.equal(r.code, 1);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /cgroup freezer/);
        assert.match(sb.ok(['ps']), /Up .*pz/);
      } else {
        assert.equal(r.code, 0, r.stderr);
        sb.ok(['unpause', 'pz']);
      }
      assert.equal(sb.run(['pause', 'nosuch']).code, 1);
    } finally {
      sb.run(['rm', '-f', 'pz']);
      sb.destroy();
    }
  });
});
