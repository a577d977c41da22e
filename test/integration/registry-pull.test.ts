import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { BIN, Sandbox } from '../helpers.js';
import { startRegistry, type Registry } from '../registry-helpers.js';

describe('push to and pull from a plain-HTTP docker-registry', () => {
  const sb = new Sandbox('registry-pull');
  let reg: Registry;
  let id: string;
  before(async () => {
    reg = await startRegistry();
    id = sb.importBusybox('busybox');
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  test('push prints the digest; pull after rmi brings back the same image, and it runs', () => {
    const name = `${reg.host}/test/busybox:1`;
    const pushed = sb.ok(['push', '--tls-verify=false', 'busybox', name]);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    assert.ok(digest, pushed);
    assert.match(pushed, /Pushed/);
    // Pushing again: every blob is already there.
    assert.match(sb.ok(['push', '--tls-verify=false', 'busybox', name]), /Layer already exists/);
    sb.ok(['rmi', 'busybox']);
    const out = sb.ok(['pull', '--tls-verify=false', name]);
    assert.match(out, /1: Pulling from test\/busybox/);
    assert.match(out, /Pull complete/);
    assert.match(out, new RegExp(`Digest: ${digest}`));
    assert.match(out, new RegExp(`Status: Downloaded newer image for ${reg.host}/test/busybox:1`));
    const inspect = JSON.parse(sb.ok(['image', 'inspect', name])) as Array<{ Id: string }>;
    assert.equal(inspect[0]!.Id, id);
    assert.equal(sb.ok(['run', '--rm', name, 'echo', 'pulled']).trim(), 'pulled');
    // Pulled again: nothing to fetch.
    const again = sb.ok(['pull', '--tls-verify=false', name]);
    assert.match(again, /Already exists/);
    assert.match(again, /Image is up to date/);
    assert.equal(sb.ok(['pull', '-q', '--tls-verify=false', name]).trim(), name);
  });

  test('without --tls-verify=false a plain-HTTP registry is refused with the fix', () => {
    const r = sb.run(['pull', `${reg.host}/test/busybox:1`]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /does not speak TLS.*--tls-verify=false/);
  });

  test('an unknown tag is "manifest unknown", naming the reference; nothing is stored', () => {
    const before = sb.ok(['images', '-q']);
    const r = sb.run(['pull', '--tls-verify=false', `${reg.host}/test/busybox:nope`]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, new RegExp(`${reg.host}/test/busybox:nope: manifest unknown`));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(sb.ok(['images', '-q']), before);
  });

  test('bad names and flags: one line each, exit 125', () => {
    const cases: Array<[string[], RegExp]> = [
      [['pull', 'Bad/Name'], /invalid reference format "Bad\/Name"/],
      [['pull', '--tls-verify=maybe', `${reg.host}/test/busybox:1`], /invalid argument "maybe" for "--tls-verify" flag: not a boolean: use true or false/],
      [['pull', '--creds', 'nocolon', `${reg.host}/test/busybox:1`], /for "--creds" flag: not USER:PASSWORD/],
      [['pull', '--platform', 'amd64', '--tls-verify=false', `${reg.host}/test/busybox:1`], /invalid argument "amd64" for "--platform" flag: not a platform: use os\/arch/],
      [['push', '--tls-verify=false', `${reg.host}/test/busybox:1`, `${reg.host}/test/busybox@sha256:${'a'.repeat(64)}`], /a digest reference names content, not a place/],
      [['push', 'no-such-local-image', `${reg.host}/x:1`], /Unable to find image 'no-such-local-image' locally/],
      [['login', reg.host], /no user name: give -u NAME/],
      [['logout', reg.host], /not logged in to 127\.0\.0\.1:\d+/],
      [['pull', '--cert-dir', '/nonexistent', `${reg.host}/test/busybox:1`], /--cert-dir \/nonexistent: no such directory/],
    ];
    for (const [args, want] of cases) {
      const r = sb.run(args);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, want);
    }
  });

  test('run pulls a missing image (--pull missing), refuses with --pull never', () => {
    const name = `${reg.host}/test/busybox:1`;
    sb.ok(['rmi', name]);
    const never = sb.run(['run', '--rm', '--pull', 'never', name, 'true']);
    assert.equal(never.code, 125);
    assert.match(never.stderr, /Unable to find image/);
    // registries.conf marks the registry insecure: run has no --tls-verify.
    const r = sb.run(['run', '--rm', name, 'echo', 'hi'], { env: { CONTAINERS_REGISTRIES_CONF: writeConf(sb, reg.host) } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'hi');
    assert.match(r.stderr, /Unable to find image .* locally/);
    assert.match(r.stderr, /Pull complete/);
  });
});

describe('registries.conf: short names, mirrors; pull --all-tags', () => {
  const sb = new Sandbox('registry-conf');
  let reg: Registry;
  before(async () => {
    reg = await startRegistry();
    sb.importBusybox('busybox');
    sb.ok(['push', '--tls-verify=false', 'busybox', `${reg.host}/team/tool:1`]);
    sb.ok(['push', '--tls-verify=false', 'busybox', `${reg.host}/team/tool:2`]);
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  test('a short name is looked up in the search registries; run finds it again under that name', () => {
    const conf = sb.path('search.conf');
    writeFileSync(conf, `unqualified-search-registries = ["${reg.host}"]\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
    const env = { CONTAINERS_REGISTRIES_CONF: conf };
    const out = sb.ok(['pull', 'team/tool:1'], { env });
    assert.match(out, new RegExp(`^${reg.host}/team/tool:1$`, 'm'));
    const r = sb.run(['run', '--rm', 'team/tool:1', 'echo', 'short'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'short');
    assert.doesNotMatch(r.stderr, /Unable to find/);
  });

  test('a mirror is tried first; the image keeps the name asked for', () => {
    const conf = sb.path('mirror.conf');
    // The registry itself is unreachable (port 1): only the mirror can serve.
    writeFileSync(conf, `[[registry]]\nprefix = "example.invalid"\nlocation = "127.0.0.1:1"\n[[registry.mirror]]\nlocation = "${reg.host}"\ninsecure = true\n`);
    const out = sb.ok(['pull', 'example.invalid/team/tool:2'], { env: { CONTAINERS_REGISTRIES_CONF: conf } });
    assert.match(out, /^example\.invalid\/team\/tool:2$/m);
    assert.equal(sb.run(['image', 'inspect', 'example.invalid/team/tool:2']).code, 0);
  });

  test('on a terminal, pull redraws one line per layer in place', () => {
    sb.run(['rmi', `${reg.host}/team/tool:1`]);
    const cmd = `${process.execPath} ${BIN} pull --tls-verify=false ${reg.host}/team/tool:1`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: sb.env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\x1b\[2K[0-9a-f]{12}: Pulling fs layer/);
    assert.match(r.stdout, /\x1b\[\d+A/);
    assert.match(r.stdout, /[0-9a-f]{12}: (Pull complete|Already exists)/);
  });

  test('pull --all-tags fetches every tag', () => {
    const out = sb.ok(['pull', '-a', '-q', '--tls-verify=false', `${reg.host}/team/tool`]);
    assert.deepEqual(out.trim().split('\n').sort(), [`${reg.host}/team/tool:1`, `${reg.host}/team/tool:2`]);
  });
});

function writeConf(sb: Sandbox, host: string): string {
  const file = sb.path('registries.conf');
  writeFileSync(file, `[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
  return file;
}
