import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';

/**
 * Outbound traffic from containers to a host beyond this one: the "remote
 * host" that scripts/test-remote-host.sh runs in a network namespace of its
 * own, routed from the host's (test/fixtures/remote-host-server.mjs). Not
 * loopback and not one of the host's addresses, so the traffic takes the
 * path traffic to the internet takes: through the network's user-mode stack
 * and the host's routing table.
 */
const REMOTE = process.env.ROOTLET_REMOTE_HOST;
const BIG_MD5 = createHash('md5').update(Buffer.alloc(64 << 10, 'rootlet-remote-pattern\n')).digest('hex');

// A request whose answer comes late (the stack ACKs it alone), an upload, a
// download, and a DNS question over UDP; twice, since the first connection
// to a new destination once worked where later ones failed.
const PROBE = `
yes rootlet | head -c 300000 > /tmp/body
for i in 1 2; do
  echo "get $(timeout 30 wget -q -O- http://${REMOTE}:8080/)"
  echo "post $(timeout 30 wget -q -O- --post-file /tmp/body http://${REMOTE}:8080/)"
  echo "big $(timeout 30 wget -q -O- http://${REMOTE}:8080/big | md5sum | cut -d' ' -f1)"
  echo "dns $(timeout 30 nslookup remote.test ${REMOTE} 2>&1 | grep -A1 '^Name:' | sed -n 's/^Address: *//p')"
done`;

const EXPECTED = Array(2).fill(['get remote', 'post got 300000', `big ${BIG_MD5}`, 'dns 198.18.7.99']).flat().join('\n');

describe('outbound traffic to a remote host', () => {
  const sb = new Sandbox('net-out');
  // A second store whose networks use slirp4netns as their shared stack.
  const slirp = new Sandbox('net-out-slirp');

  before(() => {
    assert.ok(REMOTE, 'ROOTLET_REMOTE_HOST is not set: run the tests with scripts/test.sh, which starts the remote host');
    // The first store's networks use pasta, the second's the default (slirp4netns), named here all the same.
    mkdirSync(sb.path('config', 'rootlet'), { recursive: true });
    writeFileSync(sb.path('config', 'rootlet', 'rootlet.toml'), '[network]\ndefault_rootless_network_cmd = "pasta"\n');
    sb.importBusybox();
    mkdirSync(slirp.path('config', 'rootlet'), { recursive: true });
    writeFileSync(slirp.path('config', 'rootlet', 'rootlet.toml'), '[network]\ndefault_rootless_network_cmd = "slirp4netns"\n');
    slirp.importBusybox();
  });
  after(() => {
    sb.destroy();
    slirp.destroy();
  });

  const probe = (box: Sandbox, netArgs: string[]) => {
    const r = box.run(['run', '--rm', ...netArgs, 'busybox', 'sh', '-c', PROBE], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), EXPECTED);
  };

  test('the default network (pasta as its stack): TCP both ways and DNS over UDP', () => probe(sb, []));

  test('a named network', () => {
    sb.ok(['network', 'create', 'out1']);
    probe(sb, ['--network', 'out1']);
  });

  test('--network pasta (a stack of the container\'s own)', () => probe(sb, ['--network', 'pasta']));

  test('--network slirp4netns', () => probe(sb, ['--network', 'slirp4netns']));

  test('the default and a named network with slirp4netns as their stack', () => {
    probe(slirp, []);
    slirp.ok(['network', 'create', 'out2']);
    probe(slirp, ['--network', 'out2']);
    // It was slirp4netns that carried it: the running network's stack is one.
    slirp.ok(['run', '-d', '--name', 'idle', 'busybox', 'sleep', '300']);
    const ps = spawnSync('ps', ['-u', String(process.getuid!()), '-o', 'args='], { encoding: 'utf8' }).stdout;
    assert.ok(ps.split('\n').some((l) => l.startsWith('slirp4netns') && l.includes(slirp.root)), ps);
    slirp.ok(['rm', '-f', 'idle']);
  });
});
