import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Sandbox, until } from '../helpers.js';


describe('health checks', () => {
  const sb = new Sandbox('health');
  before(() => sb.importBusybox());
  after(() => {
    sb.run(['rm', '-f', 'sick', 'fine']);
    sb.destroy();
  });

  test('a failing check turns the container unhealthy in ps; a passing one healthy', async () => {
    sb.ok(['run', '-d', '--name', 'sick', '--health-cmd', 'test -e /tmp/ok', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '1000']);
    sb.ok(['run', '-d', '--name', 'fine', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '1000']);
    await until('sick to be unhealthy', () => /\(unhealthy\)\s+sick/.test(sb.ok(['ps'])));
    await until('fine to be healthy', () => /\(healthy\)\s+fine/.test(sb.ok(['ps'])));
    const r = sb.run(['healthcheck', 'run', 'sick']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout.trim(), 'unhealthy');
    assert.equal(sb.run(['healthcheck', 'run', 'fine']).code, 0);
  });

  test('the probe\'s timers end with their containers, also during a long interval', async () => {
    sb.ok(['run', '-d', '--name', 'slow', '--health-cmd', 'true', '--health-interval', '1h', 'busybox', 'sleep', '1000']);
    const ids = sb.ok(['ps', '-q', '--no-trunc']).trim().split('\n').filter(Boolean);
    assert.equal(ids.length, 3);
    const timers = () => ids.filter((id) => spawnSync('pgrep', ['-u', String(process.getuid!()), '-f', `rootlet-health .*${id}`]).status === 0);
    assert.equal(timers().length, 3);
    sb.ok(['rm', '-f', 'sick', 'fine', 'slow']);
    // At once: the slow one would otherwise sleep for an hour first.
    await until('health timers to end', () => timers().length === 0, 3000);
  });

  test('a container without a check has no health; a bad interval is refused', () => {
    assert.equal(sb.run(['healthcheck', 'run', 'nosuch']).code, 125);
    const bad = sb.run(['run', '-d', '--health-cmd', 'true', '--health-interval', 'soon', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid argument "soon" for "--health-interval" flag: not a duration/);
  });
});
