import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { hostServer } from '../network-helpers.js';
import { containerNetProcesses, netProcesses, Sandbox, until } from '../helpers.js';

// Host ports of this file: 18080-18199 (network-named uses 18200-18299).
const here = dirname(fileURLToPath(import.meta.url));
const UDP_ECHO_DIR = join(here, '../fixtures');

function curl(url: string): { code: number; body: string } {
  const r = spawnSync('curl', ['-s', '--max-time', '5', url], { encoding: 'utf8' });
  return { code: r.status ?? 1, body: r.stdout ?? '' };
}

function udpAsk(port: number, text: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (v: string | undefined) => { s.close(); resolve(v); };
    const timer = setTimeout(() => done(undefined), 3000);
    s.on('message', (m) => { clearTimeout(timer); done(m.toString()); });
    s.send(text, port, '127.0.0.1');
  });
}

describe('the default network and published ports', () => {
  const sb = new Sandbox('net-ports');
  before(() => sb.importBusybox());
  after(() => {
    sb.destroy();
    assert.deepEqual(netProcesses(sb.root), [], 'system reset leaves no stack or forwarder running');
  });

  test('a container gets eth0 on the default network, its name in /etc/hosts, the host and a name server', () => {
    const out = sb.ok(['run', '--rm', '--name', 'plain', '--hostname', 'box', 'busybox', 'sh', '-c', 'ip -4 addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf']);
    assert.match(out, /inet 10\.88\.\d+\.\d+\/16/);
    assert.match(out, /default via 10\.88\.0\.1 dev eth0/);
    assert.match(sb.ok(['run', '--rm', 'busybox', 'ip', 'link', 'show', 'eth0']), /mtu 65520/);
    assert.match(out, /^10\.88\.\d+\.\d+\tbox plain$/m);
    assert.match(out, /\thost\.containers\.internal host\.docker\.internal$/m);
    assert.match(out, /^nameserver \S+$/m);
  });

  test('--dns, --dns-search, --dns-option and --add-host are written for the container', () => {
    const out = sb.ok(['run', '--rm', '--dns', '192.0.2.53', '--dns-search', 'corp.example', '--dns-option', 'ndots:2',
      '--add-host', 'db:10.1.2.3', '--add-host', 'hostgw:host-gateway', 'busybox', 'cat', '/etc/resolv.conf', '/etc/hosts']);
    assert.match(out, /^search corp\.example$/m);
    assert.match(out, /^nameserver 192\.0\.2\.53$/m);
    assert.match(out, /^options ndots:2$/m);
    assert.match(out, /^10\.1\.2\.3\tdb$/m);
    assert.match(out, /^\S+\thostgw$/m);
    const bad = sb.run(['run', '--rm', '--dns', 'not-an-ip', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid argument "not-an-ip" for "--dns" flag: not an IP address/);
  });

  test('host.containers.internal reaches a server on the host\'s loopback', async () => {
    const srv = await hostServer(18090, 'host says hi');
    try {
      const out = sb.ok(['run', '--rm', 'busybox', 'wget', '-q', '-O-', 'http://host.containers.internal:18090/']);
      assert.equal(out, 'host says hi');
      assert.equal(sb.ok(['run', '--rm', 'busybox', 'wget', '-q', '-O-', 'http://host.docker.internal:18090/']), 'host says hi');
    } finally {
      srv.close();
    }
  });

  test('--net none has only lo, and cannot reach the host', async () => {
    const srv = await hostServer(18091, 'host says hi');
    try {
      assert.deepEqual(sb.ok(['run', '--rm', '--net', 'none', 'busybox', 'ls', '/sys/class/net']).trim().split(/\s+/), ['lo']);
      const r = sb.run(['run', '--rm', '--net', 'none', 'busybox', 'nc', '-w', '2', '127.0.0.1', '18091']);
      assert.notEqual(r.code, 0);
      const gw = sb.run(['run', '--rm', '--net', 'none', 'busybox', 'nc', '-w', '2', '10.88.0.1', '18091']);
      assert.notEqual(gw.code, 0);
    } finally {
      srv.close();
    }
  });

  test('-p 18080:80 and -p 18081:81/udp reach the container; port lists both; ps and inspect show them', async () => {
    sb.ok(['run', '-d', '--name', 'web', '-p', '18080:80', '-p', '18081:81/udp', '-v', `${UDP_ECHO_DIR}:/opt/fixtures:ro`,
      'busybox', 'sh', '-c', '/opt/fixtures/udp-echo 81 & exec httpd -f -p 80 -h /www']);
    await until('httpd answers', () => curl('http://127.0.0.1:18080/').code === 0);
    assert.equal(curl('http://127.0.0.1:18080/').body, 'hello from rootlet\n');
    assert.equal(await udpAsk(18081, 'ping'), 'echo:ping');
    assert.equal(sb.ok(['port', 'web']), '80/tcp -> 0.0.0.0:18080\n81/udp -> 0.0.0.0:18081\n');
    assert.equal(sb.ok(['port', 'web', '81/udp']), '0.0.0.0:18081\n');
    const none = sb.run(['port', 'web', '443']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No public port '443\/tcp' published for web/);
    assert.match(sb.ok(['ps', '--format', '{{.Ports}}', '--filter', 'name=web']), /0\.0\.0\.0:18080->80\/tcp, 0\.0\.0\.0:18081->81\/udp/);
    assert.equal(sb.ok(['ps', '-q', '--filter', 'publish=81/udp']).trim().length, 12);
    assert.equal(sb.ok(['ps', '-q', '--filter', 'publish=82']).trim(), '');
    const c = JSON.parse(sb.ok(['inspect', 'web']))[0];
    assert.deepEqual(c.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '18080' }], '81/udp': [{ HostIp: '0.0.0.0', HostPort: '18081' }] });
    assert.deepEqual(c.NetworkSettings.Ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: '18080' }]);
    assert.match(c.NetworkSettings.IPAddress, /^10\.88\./);
    assert.equal(c.NetworkSettings.Networks.rootlet.Gateway, '10.88.0.1');
    assert.match(c.NetworkSettings.Networks.rootlet.MacAddress, /^02:42:/);
    // The server sees the network's gateway as the source of a published connection.
    sb.ok(['exec', '-i', 'web', 'sh', '-c', 'mkdir -p /www/cgi-bin && cat > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip'],
      { input: '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s" "$REMOTE_ADDR"\n' });
    // (busybox httpd listens on IPv6 too, and shows IPv4 peers v4-mapped)
    assert.match(curl('http://127.0.0.1:18080/cgi-bin/ip').body.trim(), /^\[?(::ffff:)?10\.88\.0\.1\]?$/);
    sb.ok(['rm', '-f', 'web']);
    assert.notEqual(curl('http://127.0.0.1:18080/').code, 0, 'the port is closed once the container is gone');
    assert.deepEqual(netProcesses(sb.root).filter((l) => l.includes('portfwd')), []);
  });

  test('ranges, a free host port, -P for --expose\'d ports, and a stopped container shows no bound ports', async () => {
    sb.ok(['run', '-d', '--name', 'ranged', '-p', '18100-18101:80-81', '-p', '127.0.0.1::80', '--expose', '90', '-P',
      'busybox', 'sh', '-c', 'httpd -p 81 -h /www; exec httpd -f -p 80 -h /www']);
    const ports = sb.ok(['port', 'ranged']).trim().split('\n');
    assert.ok(ports.includes('80/tcp -> 0.0.0.0:18100'), ports.join('; '));
    assert.ok(ports.includes('81/tcp -> 0.0.0.0:18101'), ports.join('; '));
    const free = ports.find((l) => l.startsWith('80/tcp -> 127.0.0.1:'));
    assert.ok(free, ports.join('; '));
    assert.ok(ports.some((l) => /^90\/tcp -> 0\.0\.0\.0:\d+$/.test(l)), ports.join('; '));
    await until('httpd answers on both', () => curl('http://127.0.0.1:18101/').code === 0 && curl(`http://${free!.split(' -> ')[1]}/`).code === 0);
    assert.equal(sb.ok(['ps', '-q', '--filter', 'expose=90']).trim().length, 12);
    sb.ok(['stop', '-t', '1', 'ranged']);
    assert.equal(sb.ok(['port', 'ranged']), '');
    assert.match(sb.ok(['ps', '-a', '--format', '{{.Ports}}', '--filter', 'name=ranged']), /^80\/tcp, 81\/tcp, 90\/tcp\n$/);
    sb.ok(['rm', 'ranged']);
  });

  test('a host port below ip_unprivileged_port_start is refused before anything is created', () => {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
    assert.ok(start > 80, 'this test needs ip_unprivileged_port_start above 80');
    const before = sb.ok(['ps', '-aq']);
    const r = sb.run(['run', '-d', '--name', 'low', '-p', '80:80', 'busybox', 'true']);
    assert.equal(r.code, 125);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`host port 80: .*net\\.ipv4\\.ip_unprivileged_port_start \\(${start} here\\).*pick a host port >= ${start}.*sysctl -w net\\.ipv4\\.ip_unprivileged_port_start=80`));
    assert.equal(sb.ok(['ps', '-aq']), before);
    assert.equal(sb.run(['create', '-p', '80:80', 'busybox', 'true']).code, 125);
    assert.equal(sb.ok(['ps', '-aq']), before);
  });

  test('a host port in use: run fails with one line and leaves nothing; create fails at start, as Docker', async () => {
    const srv = await hostServer(18110, 'host says hi');
    try {
      const before = sb.ok(['ps', '-aq']);
      for (const mode of [[], ['-d']]) {
        const r = sb.run(['run', ...mode, '--name', 'clash', '-p', '18110:80', 'busybox', 'sleep', '30']);
        assert.equal(r.code, 125, r.stderr);
        assert.match(r.stderr, /cannot publish host port 18110\/tcp: it is already in use/);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.equal(sb.ok(['ps', '-aq']), before, 'no container record is left');
      }
      sb.ok(['create', '--name', 'clash', '-p', '18110:80', 'busybox', 'sleep', '30']);
      const s = sb.run(['start', 'clash']);
      assert.notEqual(s.code, 0);
      assert.match(s.stderr, /already in use/);
      assert.match(sb.ok(['ps', '-a', '--filter', 'name=clash', '--format', '{{.Status}}']), /Exited|Created/);
      sb.ok(['rm', 'clash']);
      assert.deepEqual(containerNetProcesses(sb.root), [], 'no stack of its own or forwarder is left running');
    } finally {
      srv.close();
    }
  });

  test('--net container:NAME shares the other container\'s namespace; --net host is the host\'s', () => {
    sb.ok(['run', '-d', '--name', 'owner', 'busybox', 'httpd', '-f', '-p', '8080', '-h', '/www']);
    assert.equal(sb.ok(['run', '--rm', '--net', 'container:owner', 'busybox', 'wget', '-q', '-O-', 'http://127.0.0.1:8080/']), 'hello from rootlet\n');
    const hostIfs = spawnSync('ls', ['/sys/class/net'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(sb.ok(['run', '--rm', '--net', 'host', 'busybox', 'ls', '/sys/class/net']).trim(), hostIfs);
    sb.ok(['rm', '-f', 'owner']);
  });

  test('--network pasta and slirp4netns: a stack of the container\'s own, with ports', async () => {
    for (const [stack, port] of [['pasta', 18120], ['slirp4netns', 18121]] as const) {
      sb.ok(['run', '-d', '--name', `own-${stack}`, '--network', stack, '-p', `${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
      await until(`${stack} forwards`, () => curl(`http://127.0.0.1:${port}/`).body === 'hello from rootlet\n');
      const hosts = sb.ok(['exec', `own-${stack}`, 'cat', '/etc/hosts']);
      assert.match(hosts, /host\.containers\.internal/);
      sb.ok(['rm', '-f', `own-${stack}`]);
    }
    await until('the stacks are gone', () => containerNetProcesses(sb.root).length === 0);
  });

  test('the default network\'s stack stays up for the next container; kill -9 of a foreground run leaves nothing of it', async () => {
    sb.ok(['run', '-d', '--name', 'keep', '-p', '18130:80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
    const stacks = () => netProcesses(sb.root).filter((l) => /pasta|passt|slirp4netns/.test(l));
    const shared = stacks();
    assert.equal(shared.length, 1, `the shared stack runs: ${shared.join('; ')}`);
    const child = sb.spawn(['run', '--name', 'killed', '-p', '18131:80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
    await until('killed runs', () => curl('http://127.0.0.1:18131/').code === 0, 120_000);
    child.kill('SIGKILL');
    // The next look settles the container and removes its network state.
    sb.ok(['rm', '-f', 'killed']);
    assert.notEqual(curl('http://127.0.0.1:18131/').code, 0);
    assert.equal(curl('http://127.0.0.1:18130/').body, 'hello from rootlet\n', 'the other container is untouched');
    sb.ok(['stop', '-t', '1', 'keep']);
    await until('the forwarders stop with their containers', () => containerNetProcesses(sb.root).length === 0);
    assert.deepEqual(stacks(), shared, 'the stack outlives the last container, for the next one');
    // The next container, foreground, takes the namespace the last one left ready, and reaches the host.
    const peer = sb.ok(['run', '--rm', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ip route']);
    assert.match(peer, /inet 10\.88\.\d+\.\d+\/16/);
    assert.match(peer, /default via 10\.88\.0\.1 dev eth0/);
    assert.deepEqual(stacks(), shared);
    sb.ok(['rm', 'keep']);
  });
});
