import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';

/**
 * The containers.conf and storage.conf a Podman user already has: the keys
 * that mean the same for rootlet apply, rootlet.toml wins over them, and a
 * flag wins over both.
 */
describe('containers.conf and storage.conf', () => {
  const sb = new Sandbox('containers-conf');
  const conf = sb.path('config/containers/containers.conf');
  const write = (file: string, text: string) => {
    mkdirSync(file.slice(0, file.lastIndexOf('/')), { recursive: true });
    writeFileSync(file, text);
  };
  before(() => {
    sb.importBusybox('busybox');
  });
  after(() => sb.destroy());

  test('env, dns and default capabilities from the user\'s containers.conf; flags and the image win', () => {
    write(conf, `# a Podman user's file
[containers]
env = ["FROM_CONF=conf", "SHARED=conf"]
dns_servers = ["192.0.2.53"]
dns_searches = ["conf.example"]
default_capabilities = ["CHOWN", "NET_RAW"]
`);
    const out = sb.ok(['run', '--rm', '-e', 'SHARED=flag', 'busybox', 'sh', '-c', 'echo $FROM_CONF $SHARED; grep -E "^(nameserver|search)" /etc/resolv.conf; grep CapBnd /proc/self/status']);
    const [envLine, ...rest] = out.trim().split('\n');
    assert.equal(envLine, 'conf flag');
    assert.ok(rest.includes('nameserver 192.0.2.53'), out);
    assert.ok(rest.some((l) => /^search .*conf\.example/.test(l)), out);
    // CAP_CHOWN (bit 0) and CAP_NET_RAW (bit 13): 0x2001.
    assert.match(out, /CapBnd:\s+0000000000002001/);
    const flags = sb.ok(['run', '--rm', '--dns', '192.0.2.1', '--cap-drop', 'NET_RAW', '--cap-add', 'KILL', 'busybox', 'sh', '-c', 'grep nameserver /etc/resolv.conf; grep CapBnd /proc/self/status']);
    assert.match(flags, /nameserver 192\.0\.2\.1\n/);
    assert.doesNotMatch(flags, /192\.0\.2\.53/);
    // CHOWN and KILL (bit 5): 0x21.
    assert.match(flags, /CapBnd:\s+0000000000000021/);
    rmSync(conf);
  });

  test('rootlet.toml wins over containers.conf; CONTAINERS_CONF replaces the files', () => {
    // The conf names pasta, not the default (slirp4netns), so that the default below shows it was not read.
    write(conf, '[network]\ndefault_rootless_network_cmd = "pasta"\n');
    assert.match(sb.ok(['info']), /stack pasta/);
    write(sb.path('config/rootlet/rootlet.toml'), '[network]\ndefault_rootless_network_cmd = "slirp4netns"\n');
    assert.match(sb.ok(['info']), /stack slirp4netns/);
    rmSync(sb.path('config/rootlet/rootlet.toml'));
    const only = sb.path('only.conf');
    writeFileSync(only, '[containers]\nenv = ["ONLY=1"]\n');
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'sh', '-c', 'echo ${ONLY:-unset}'], { env: { CONTAINERS_CONF: only } }).trim(), '1');
    assert.match(sb.ok(['info'], { env: { CONTAINERS_CONF: only } }), /stack slirp4netns/);
    rmSync(conf);
  });

  test('storage.conf\'s graphroot and runroot: rootlet keeps its store in rootlet/ under them', () => {
    const cfg = sb.path('config2');
    write(`${cfg}/containers/storage.conf`, `[storage]\ndriver = "overlay"\ngraphroot = "${sb.path('graph')}"\nrunroot = "${sb.path('runroot')}"\n`);
    const info = JSON.parse(sb.ok(['info', '--format', 'json'], { env: { XDG_CONFIG_HOME: cfg } })) as { storage: { root: string; runRoot: string } };
    assert.equal(info.storage.root, sb.path('graph/rootlet'));
    assert.equal(info.storage.runRoot, sb.path('runroot/rootlet'));
    sb.ok(['system', 'reset', '--force'], { env: { XDG_CONFIG_HOME: cfg } });
  });

  test('a bad value is refused in one line naming the file and key; nothing is created', () => {
    const names = () => sb.ok(['ps', '-a', '-q']);
    const before = names();
    for (const [text, want] of [
      ['[containers]\ndefault_capabilities = ["NOT_A_CAP"]\n', /containers\.conf: containers\.default_capabilities entry.*NOT_A_CAP/],
      ['[containers]\nenv = "A=1"\n', /containers\.conf: containers\.env must be a list of strings/],
      ['[network]\ndefault_rootless_network_cmd = "netavark"\n', /containers\.conf: network\.default_rootless_network_cmd: "netavark" is not a network stack/],
      ['[containers\n', /containers\.conf: .*fix the file or move it away/],
    ] as const) {
      write(conf, text);
      const r = sb.run(['create', 'busybox', 'true']);
      assert.equal(r.code, 125, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, want);
    }
    rmSync(conf);
    assert.equal(names(), before);
    assert.ok(!existsSync(sb.path('data/rootlet/containers')) || readdirSync(sb.path('data/rootlet/containers')).length === 0);
  });
});
