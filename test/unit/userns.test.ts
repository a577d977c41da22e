import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ENV_HOLDER } from '../../src/rootless/identity.js';
import { lastLine, mapSize, namespaceMap, UserNamespace } from '../../src/rootless/userns.js';

describe('namespaceMap', () => {
  test('a user: container 0 is the user, then the subordinate ranges in order', () => {
    const map = namespaceMap(1001, [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }], false);
    assert.deepEqual(map, [
      { inside: 0, outside: 1001, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
      { inside: 65537, outside: 300000, count: 10 },
    ]);
    assert.equal(mapSize(map), 65547);
  });

  test('root: container 0 is the first subordinate id, never host 0', () => {
    const map = namespaceMap(0, [{ start: 100000, count: 65536 }, { start: 500000, count: 100 }], true);
    assert.deepEqual(map, [
      { inside: 0, outside: 100000, count: 65536 },
      { inside: 65536, outside: 500000, count: 100 },
    ]);
    for (const e of map) assert.ok(!(e.outside <= 0 && 0 < e.outside + e.count), `host 0 is mapped by ${JSON.stringify(e)}`);
    assert.equal(mapSize(map), 65636);
  });

  test('a user without ranges maps only itself', () => {
    assert.deepEqual(namespaceMap(1001, [], false), [{ inside: 0, outside: 1001, count: 1 }]);
    assert.equal(mapSize(namespaceMap(1001, [], false)), 1);
    assert.equal(mapSize([]), 0);
  });

  test('inside ids are contiguous from 0 and never overlap', () => {
    const map = namespaceMap(1001, [{ start: 200000, count: 7 }, { start: 100000, count: 3 }, { start: 900000, count: 1 }], false);
    let next = 0;
    for (const e of map) {
      assert.equal(e.inside, next);
      next += e.count;
    }
  });
});

describe('lastLine', () => {
  test('the last meaningful line, without mount\'s dmesg hint', () => {
    assert.equal(lastLine('warning\nmount: /x: permission denied.\n       dmesg(1) may have more information after failed mount system call.\n'),
      'mount: /x: permission denied.');
    assert.equal(lastLine('\n\n'), '');
    assert.equal(lastLine('  one  '), 'one');
  });
});

// The exit hook is told its holder's pid (ROOTLET_NS_HOLDER). A holder killed but not yet reaped is a zombie:
// its user namespace link is still there, its mount namespace is not, and nsenter into it fails.
describe('an exit hook\'s holder', () => {
  test('a live holder in our user namespace is used; a zombie one leaves the hook to its own namespace', async () => {
    // sh starts a child and becomes sleep, which never reaps it: killed, the child stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 600 & echo $!; exec sleep 601'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const [line] = await once(parent.stdout!, 'data') as [Buffer];
    const zombie = Number(line.toString().trim());
    const told = process.env[ENV_HOLDER];
    try {
      const tick = () => new Promise((r) => setTimeout(r, 5));
      while (readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() !== 'sleep') await tick();
      process.kill(zombie, 'SIGKILL');
      while (!/\) Z /.test(readFileSync(`/proc/${zombie}/stat`, 'utf8'))) await tick();
      const hook = new UserNamespace(process.pid, [], [], false, true);
      process.env[ENV_HOLDER] = String(parent.pid);
      assert.equal(hook.holderPid, parent.pid);
      assert.equal(hook.orphaned, false);
      process.env[ENV_HOLDER] = String(zombie);
      assert.equal(hook.holderPid, process.pid);
      assert.equal(hook.orphaned, true);
      assert.deepEqual(hook.holderArgs(), ['-m', '-t', String(process.pid)]);
    } finally {
      if (told === undefined) delete process.env[ENV_HOLDER]; else process.env[ENV_HOLDER] = told;
      for (const pid of [zombie, parent.pid!]) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    }
  });
});
