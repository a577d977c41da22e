import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { mountsMentioning, refusedOneLine, Sandbox, until } from '../helpers.js';

// Host ports of this file: 18500-18549.

function curl(url: string): { code: number; body: string } {
  const r = spawnSync('curl', ['-s', '--max-time', '5', url], { encoding: 'utf8' });
  return { code: r.status ?? 1, body: r.stdout ?? '' };
}

describe('pods', () => {
  const sb = new Sandbox('pod');
  before(() => sb.importBusybox());
  after(() => sb.destroy());

  test('a web and a client container share the pod\'s network: localhost between them, the pod\'s port on the host; pod rm -f leaves nothing', async () => {
    const id = sb.ok(['pod', 'create', '--name', 'web', '-p', '18501:80', '--label', 'tier=front']).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.match(sb.ok(['pod', 'ls', '--format', '{{.Name}} {{.Status}} {{.NumberOfContainers}} {{.Label "tier"}}']), /^web Created 1 front$/m);
    // The web server's document root holds its hostname: the pod's, as the containers share its UTS namespace.
    sb.ok(['run', '-d', '--pod', 'web', '--name', 'httpd', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const client = sb.ok(['run', '--rm', '--pod', 'web', '--name', 'client', 'busybox', 'sh', '-c',
      'for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://localhost:80/hostname && exit 0; sleep 0.2; done; exit 1']);
    assert.equal(client.trim(), 'web');
    await until('the pod\'s published port answers', () => curl('http://127.0.0.1:18501/hostname').body.trim() === 'web');
    // IPC is shared too: the same namespace as the infra's.
    const ipc = sb.ok(['run', '--rm', '--pod', 'web', 'busybox', 'readlink', '/proc/self/ns/ipc']).trim();
    assert.equal(sb.ok(['exec', 'httpd', 'readlink', '/proc/self/ns/ipc']).trim(), ipc);

    const doc = JSON.parse(sb.ok(['pod', 'inspect', 'web']))[0];
    assert.equal(doc.Name, 'web');
    assert.equal(doc.State, 'Running');
    assert.deepEqual(doc.SharedNamespaces, ['net', 'ipc', 'uts']);
    assert.deepEqual(doc.Containers.map((c: { Name: string }) => c.Name), [`${id.slice(0, 12)}-infra`, 'httpd']);
    assert.match(sb.ok(['pod', 'top', 'web']), /^httpd\s+root\s+\d+.*httpd -f -p 80/m);
    assert.match(sb.ok(['pod', 'ps']), /^\S+\s+web\s+Running/m);

    // Stop and start again: the infra first, then the members in creation order.
    sb.ok(['pod', 'stop', '-t', '1', 'web']);
    assert.match(sb.ok(['pod', 'ls', '--format', '{{.Status}}']), /^Exited$/m);
    sb.ok(['pod', 'start', 'web']);
    await until('the restarted pod serves again', () => curl('http://127.0.0.1:18501/hostname').body.trim() === 'web');

    const pids = [doc.InfraContainerID, 'httpd'].map((c) => Number(sb.ok(['inspect', '--format', '{{.State.Pid}}', c]).trim()));
    assert.ok(pids.every((p) => p > 0));
    assert.equal(sb.ok(['pod', 'rm', '-f', 'web']).trim(), id);
    assert.equal(sb.ok(['ps', '-a', '-q']), '');
    assert.equal(sb.ok(['pod', 'ls', '-q']), '');
    for (const p of pids) assert.ok(!existsSync(`/proc/${p}`), `process ${p} is gone`);
    assert.deepEqual(mountsMentioning(sb.path('data', 'rootlet', 'containers')), []);
    assert.notEqual(curl('http://127.0.0.1:18501/').code, 0, 'the port is closed');
  });

  test('refusals: an unknown pod, -p on a member, a name in use; one line, nothing made', () => {
    sb.ok(['pod', 'create', '--name', 'p1']);
    const before = sb.ok(['ps', '-a', '--no-trunc', '-q']);
    refusedOneLine(sb.run(['run', '--rm', '--pod', 'nosuch', 'busybox', 'true']), /no such pod: nosuch/, 'unknown pod');
    refusedOneLine(sb.run(['create', '--pod', 'nosuch', 'busybox', 'true']), /no such pod: nosuch/, 'create in an unknown pod');
    refusedOneLine(sb.run(['run', '-d', '--pod', 'p1', '-p', '18510:80', 'busybox', 'true']), /cannot publish ports.*pod create -p/, '-p on a member');
    refusedOneLine(sb.run(['run', '-d', '--pod', 'p1', '--network', 'none', 'busybox', 'true']), /uses the pod's network/, '--network on a member');
    refusedOneLine(sb.run(['run', '-d', '--pod', 'p1', '--hostname', 'x', 'busybox', 'true']), /--hostname/, '--hostname on a member');
    refusedOneLine(sb.run(['pod', 'create', '--name', 'p1']), /pod name "p1" is already in use/, 'a pod name in use');
    refusedOneLine(sb.run(['pod', 'create', '--share', 'pid']), /--share/, 'a namespace pods do not share');
    refusedOneLine(sb.run(['pod', 'create', '--name', 'x']), /invalid pod name "x"/, 'a bad pod name');
    assert.equal(sb.ok(['ps', '-a', '--no-trunc', '-q']), before, 'no container made');
    assert.equal(sb.ok(['pod', 'ls', '--format', '{{.Name}}']).trim(), 'p1');
    // The stopped infra of p1 is the pod's: container prune leaves it.
    sb.ok(['container', 'prune', '-f']);
    assert.equal(sb.ok(['ps', '-a', '--no-trunc', '-q']), before, 'the infra stays');
    const rm = sb.run(['pod', 'rm', 'nosuch']);
    assert.equal(rm.code, 1);
    assert.equal(rm.stderr.trim(), 'Error: no such pod: nosuch');
    sb.ok(['pod', 'rm', 'p1']);
    assert.equal(sb.ok(['ps', '-a', '-q']), '');
  });

  test('pod logs, kill, restart; a member started alone brings up the infra', () => {
    sb.ok(['pod', 'create', '--name', 'p2']);
    sb.ok(['create', '--pod', 'p2', '--name', 'first', 'busybox', 'sh', '-c', 'echo one; sleep 600']);
    sb.ok(['create', '--pod', 'p2', '--name', 'second', 'busybox', 'sh', '-c', 'echo two; sleep 600']);
    sb.ok(['start', 'second']);
    assert.match(sb.ok(['pod', 'ls', '--format', '{{.Status}}']), /^Degraded$/m);
    sb.ok(['pod', 'start', 'p2']);
    assert.match(sb.ok(['pod', 'ls', '--format', '{{.Status}}']), /^Running$/m);
    const logs = sb.ok(['pod', 'logs', 'p2']);
    assert.match(logs, /one/);
    assert.match(logs, /two/);
    assert.equal(sb.ok(['pod', 'logs', '-c', 'first', 'p2']).trim(), 'one');
    sb.ok(['pod', 'kill', 'p2']);
    assert.match(sb.ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']), /^first exited$/m);
    // Docker's status for top of a container that does not run: 1.
    const top = sb.run(['pod', 'top', 'p2']);
    assert.equal(top.code, 1);
    assert.equal(top.stderr.trim(), 'Error: pod p2 has no running container');
    sb.ok(['pod', 'restart', 'p2']);
    assert.match(sb.ok(['pod', 'ls', '--format', '{{.Status}}']), /^Running$/m);
    const rm = sb.run(['pod', 'rm', 'p2']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /running containers.*-f/);
    sb.ok(['pod', 'rm', '-f', 'p2']);
    assert.equal(sb.ok(['ps', '-a', '-q']), '');
  });
});
