import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineError } from '../../src/util/errors.js';
import { forwarderError, PortError } from '../../src/engine/networks/forwarder.js';
import { containerResolv, hostsContent, parseAddHost, resolvContent } from '../../src/engine/networks/hosts.js';
import { portMap } from '../../src/engine/networks/inspect.js';
import { checkDuplicates, checkHostPorts, parseExpose, parsePublish } from '../../src/engine/networks/ports.js';
import { formatPorts } from '../../src/cli/ports-format.js';
import { hostAddresses, parseSubnet } from '../../src/engine/networks/subnet.js';
import { containerNetnsScript, hostIfName, vethRemoveCommand } from '../../src/engine/networks/bridge.js';

function refused(fn: () => unknown, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof EngineError && msg.test(e.message));
}

const b = (hostIp: string, hostPort: number, containerPort: number, protocol: 'tcp' | 'udp' = 'tcp') => ({ hostIp, hostPort, containerPort, protocol });

describe('-p parsing', () => {
  test('Docker\'s forms', () => {
    assert.deepEqual(parsePublish('80'), [b('', 0, 80)]);
    assert.deepEqual(parsePublish('8080:80'), [b('', 8080, 80)]);
    assert.deepEqual(parsePublish('8080:80/udp'), [b('', 8080, 80, 'udp')]);
    assert.deepEqual(parsePublish('127.0.0.1:8080:80'), [b('127.0.0.1', 8080, 80)]);
    assert.deepEqual(parsePublish('127.0.0.1::80'), [b('127.0.0.1', 0, 80)]);
    assert.deepEqual(parsePublish('[::1]:8080:80/TCP'), [b('::1', 8080, 80)]);
    assert.deepEqual(parsePublish('8000-8001:80-81'), [b('', 8000, 80), b('', 8001, 81)]);
    assert.deepEqual(parsePublish('80-81'), [b('', 0, 80), b('', 0, 81)]);
  });

  test('bad input is refused with what to write', () => {
    refused(() => parsePublish('8080:'), /no container port/);
    refused(() => parsePublish('x:80'), /host port "x" is not a port number/);
    refused(() => parsePublish('8080:70000'), /not a port number/);
    refused(() => parsePublish('8000-8002:80-81'), /differ in length/);
    refused(() => parsePublish('81-80'), /ends before it starts/);
    refused(() => parsePublish('80/sctp'), /sctp is not supported/);
    refused(() => parsePublish('1.2.3:80:80'), /"1\.2\.3" is not an IP address/);
    refused(() => parsePublish('a:b:c:d'), /use \[IP:\]\[HOSTPORT:\]CONTAINERPORT/);
    refused(() => checkDuplicates([...parsePublish('8080:80'), ...parsePublish('8080:81')]), /host port 8080\/tcp is published twice/);
    checkDuplicates([...parsePublish('8080:80'), ...parsePublish('8080:80/udp'), ...parsePublish('80')]);
  });

  test('--expose', () => {
    assert.deepEqual(parseExpose('90'), ['90/tcp']);
    assert.deepEqual(parseExpose('90-91/udp'), ['90/udp', '91/udp']);
  });

  test('a host port below the sysctl: one line with the port, the sysctl, its value and both fixes', () => {
    checkHostPorts(parsePublish('1024:80'), 1024);
    checkHostPorts(parsePublish('80'), 1024);
    checkHostPorts(parsePublish('80:80'), 1024, true);
    assert.throws(() => checkHostPorts(parsePublish('80:80'), 1024), (e: unknown) => {
      const m = (e as Error).message;
      return !m.includes('\n') && /host port 80:/.test(m) && /net\.ipv4\.ip_unprivileged_port_start \(1024 here\)/.test(m)
        && /pick a host port >= 1024/.test(m) && /sysctl -w net\.ipv4\.ip_unprivileged_port_start=80/.test(m);
    });
  });

  test('ps\'s PORTS column folds ranges and lists exposed ports', () => {
    assert.equal(formatPorts([b('', 8000, 80), b('', 8001, 81), b('127.0.0.1', 9000, 53, 'udp')], ['80/tcp', '81/tcp', '53/udp', '90/tcp']),
      '0.0.0.0:8000-8001->80-81/tcp, 127.0.0.1:9000->53/udp, 90/tcp');
    assert.equal(formatPorts([b('::1', 8080, 80)], []), '[::1]:8080->80/tcp');
    assert.equal(formatPorts([], ['80/tcp']), '80/tcp');
  });

  test('inspect\'s port map', () => {
    assert.deepEqual(portMap([b('', 0, 80), b('127.0.0.1', 8080, 80)], ['90/tcp']),
      { '90/tcp': null, '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }, { HostIp: '127.0.0.1', HostPort: '8080' }] });
  });

  test('the forwarder\'s bind errors become one line', () => {
    const inUse = forwarderError('bind tcp,,18080,10.88.0.2,80: Address already in use\n', 1);
    assert.ok(inUse instanceof PortError);
    assert.match(inUse.message, /cannot publish host port 18080\/tcp: it is already in use/);
    assert.match(forwarderError('bind udp,192.0.2.9,53,10.88.0.2,53: Cannot assign requested address', 1).message, /192\.0\.2\.9 is not an address of this host/);
    assert.match(forwarderError('setns: Operation not permitted', 1).message, /the port forwarder failed: setns: Operation not permitted/);
  });
});

describe('subnets', () => {
  test('parsing and address allocation', () => {
    const s = parseSubnet('10.89.3.0/24');
    assert.equal(s.prefix, 24);
    const h = hostAddresses(s);
    assert.equal(h.first, '10.89.3.1');
    assert.equal(h.firstFree(new Set(['10.89.3.1', '10.89.3.2'])), '10.89.3.3');
    assert.equal(hostAddresses(parseSubnet('10.0.0.0/30')).firstFree(new Set(['10.0.0.1', '10.0.0.2'])), undefined);
    assert.ok(h.contains('10.89.3.254'));
    assert.ok(!h.contains('10.89.3.255'));
    refused(() => parseSubnet('10.89.3.1/24'), /host bits set \(did you mean 10\.89\.3\.0\/24\?\)/);
    refused(() => parseSubnet('fd00::/64'), /use an IPv4 network/);
    refused(() => parseSubnet('10.0.0.0/31'), /prefix 8 to 30/);
  });
});

describe('/etc/hosts and resolv.conf', () => {
  test('the container, the host, its peers and --add-host', () => {
    const text = hostsContent({
      hostname: 'abc', name: 'web www', ownIps: ['10.88.0.2'], hostAddr: '192.0.2.1',
      peers: [{ ip: '10.88.0.3', names: ['db', 'db', 'f00'] }], extra: [{ name: 'x', ip: '1.2.3.4' }],
    });
    assert.equal(text, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.88.0.2\tabc web www\n'
      + '192.0.2.1\thost.containers.internal host.docker.internal\n10.88.0.3\tdb f00\n1.2.3.4\tx\n');
    assert.match(hostsContent({ hostname: 'h', name: 'n', ownIps: [], peers: [], extra: [] }), /^127\.0\.1\.1\th n$/m);
  });

  test('--add-host forms', () => {
    assert.deepEqual(parseAddHost('db:10.0.0.5'), { name: 'db', ip: '10.0.0.5' });
    assert.deepEqual(parseAddHost('db=10.0.0.5'), { name: 'db', ip: '10.0.0.5' });
    assert.deepEqual(parseAddHost('v6:[::1]'), { name: 'v6', ip: '::1' });
    assert.deepEqual(parseAddHost('h:host-gateway'), { name: 'h', ip: 'host-gateway' });
    refused(() => parseAddHost('db'), /invalid --add-host "db"/);
    refused(() => parseAddHost('db:nowhere'), /use NAME:IP/);
  });

  test('resolv.conf: flags replace defaults; the stack\'s forwarder is the default server', () => {
    const host = { servers: ['127.0.0.53'], search: ['lan'], options: ['edns0'] };
    assert.equal(resolvContent(containerResolv({ dns: [], dnsSearch: [], dnsOptions: [] }, '169.254.1.1', host)), 'search lan\nnameserver 169.254.1.1\noptions edns0\n');
    assert.equal(resolvContent(containerResolv({ dns: ['9.9.9.9'], dnsSearch: ['.'], dnsOptions: ['ndots:1'] }, '169.254.1.1', host)), 'nameserver 9.9.9.9\noptions ndots:1\n');
    assert.equal(resolvContent(containerResolv({ dns: [], dnsSearch: [], dnsOptions: [] }, undefined, host)), 'search lan\nnameserver 127.0.0.53\noptions edns0\n');
  });
});

describe('a container\'s namespace script (bridge.ts)', () => {
  const plan = (netFile: string, ip: string, gateway?: string) => ({
    netFile, hostIf: hostIfName('0123456789abcdef', netFile.slice(-4)), iface: 'eth0', mac: '02:42:0a:58:00:02', ip, prefix: 16, gateway,
  });

  test('one ip in the new namespace makes every veth, sending its bridge end to the network; one ip per network attaches it', () => {
    const s = containerNetnsScript('/run/ns/ctr-0123', [plan('/run/ns/net-aaaa', '10.88.0.2', '10.88.0.1'), { ...plan('/run/ns/net-bbbb', '10.89.0.2'), iface: 'eth1' }]);
    assert.match(s, /^F=\/run\/ns\/ctr-0123$/m, 'a stack of the container\'s own attaches to $F');
    assert.equal(s.match(/unshare --net=/g)?.length, 1);
    assert.match(s, /^link set lo up$/m);
    assert.match(s, /^link add eth0 mtu 65520 address 02:42:0a:58:00:02 type veth peer name rl01234567aaaa mtu 65520 netns \/run\/ns\/net-aaaa$/m);
    assert.match(s, /^link add eth1 .* netns \/run\/ns\/net-bbbb$/m);
    assert.equal(s.match(/^route add default/gm)?.length, 1, 'the default route through the first network only');
    assert.match(s, /^nsenter --net=\/run\/ns\/net-aaaa ip link set dev rl01234567aaaa master rootlet0 up \|\| exit 1$/m);
    assert.match(s, /^nsenter --net=\/run\/ns\/net-bbbb ip link set dev rl01234567bbbb master rootlet0 up \|\| exit 1$/m);
  });

  test('no network (a stack of its own): lo only', () => {
    const s = containerNetnsScript('/run/ns/ctr-0123', []);
    assert.doesNotMatch(s, /link add|nsenter/);
    assert.match(s, /^link set lo up$/m);
  });

  test('a bridge end is removed by one command, no shell needed', () => {
    assert.deepEqual(vethRemoveCommand('/run/ns/net-aaaa', 'rl01234567aaaa'), ['nsenter', '--net=/run/ns/net-aaaa', 'ip', 'link', 'del', 'rl01234567aaaa']);
  });
});
