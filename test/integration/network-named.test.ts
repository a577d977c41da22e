import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { hostServer } from '../network-helpers.js';
import { Sandbox } from '../helpers.js';

// Host ports of this file: 18200-18299 (network-ports uses 18080-18199).

describe('named networks', () => {
  const sb = new Sandbox('net-named');
  before(() => sb.importBusybox());
  after(() => {
    sb.destroy();
    const r = spawnSync('ps', ['-u', String(process.getuid!()), '-o', 'args='], { encoding: 'utf8' });
    assert.deepEqual(r.stdout.split('\n').filter((l) => l.includes(sb.root) && !/defunct/.test(l)), [], 'nothing of the sandbox is left running');
  });

  test('create, ls, inspect; bad input is one line', () => {
    const id = sb.ok(['network', 'create', '--label', 'team=a', 'n1']).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    sb.ok(['network', 'create', 'n2']);
    sb.ok(['network', 'create', '--internal', '--subnet', '10.99.0.0/24', '--gateway', '10.99.0.254', 'ni']);
    const ls = sb.ok(['network', 'ls']);
    assert.match(ls, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/m);
    assert.match(ls, new RegExp(`^${id.slice(0, 12)}\\s+n1\\s+bridge\\s+local$`, 'm'));
    assert.match(ls, /\srootlet\s+bridge\s+local$/m);
    assert.equal(sb.ok(['network', 'ls', '-q', '--filter', 'label=team=a']).trim(), id.slice(0, 12));
    assert.equal(sb.ok(['network', 'ls', '--filter', 'name=n', '--format', '{{.Name}} {{.Internal}}']).split('\n').sort().join(' ').trim(), 'n1 false n2 false ni true');
    const [ni] = JSON.parse(sb.ok(['network', 'inspect', 'ni']));
    assert.equal(ni.Internal, true);
    assert.deepEqual(ni.IPAM.Config, [{ Subnet: '10.99.0.0/24', Gateway: '10.99.0.254' }]);
    assert.equal(sb.ok(['network', 'inspect', '-f', '{{.Labels.team}}', 'n1']).trim(), 'a');
    for (const [args, msg] of [
      [['network', 'create', 'n1'], /network with name n1 already exists/],
      [['network', 'create', '--subnet', '10.99.0.0/25', 'clash'], /overlaps with network ni/],
      [['network', 'create', '--subnet', '10.99.0.1/24', 'x'], /host bits set/],
      [['network', 'create', '-d', 'macvlan', 'x'], /"macvlan" for "-d, --driver" flag: not a supported network driver/],
      [['run', '--rm', '--network', 'nope', 'busybox', 'true'], /network nope not found/],
    ] as const) {
      const r = sb.run([...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  test('containers on n1 find each other by name and alias, also one started later; n2 cannot reach them', () => {
    sb.ok(['run', '-d', '--name', 'client', '--network', 'n1', 'busybox', 'sleep', '300']);
    sb.ok(['run', '-d', '--name', 'web', '--network', 'n1', '--network-alias', 'www', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
    // client started first: its /etc/hosts was rewritten when web joined.
    assert.equal(sb.ok(['exec', 'client', 'wget', '-q', '-O-', 'http://web:80/']), 'hello from rootlet\n');
    assert.equal(sb.ok(['exec', 'client', 'wget', '-q', '-O-', 'http://www/']), 'hello from rootlet\n');
    const webIp = sb.ok(['inspect', '-f', '{{.NetworkSettings.Networks.n1.IPAddress}}', 'web']).trim();
    assert.match(webIp, /^10\.89\.\d+\.\d+$/);
    const [n1] = JSON.parse(sb.ok(['network', 'inspect', 'n1']));
    assert.deepEqual(Object.values(n1.Containers).map((c) => (c as { Name: string }).Name).sort(), ['client', 'web']);
    // A container on another network has neither the name nor the address: what leaves n2 goes out
    // through its stack to the host's network, which has no route to n1's bridge (this CI host's
    // upstream answers any TCP connection, so the test looks at what comes back).
    const other = sb.run(['run', '--rm', '--network', 'n2', 'busybox', 'sh', '-c', `grep -w web /etc/hosts; wget -T 3 -q -O- http://${webIp}/`]);
    assert.notEqual(other.code, 0);
    assert.doesNotMatch(other.stdout, /web|hello from rootlet/);
    assert.equal(sb.ok(['ps', '-q', '--filter', 'network=n1']).trim().split('\n').length, 2);
  });

  test('network connect and disconnect of a running container, with an alias', () => {
    sb.ok(['network', 'connect', '--alias', 'web2', 'n2', 'web']);
    assert.equal(sb.ok(['run', '--rm', '--network', 'n2', 'busybox', 'wget', '-q', '-O-', 'http://web2/']), 'hello from rootlet\n');
    const again = sb.run(['network', 'connect', 'n2', 'web']);
    assert.equal(again.code, 125);
    assert.match(again.stderr, /endpoint with name web already exists in network n2/);
    sb.ok(['network', 'disconnect', 'n2', 'web']);
    const gone = sb.run(['run', '--rm', '--network', 'n2', 'busybox', 'grep', 'web2', '/etc/hosts']);
    assert.notEqual(gone.code, 0);
    const notOn = sb.run(['network', 'disconnect', 'n2', 'web']);
    assert.match(notOn.stderr, /container web is not connected to network n2/);
    // The first network is untouched.
    assert.equal(sb.ok(['exec', 'client', 'wget', '-q', '-O-', 'http://web/']), 'hello from rootlet\n');
  });

  test('an --internal network has no route out', async () => {
    const srv = await hostServer(18200, 'hi');
    try {
      const gw = sb.ok(['run', '--rm', 'busybox', 'sh', '-c', "grep host.containers.internal /etc/hosts | cut -f1"]).trim();
      assert.equal(sb.ok(['run', '--rm', 'busybox', 'wget', '-q', '-O-', `http://${gw}:18200/`]), 'hi', 'the default network reaches the host');
      const r = sb.run(['run', '--rm', '--network', 'ni', 'busybox', 'sh', '-c', `ip route; nc -w 2 ${gw} 18200 </dev/null`]);
      assert.notEqual(r.code, 0);
      assert.doesNotMatch(r.stdout, /default/);
      assert.doesNotMatch(sb.ok(['run', '--rm', '--network', 'ni', 'busybox', 'cat', '/etc/hosts']), /host\.containers\.internal/);
      const p = sb.run(['run', '--rm', '--network', 'ni', '-p', '18201:80', 'busybox', 'true']);
      assert.equal(p.code, 125);
      assert.match(p.stderr, /cannot publish ports: the container's networks \(ni\) are internal/);
    } finally {
      srv.close();
    }
  });

  test('removing a network in use is refused; prune removes only unused ones', () => {
    const rm = sb.run(['network', 'rm', 'n1']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /network n1 id [0-9a-f]+ has active endpoints \((web, client|client, web)\)/);
    assert.equal(rm.stderr.trim().split('\n').length, 1);
    const def = sb.run(['network', 'rm', 'rootlet']);
    assert.match(def.stderr, /rootlet is a pre-defined network and cannot be removed/);
    assert.equal(sb.run(['network', 'rm', 'nope']).code, 1);
    assert.equal(sb.run(['network', 'rm', '-f', 'nope']).code, 0);
    sb.ok(['network', 'create', 'spare']);
    const asked = sb.run(['network', 'prune'], { input: 'n\n' });
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(asked.stdout, /Are you sure you want to continue\? \[y\/N\] $/);
    assert.ok(sb.ok(['network', 'ls', '--format', '{{.Name}}']).includes('spare'), 'nothing removed on "n"');
    const pruned = sb.ok(['network', 'prune', '-f']);
    assert.match(pruned, /^Deleted Networks:\n/);
    assert.deepEqual(pruned.split('\n').slice(1).filter(Boolean).sort(), ['n2', 'ni', 'spare']);
    assert.deepEqual(sb.ok(['network', 'ls', '--format', '{{.Name}}']).trim().split('\n').sort(), ['n1', 'rootlet']);
    sb.ok(['rm', '-f', 'web', 'client']);
    assert.equal(sb.ok(['network', 'rm', 'n1']).trim(), 'n1');
  });
});
