import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { refusedOneLine, Sandbox } from '../helpers.js';

// This host has no systemd user manager (no systemd as PID 1): the units
// are checked with systemd-analyze alone, which loads them as the user
// manager would and reports every problem it finds on stderr.
function verify(sb: Sandbox, file: string): { code: number; stderr: string } {
  const r = spawnSync('systemd-analyze', ['--user', 'verify', file], { env: sb.env, encoding: 'utf8' });
  return { code: r.status ?? 1, stderr: r.stderr ?? '' };
}

describe('generate systemd', () => {
  const sb = new Sandbox('systemd');
  before(() => sb.importBusybox());
  after(() => sb.destroy());

  test('units for a container, a pod, --new and a restart policy pass systemd-analyze verify', () => {
    sb.ok(['run', '-d', '--name', 'svc', '--stop-timeout', '5', 'busybox', 'sleep', '600']);
    sb.ok(['pod', 'create', '--name', 'svcpod', '-p', '18560:80']);
    sb.ok(['create', '--pod', 'svcpod', '--name', 'member', 'busybox', 'sleep', '600']);
    const dir = sb.path('units');
    mkdirSync(dir, { recursive: true });

    const unit = sb.ok(['generate', 'systemd', 'svc']);
    assert.match(unit, /^ExecStart=\S+ \S+ start svc$/m);
    assert.match(unit, /^ExecStop=\S+ \S+ stop -t 5 svc$/m);
    assert.match(unit, /^Type=forking$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^WantedBy=default\.target$/m);
    const pid = /^PIDFile=(.*)$/m.exec(unit)![1]!;
    sb.ok(['inspect', 'svc']);
    assert.ok(existsSync(pid), 'the pid file is the running container\'s monitor\'s');
    writeFileSync(join(dir, 'container-svc.service'), unit);

    const always = sb.ok(['generate', 'systemd', '--restart-policy', 'always', 'svc']);
    assert.match(always, /^Restart=always$/m);
    writeFileSync(join(dir, 'always-svc.service'), always);

    const podUnit = sb.ok(['generate', 'systemd', 'svcpod']);
    assert.match(podUnit, /^ExecStart=\S+ \S+ pod start svcpod$/m);
    writeFileSync(join(dir, 'pod-svcpod.service'), podUnit);

    const files = sb.ok(['generate', 'systemd', '--new', '--files', 'svc'], { cwd: dir }).trim().split('\n');
    assert.deepEqual(files, [join(dir, 'container-svc.service'), join(dir, 'container-svc.yaml')]);
    const fresh = readFileSync(files[0]!, 'utf8');
    assert.match(fresh, /^ExecStart=\S+ \S+ kube play --replace %E\/systemd\/user\/container-svc\.yaml$/m);
    assert.match(readFileSync(files[1]!, 'utf8'), /kind: Pod/);

    for (const f of ['container-svc.service', 'always-svc.service', 'pod-svcpod.service']) {
      const r = verify(sb, join(dir, f));
      assert.equal(r.code, 0, `${f}: ${r.stderr}`);
      assert.equal(r.stderr.trim(), '', `${f}: systemd-analyze found nothing to say`);
    }
    sb.ok(['pod', 'rm', '-f', 'svcpod']);
    sb.ok(['rm', '-f', 'svc']);
  });

  test('refusals: an unknown name, --new without --files, a bad restart policy, a pod member', () => {
    sb.ok(['pod', 'create', '--name', 'pp']);
    sb.ok(['create', '--pod', 'pp', '--name', 'inpod', 'busybox', 'true']);
    refusedOneLine(sb.run(['generate', 'systemd', 'nosuch']), /no such container or pod: nosuch/, 'unknown');
    refusedOneLine(sb.run(['generate', 'systemd', '--new', 'inpod']), /--new .*--files/, '--new without --files');
    refusedOneLine(sb.run(['generate', 'systemd', '--restart-policy', 'sometimes', 'pp']), /--restart-policy/, 'a bad policy');
    refusedOneLine(sb.run(['generate', 'systemd', 'inpod']), /in a pod: generate a unit for the pod/, 'a pod member');
    sb.ok(['pod', 'rm', '-f', 'pp']);
  });

  test('system check says whether lingering is on, with the loginctl fix', () => {
    const out = sb.run(['system', 'check']).stdout;
    const user = userInfo().username;
    if (existsSync(`/var/lib/systemd/linger/${user}`)) {
      assert.match(out, /^ok\s+lingering: on for /m);
    } else {
      assert.match(out, new RegExp(`^warn\\s+lingering: off for ${user}: .*log out`, 'm'));
      assert.match(out, new RegExp(`fix: loginctl enable-linger ${user}$`, 'm'));
    }
  });
});
