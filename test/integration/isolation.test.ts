import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

import { after, before, describe, test } from 'node:test';
import { asUser, BIN, Sandbox } from '../helpers.js';

/** Runs rootlet as another test user, with that user's own default store. */
function rootletAs(user: string, args: string[]) {
  const pw = spawnSync('getent', ['passwd', user], { encoding: 'utf8' }).stdout.split(':');
  const uid = pw[2]!;
  return asUser(user, [process.execPath, BIN, ...args], {
    HOME: pw[5]!,
    USER: user,
    XDG_RUNTIME_DIR: `/run/user/${uid}`,
    PATH: '/usr/local/bin:/usr/bin:/bin',
  });
}

describe('users are isolated from each other', () => {
  const sb = new Sandbox('isolation');
  let child: ReturnType<Sandbox['spawn']> | undefined;

  before(async () => {
    sb.importBusybox();
    child = sb.spawn(['run', '--rm', '--name', 'private-box', 'busybox', 'sleep', '300']);
    for (let i = 0; i < 100 && !sb.ok(['ps']).includes('private-box'); i++) await new Promise((r) => setTimeout(r, 100));
  });
  after(async () => {
    child?.kill('SIGKILL');
    sb.run(['rm', '-f', 'private-box']);
    sb.destroy();
  });

  test('a second user sees none of the first user\'s containers', () => {
    assert.match(sb.ok(['ps']), /private-box/);
    const ps = rootletAs('rootlet-ci2', ['ps', '-a']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.doesNotMatch(ps.stdout, /private-box/);
    const rm = rootletAs('rootlet-ci2', ['rm', '-f', 'private-box']);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /No such container/);
    assert.match(sb.ok(['ps']), /private-box/);
  });

  test('a second user cannot signal the first user\'s container processes', () => {
    const pids = spawnSync('pgrep', ['-u', String(process.getuid!()), '-f', '^sleep 300$'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    assert.ok(pids.length >= 1, 'the container process is visible on the host');
    const kill = asUser('rootlet-ci2', ['kill', '-TERM', pids[0]!]);
    assert.notEqual(kill.code, 0);
    assert.match(kill.stderr, /not permitted/i);
    assert.match(sb.ok(['ps']), /private-box/);
  });

  test('a second user cannot read the first user\'s store', () => {
    const ls = asUser('rootlet-ci2', ['ls', sb.path('data/rootlet')]);
    assert.notEqual(ls.code, 0);
    assert.match(ls.stderr, /Permission denied/);
  });
});

describe('rootlet system check', () => {
  test('passes on this machine for the test user', () => {
    const sb = new Sandbox('doctor');
    try {
      const r = sb.run(['system', 'check']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      for (const item of ['newuidmap', 'newgidmap', '/etc/subuid range', '/etc/subgid range', 'user namespaces', 'storage driver', 'OCI runtime']) {
        assert.match(r.stdout, new RegExp(`^ok\\s+${item.replace('/', '\\/')}`, 'm'), `${item} should be ok:\n${r.stdout}`);
      }
      assert.match(r.stdout, /runtime crun: .*hybrid|runtime crun: .*starts/);
      const json = JSON.parse(sb.ok(['system', 'check', '--format', 'json'])) as { ok: boolean };
      assert.equal(json.ok, true);
    } finally {
      sb.destroy();
    }
  });

  test('fails for a user without /etc/subuid entry, naming the file and the usermod fix', () => {
    const r = rootletAs('rootlet-nosub', ['system', 'check']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAILED\s+\/etc\/subuid range: no range for rootlet-nosub in \/etc\/subuid/);
    assert.match(r.stdout, /fix: usermod --add-subuids \S+ --add-subgids \S+ rootlet-nosub/);
    const run = rootletAs('rootlet-nosub', ['run', '--rm', 'busybox', 'true']);
    assert.equal(run.code, 125);
  });

  test('info prints the runtime, storage driver and id ranges', () => {
    const sb = new Sandbox('info');
    try {
      const info = JSON.parse(sb.ok(['info', '--format', 'json'])) as {
        runtime: { name: string }; storage: { driver: string }; idMappings: { uids: Array<{ container: number; host: number }> };
      };
      assert.ok(['runc', 'crun'].includes(info.runtime.name));
      assert.ok(['overlay', 'fuse-overlayfs', 'vfs'].includes(info.storage.driver));
      assert.deepEqual(info.idMappings.uids[0], { container: 0, host: process.getuid!(), size: 1 });
      assert.match(sb.ok(['info']), /Storage:\s+overlay/);
    } finally {
      sb.destroy();
    }
  });
});

