import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asUser, BIN, SCRIPTS, shq, type Result } from '../helpers.js';

// scripts/test.sh installs /etc/rootlet/policy.d/50-rootlet-tests.toml
// (test/fixtures/policy-rootlet-ci2.toml) for the second test user alone:
// this file acts as that user, with a store of its own. Its containers run
// with keyring = false: keyring.test.ts fills this user's key quota at times.

const USER = 'rootlet-ci2';
const POLICY = '/etc/rootlet/policy.d/50-rootlet-tests.toml';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The line of `key =` in the installed policy, as the refusal must name it. */
function lineOf(key: string): number {
  const i = readFileSync(POLICY, 'utf8').split('\n').findIndex((l) => l.startsWith(`${key} =`));
  assert.ok(i >= 0, `${key} is in ${POLICY}`);
  return i + 1;
}

describe('the admin policy: every refusal names the rule; an allowed request still runs', () => {
  const pw = spawnSync('getent', ['passwd', USER], { encoding: 'utf8' }).stdout.split(':');
  const home = pw[5]!;
  let store = '';
  let work = '';
  let env: Record<string, string> = {};
  let registry: Server | undefined;
  let registryHits = 0;
  let registryPort = 0;

  const as = (script: string): Result => asUser(USER, ['bash', '-c', `umask 022; ${script}`], env);
  const rootlet = (...args: string[]): Result => asUser(USER, [process.execPath, BIN, ...args], env);
  const ok = (...args: string[]): string => {
    const r = rootlet(...args);
    if (r.code !== 0) throw new Error(`rootlet ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const config = (text: string) => {
    const r = as(`printf %s ${shq(text)} > ${shq(join(store, 'config/rootlet/rootlet.toml'))}`);
    assert.equal(r.code, 0, r.stderr);
  };
  const BASE_CONFIG = '[containers]\nkeyring = false\n';
  const containers = () => ok('ps', '-a', '-q').trim();

  /** Refused: 125, one line naming the rule, its file:line and the part of the request; nothing created. */
  function denied(args: string[], key: string, part: RegExp): void {
    const before = containers();
    const r = rootlet(...args);
    assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0]!, new RegExp(`^rootlet: denied by policy ${esc(POLICY)}:${lineOf(key)} \\(\\[user\\.rootlet-ci2\\] ${key} = `));
    assert.match(lines[0]!, part);
    assert.equal(containers(), before, 'nothing was created');
  }

  before(async () => {
    store = asUser(USER, ['mktemp', '-d', '/tmp/rootlet-policy-XXXXXX']).stdout.trim();
    work = asUser(USER, ['mktemp', '-d', join(home, 'rootlet-policy-XXXXXX')]).stdout.trim();
    assert.ok(store && work, 'mktemp as the second user');
    env = {
      HOME: home, USER, PATH: '/usr/local/bin:/usr/bin:/bin',
      XDG_DATA_HOME: join(store, 'data'), XDG_CONFIG_HOME: join(store, 'config'), XDG_RUNTIME_DIR: join(store, 'run'),
    };
    const r = as([
      `mkdir -m 0700 ${shq(env.XDG_RUNTIME_DIR!)} && mkdir -p ${shq(join(store, 'config/rootlet'))} ${shq(join(work, 'data'))}`,
      `ln -s /etc ${shq(join(work, 'etc-link'))}`,
      `bash ${shq(join(SCRIPTS, 'make-busybox-rootfs.sh'))} ${shq(join(store, 'busybox.tar'))}`,
    ].join(' && '));
    assert.equal(r.code, 0, r.stderr);
    config(BASE_CONFIG);
    ok('import', join(store, 'busybox.tar'), 'busybox');
    registry = createServer((s) => { registryHits++; s.destroy(); });
    await new Promise<void>((res) => registry!.listen(0, '127.0.0.1', res));
    registryPort = (registry.address() as { port: number }).port;
  });

  after(() => {
    registry?.close();
    if (store) rootlet('system', 'reset', '--force');
    if (store || work) as(`rm -rf ${shq(store)} ${shq(work)}`);
  });

  for (const verb of ['run', 'create']) {
    test(`${verb}: bind mounts outside the roots, host network, ports outside the range, a forbidden runtime`, () => {
      denied([verb, '-v', '/:/host', 'busybox', 'true'], 'bind_roots', /\): -v \/:\/host$/);
      denied([verb, '-v', `${join(work, 'etc-link')}:/e`, 'busybox', 'true'], 'bind_roots', /etc-link:\/e \(.*etc-link resolves to \/etc\)$/);
      denied([verb, '--net', 'host', 'busybox', 'true'], 'host_network', /host_network = false\): --network host$/);
      denied([verb, '-p', '8080:80', 'busybox', 'true'], 'ports', /ports = "20000-20999"\): -p 8080:80\/tcp$/);
      denied([verb, '-p', '80', 'busybox', 'true'], 'ports', /a free host port is picked at random/);
      denied([verb, '--runtime', 'runc', 'busybox', 'true'], 'runtimes', /runtimes = \["crun"\]\): --runtime runc$/);
    });

    test(`${verb}: an image from a registry the policy does not list is refused before any network access`, () => {
      denied([verb, `127.0.0.1:${registryPort}/x`, 'true'], 'registries', new RegExp(`registries = \\["docker\\.io"\\]\\): image 127\\.0\\.0\\.1:${registryPort}/x:latest from registry 127\\.0\\.0\\.1:${registryPort}$`));
      assert.equal(registryHits, 0, 'no connection to the registry');
    });
  }

  test('pull from an unlisted registry: refused before any network access', () => {
    denied(['pull', `127.0.0.1:${registryPort}/x:1`], 'registries', /image 127\.0\.0\.1:\d+\/x:1 from registry/);
    // build: its FROM images come through the same rule.
    const ctx = as(`d=$(mktemp -d ${shq(join(work, 'build-XXXXXX'))}) && printf 'FROM 127.0.0.1:${registryPort}/x:1\\nRUN true\\n' > "$d/Containerfile" && echo "$d"`).stdout.trim();
    denied(['build', '-q', ctx], 'registries', /image 127\.0\.0\.1:\d+\/x:1 from registry/);
    denied(['pull', '--all-tags', `127.0.0.1:${registryPort}/x`], 'registries', /pull --all-tags/);
    assert.equal(registryHits, 0, 'no connection to the registry');
  });

  test('--privileged, --device, --cap-add SYS_ADMIN (where this build has the flags)', (t) => {
    const help = ok('run', '--help');
    const cases: Array<[string, string[], string, RegExp]> = [
      ['--privileged', ['--privileged'], 'privileged', /privileged = false\): --privileged$/],
      ['--device', ['--device', '/dev/null'], 'devices', /devices = false\): --device \/dev\/null$/],
      ['--cap-add', ['--cap-add', 'SYS_ADMIN'], 'cap_add', /cap_add = \["NET_BIND_SERVICE"\]\): --cap-add (CAP_)?SYS_ADMIN$/],
    ];
    let ran = 0;
    for (const [flag, args, key, part] of cases) {
      if (!help.includes(flag)) continue;
      ran++;
      for (const verb of ['run', 'create']) denied([verb, ...args, 'busybox', 'true'], key, part);
    }
    if (!ran) t.skip('this build has none of these flags yet (the hardened-defaults work adds them); the unit tests check the rules');
  });

  test('an allowed request still runs: a bind under $HOME, a port in the range checked, the default runtime', () => {
    const r = rootlet('run', '--rm', '-v', `${join(work, 'data')}:/d`, 'busybox', 'sh', '-c', 'echo allowed > /d/f; cat /d/f');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'allowed\n');
    assert.equal(rootlet('policy', 'check', '--', 'run', '-p', '20001:80', '-v', `${join(work, 'data')}:/d`, 'busybox').code, 0);
  });

  test('max_containers: a third running container is refused through run and start; exec and start re-check the container against the policy of the day', () => {
    const max = lineOf('max_containers');
    try {
      ok('run', '-d', '--name', 'one', '-v', `${join(work, 'data')}:/d`, 'busybox', 'sleep', '300');
      ok('run', '-d', '--name', 'two', 'busybox', 'sleep', '300');
      ok('create', '--name', 'three', 'busybox', 'sleep', '300');
      denied(['run', '-d', 'busybox', 'sleep', '300'], 'max_containers', /max_containers = 2\): run \(2 of yours already running\)$/);
      // start is a command over several names: Docker's exit status 1, one line per name refused.
      const r = rootlet('start', 'three');
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr.trim(), new RegExp(`^rootlet: denied by policy ${esc(POLICY)}:${max} .*: start three \\(2 of yours already running\\)$`));
      assert.doesNotMatch(ok('ps', '--format', '{{.Names}}'), /three/);

      // The user's own [policy] tightens: container one's bind is no longer allowed, for exec and for start.
      config(`${BASE_CONFIG}\n[policy]\nbind_roots = ["/nonexistent"]\n`);
      const cfg = join(store, 'config/rootlet/rootlet.toml');
      const exec = rootlet('exec', 'one', 'true');
      assert.equal(exec.code, 125, exec.stderr);
      assert.match(exec.stderr.trim(), new RegExp(`^rootlet: denied by policy ${esc(cfg)}:5 \\(\\[policy\\] bind_roots = \\["/nonexistent"\\]\\): -v ${esc(work)}/data:/d$`));
      ok('stop', '-t', '0', 'one');
      const start = rootlet('start', 'one');
      assert.equal(start.code, 1, start.stderr);
      assert.match(start.stderr.trim(), /\[policy\] bind_roots/);
      assert.doesNotMatch(ok('ps', '--format', '{{.Names}}'), /\bone\b/);
    } finally {
      config(BASE_CONFIG);
      rootlet('rm', '-f', 'one', 'two', 'three');
    }
  });

  test('max_containers holds when runs race: of six parallel run -d, two run and four are refused, leaving nothing', async () => {
    const start = (name: string) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('sudo', ['-n', '-u', USER, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, 'run', '-d', '--name', name, 'busybox', 'sleep', '300'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      child.on('close', (code) => resolve({ code, stderr }));
    });
    const names = Array.from({ length: 6 }, (_, i) => `race${i}`);
    try {
      const results = await Promise.all(names.map(start));
      const ran = results.filter((r) => r.code === 0);
      const refused = results.filter((r) => r.code !== 0);
      assert.equal(ran.length, 2, results.map((r) => r.stderr).join(''));
      for (const r of refused) {
        assert.equal(r.code, 125, r.stderr);
        assert.match(r.stderr, new RegExp(`^rootlet: denied by policy ${esc(POLICY)}:${lineOf('max_containers')} .*max_containers = 2\\): run \\(2 of yours already running\\)\n$`));
      }
      assert.equal(ok('ps', '-q').trim().split('\n').length, 2);
      assert.equal(ok('ps', '-aq').trim().split('\n').length, 2, 'a refused run left its container');
    } finally {
      rootlet('rm', '-f', ...names);
    }
  });

  test('the user\'s own config cannot loosen the admin\'s policy', () => {
    try {
      config(`${BASE_CONFIG}\n[policy]\nhost_network = true\nbind_roots = ["/"]\n`);
      denied(['run', '--net', 'host', 'busybox', 'true'], 'host_network', /--network host$/);
      denied(['run', '-v', '/:/host', 'busybox', 'true'], 'bind_roots', /-v \/:\/host$/);
    } finally {
      config(BASE_CONFIG);
    }
  });

  test('policy show: the effective policy and where each value came from', () => {
    const text = ok('policy', 'show');
    assert.match(text, /^user: rootlet-ci2 \(uid \d+\)/);
    assert.match(text, new RegExp(`^privileged +false +\\(from ${esc(POLICY)}:${lineOf('privileged')} \\[user\\.rootlet-ci2\\]\\)$`, 'm'));
    assert.match(text, new RegExp(`^bind_roots +${esc(home)} +\\(from `, 'm'));
    const json = JSON.parse(ok('policy', 'show', '--format', 'json')) as { files: string[]; values: Array<{ key: string; value: unknown; from: Array<{ line: number }> }> };
    assert.ok(json.files.includes(POLICY));
    const ports = json.values.find((v) => v.key === 'ports')!;
    assert.deepEqual(ports.value, { lo: 20000, hi: 20999 });
    assert.equal(ports.from[0]!.line, lineOf('ports'));
  });

  test('system check says whether the policy binds here', () => {
    const r = rootlet('system', 'check');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const line = r.stdout.split('\n').find((l) => /^\w+ +admin policy: /.test(l));
    assert.ok(line, r.stdout);
    assert.match(line, /1 file, \d+ rules for you; /);
    let restricted = '';
    try { restricted = readFileSync('/proc/sys/kernel/apparmor_restrict_unprivileged_userns', 'utf8').trim(); } catch { /* no such switch: Debian */ }
    if (restricted !== '1') assert.match(line, /^warn +admin policy: .*a guardrail, not binding: any program may create user namespaces here/);
  });

  test('policy check: dry runs with run\'s own grammar, exit 0 or 125, nothing created', () => {
    const before = containers();
    const no = rootlet('policy', 'check', '--', 'run', '--net', 'host', 'busybox');
    assert.equal(no.code, 125, no.stderr);
    assert.match(no.stdout, /^denied: denied by policy .*host_network = false\): --network host\n$/);
    const yes = rootlet('policy', 'check', '--', 'run', '--rm', '-it', 'busybox', 'sh');
    assert.equal(yes.code, 0, yes.stderr);
    assert.equal(yes.stdout, 'allowed\n');
    const bad = rootlet('policy', 'check', '--', 'run', '-p', 'nope', 'busybox');
    assert.equal(bad.code, 125);
    assert.equal(containers(), before);
  });
});
