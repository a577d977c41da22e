import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asUser, BIN, refusedOneLine, Sandbox, SCRIPTS, until, type Result } from '../helpers.js';

// Issue 14: `rootlet compose`, the project operations. Real containers, as
// rootlet-ci; images are the local busybox and one built from a Dockerfile.
// Host ports of this file: 18600-18699.

const WEB_PORT = 18601;

/** The three-service project: web built here, kv with a health check, worker depending on kv being healthy. */
function threeServices(mode: string, webPorts = `["${WEB_PORT}:80"]`): string {
  return `services:
  web:
    build: ./web
    ports: ${webPorts}
    depends_on: [kv]
    stop_grace_period: 1s
  kv:
    image: busybox
    command: ["sh", "-c", "echo kv ready; echo v1 > /data/key; exec httpd -f -p 6379 -h /data"]
    volumes: ["data:/data"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://localhost:6379/key"]
      interval: 500ms
      retries: 60
  worker:
    image: busybox
    command: ["sh", "-c", "env | grep ^MODE=; while true; do wget -q -O- http://kv:6379/key; sleep 1; done"]
    environment:
      MODE: ${mode}
    stop_grace_period: 1s
    depends_on:
      kv:
        condition: service_healthy
volumes:
  data:
`;
}

describe('compose', () => {
  const sb = new Sandbox('compose');
  const dir = (name: string, files: Record<string, string>): string => {
    const d = sb.path(name);
    for (const [f, body] of Object.entries(files)) {
      mkdirSync(join(d, f, '..'), { recursive: true });
      writeFileSync(join(d, f), body);
    }
    return d;
  };
  const proj = sb.path('shop');
  const compose = (args: string[], cwd = proj): Result => sb.run(['compose', ...args], { cwd });
  const ok = (args: string[], cwd = proj): string => sb.ok(['compose', ...args], { cwd });
  const ids = (project: string) => Object.fromEntries(sb.ok(['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Names}} {{.ID}}'])
    .trim().split('\n').filter(Boolean).map((l) => l.split(' ')));
  /** Nothing of the project left, by the engine's own lists. */
  const nothingLeft = (project: string, what: string) => {
    assert.equal(sb.ok(['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${project}`]), '', `${what}: containers`);
    assert.equal(sb.ok(['network', 'ls', '--format', '{{.Name}}']).split('\n').filter((n) => n.startsWith(`${project}_`)).join(' '), '', `${what}: networks`);
    assert.equal(sb.ok(['volume', 'ls', '-q']).split('\n').filter((n) => n.startsWith(`${project}_`)).join(' '), '', `${what}: volumes`);
  };

  before(() => {
    sb.importBusybox();
    dir('shop', {
      'compose.yaml': threeServices('one'),
      'web/Dockerfile': 'FROM busybox\nRUN echo hi-from-web > /www/index.html\nCMD ["sh", "-c", "echo web up; exec httpd -f -p 80 -h /www"]\n',
    });
  });
  after(() => {
    sb.destroy();
    const r = spawnSync('ps', ['-u', String(process.getuid!()), '-o', 'args='], { encoding: 'utf8' });
    assert.deepEqual(r.stdout.split('\n').filter((l) => l.includes(sb.root) && !/defunct/.test(l)), [], 'nothing of the sandbox is left running');
  });

  test('up -d: built web answers on the host, names resolve, ps and logs; a changed service alone is recreated; scale; run and exec; down -v leaves nothing', async () => {
    const up = compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /Container shop-kv-1 {2}Healthy/);
    // The worker was started only once kv was healthy.
    assert.ok(up.stderr.indexOf('shop-kv-1  Healthy') < up.stderr.indexOf('shop-worker-1  Started'), up.stderr);
    let body = '';
    await until('the web port answers', () => {
      const r = spawnSync('wget', ['-q', '-O-', '-T', '2', `http://127.0.0.1:${WEB_PORT}/`], { encoding: 'utf8' });
      body = r.stdout;
      return r.status === 0;
    }, 30_000);
    assert.equal(body, 'hi-from-web\n');
    assert.equal(ok(['exec', '-T', 'worker', 'wget', '-q', '-O-', 'http://kv:6379/key']), 'v1\n');
    assert.equal(ok(['exec', '-T', 'worker', 'wget', '-q', '-O-', 'http://web/']), 'hi-from-web\n');
    // The container's own name resolves too, as Docker's.
    assert.equal(ok(['exec', '-T', 'web', 'wget', '-q', '-O-', 'http://shop-kv-1:6379/key']), 'v1\n');

    const ps = ok(['ps', '--format', '{{.Name}} {{.Service}} {{.State}}']).trim().split('\n').sort();
    assert.deepEqual(ps, ['shop-kv-1 kv running', 'shop-web-1 web running', 'shop-worker-1 worker running']);
    assert.match(ok(['ps']), /^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$/m);
    assert.match(ok(['ps']), new RegExp(`shop-web-1\\s+shop-web\\s.*0\\.0\\.0\\.0:${WEB_PORT}->80/tcp`));
    assert.equal(ok(['ps', '-q']).trim().split('\n').length, 3);
    const labels = JSON.parse(sb.ok(['inspect', '-f', '{{json .Config.Labels}}', 'shop-worker-1']));
    assert.equal(labels['com.docker.compose.project'], 'shop');
    assert.equal(labels['com.docker.compose.service'], 'worker');
    assert.equal(labels['com.docker.compose.container-number'], '1');
    assert.equal(labels['com.docker.compose.oneoff'], 'False');
    assert.equal(labels['com.docker.compose.project.working_dir'], proj);
    assert.match(labels['com.docker.compose.config-hash'], /^[0-9a-f]{64}$/);
    assert.equal(sb.ok(['network', 'inspect', '-f', '{{index .Labels "com.docker.compose.project"}}', 'shop_default']).trim(), 'shop');
    assert.equal(sb.ok(['volume', 'inspect', '-f', '{{index .Labels "com.docker.compose.volume"}}', 'shop_data']).trim(), 'data');

    await until('the worker has read kv', () => ok(['logs', 'worker']).includes('shop-worker-1  | v1'));
    const logs = ok(['logs']);
    assert.match(logs, /^shop-kv-1 +\| kv ready$/m);
    assert.match(logs, /^shop-web-1 +\| web up$/m);
    assert.match(logs, /^shop-worker-1 +\| MODE=one$/m);
    assert.doesNotMatch(ok(['logs', 'kv']), /worker/);

    // Only the changed service is recreated; the others keep their containers.
    const before = ids('shop');
    writeFileSync(join(proj, 'compose.yaml'), threeServices('two'));
    const again = compose(['up', '-d']);
    assert.equal(again.code, 0, again.stderr);
    const afterIds = ids('shop');
    assert.equal(afterIds['shop-kv-1'], before['shop-kv-1']);
    assert.equal(afterIds['shop-web-1'], before['shop-web-1']);
    assert.notEqual(afterIds['shop-worker-1'], before['shop-worker-1']);
    await until('the new worker logs', () => ok(['logs', 'worker']).includes('MODE=two'));
    // Nothing changed: nothing recreated.
    ok(['up', '-d']);
    assert.deepEqual(ids('shop'), afterIds);

    // --scale web=3: a random host port each (a fixed one cannot be shared); all three answer to "web".
    writeFileSync(join(proj, 'compose.yaml'), threeServices('two', '["80"]'));
    ok(['up', '-d', '--scale', 'web=3']);
    assert.deepEqual(ok(['ps', '--format', '{{.Name}}', 'web']).trim().split('\n').sort(), ['shop-web-1', 'shop-web-2', 'shop-web-3']);
    const hosts = ok(['exec', '-T', 'worker', 'cat', '/etc/hosts']);
    assert.equal(hosts.split('\n').filter((l) => /\sweb(\s|$)/.test(l)).length, 3, hosts);
    for (let i = 1; i <= 3; i++) {
      assert.equal(ok(['exec', '-T', '--index', String(i), 'web', 'wget', '-q', '-O-', 'http://web/']), 'hi-from-web\n');
    }
    const port = ok(['port', 'web', '80']).trim();
    assert.match(port, /^0\.0\.0\.0:\d+$/);
    // Back to one: the extra replicas go.
    ok(['up', '-d']);
    assert.deepEqual(ok(['ps', '--format', '{{.Name}}', 'web']).trim().split('\n'), ['shop-web-1']);

    // run: the container's exit code; --rm leaves no one-off container.
    const run = compose(['run', '--rm', '-T', 'worker', 'sh', '-c', 'wget -q -O- http://kv:6379/key; exit 7']);
    assert.equal(run.code, 7, run.stderr);
    assert.equal(run.stdout, 'v1\n');
    assert.equal(sb.ok(['ps', '-a', '-q', '--filter', 'label=com.docker.compose.oneoff=True']), '');
    const exec = compose(['exec', '-T', 'kv', 'sh', '-c', 'cat /data/key; exit 5']);
    assert.equal(exec.code, 5);
    assert.equal(exec.stdout, 'v1\n');
    assert.match(ok(['ls']), /^shop\s+running\(3\)\s/m);

    const down = compose(['down', '-v']);
    assert.equal(down.code, 0, down.stderr);
    // Dependents stop before what they depend on.
    assert.ok(down.stderr.indexOf('shop-worker-1  Stopped') < down.stderr.indexOf('shop-kv-1  Stopped'), down.stderr);
    nothingLeft('shop', 'down -v');
    assert.equal(ok(['ps', '-a']).trim().split('\n').length, 1);
  });

  test('foreground up streams prefixed output and returns with --abort-on-container-exit; two projects of one file do not collide', () => {
    const fg = dir('fg', {
      'compose.yaml': `services:
  a:
    image: busybox
    command: ["sh", "-c", "echo a-says-hi; exec sleep 300"]
    stop_grace_period: 1s
  b:
    image: busybox
    command: ["sh", "-c", "echo b-done; exit 3"]
`,
    });
    const other = compose(['-p', 'fg2', 'up', '-d', 'a'], fg);
    assert.equal(other.code, 0, other.stderr);
    const r = compose(['up', '--abort-on-container-exit'], fg);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /^fg-a-1 +\| a-says-hi$/m);
    assert.match(r.stdout, /^fg-b-1 +\| b-done$/m);
    assert.match(r.stderr, /fg-b-1 exited with code 3/);
    assert.deepEqual(ok(['ps', '-a', '--format', '{{.Name}} {{.State}}'], fg).trim().split('\n').sort(), ['fg-a-1 exited', 'fg-b-1 exited']);
    // The other project's container of the same service runs on, on its own network.
    assert.deepEqual(ok(['-p', 'fg2', 'ps', '--format', '{{.Name}} {{.State}}'], fg).trim().split('\n'), ['fg2-a-1 running']);
    ok(['down'], fg);
    assert.equal(ok(['-p', 'fg2', 'ps', '-q'], fg).trim().split('\n').length, 1);
    ok(['-p', 'fg2', 'down'], fg);
    nothingLeft('fg2', 'both downs');
  });

  test('Ctrl-C stops a foreground up and everything it started', async () => {
    const p = sb.spawn(['compose', '-f', join(sb.path('fg'), 'compose.yaml'), '-p', 'fgint', 'up', 'a']);
    let out = '';
    p.stdout!.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    await until('a runs and says so', () => out.includes('a-says-hi'), 60_000);
    p.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.deepEqual(ok(['-p', 'fgint', 'ps', '-a', '--format', '{{.Name}} {{.State}}'], sb.path('fg')).trim().split('\n'), ['fgint-a-1 exited']);
    ok(['-p', 'fgint', 'down'], sb.path('fg'));
    nothingLeft('fgint', 'down after Ctrl-C');
  });

  test('two users bring up a project of the same name at once; the admin policy applies to compose', () => {
    // rootlet-ci2 has a store of its own here and an admin policy (test/fixtures/policy-rootlet-ci2.toml): host ports 20000-20999 only.
    const home = asUser('rootlet-ci2', ['mktemp', '-d', '/tmp/rootlet-compose-ci2-XXXXXX']).stdout.trim();
    assert.match(home, /^\/tmp\/rootlet-compose-ci2-/);
    const env = { HOME: home, USER: 'rootlet-ci2', PATH: '/usr/local/bin:/usr/bin:/bin', XDG_DATA_HOME: `${home}/data`, XDG_CONFIG_HOME: `${home}/config`, XDG_RUNTIME_DIR: `${home}/run` };
    const as2 = (args: string[]) => asUser('rootlet-ci2', [process.execPath, BIN, ...args], env);
    const file = (port: number) => `services:\n  a:\n    image: busybox\n    command: ["sleep", "300"]\n    init: true\n    ports: ["${port}:80"]\n`;
    const write = (name: string, body: string) => {
      const r = asUser('rootlet-ci2', ['sh', '-c', 'mkdir -p "$(dirname "$1")" && printf %s "$2" > "$1"', 'sh', `${home}/${name}`, body]);
      assert.equal(r.code, 0, r.stderr);
    };
    try {
      assert.equal(asUser('rootlet-ci2', ['mkdir', '-m', '700', `${home}/run`]).code, 0);
      assert.equal(asUser('rootlet-ci2', ['bash', join(SCRIPTS, 'make-busybox-rootfs.sh'), `${home}/bb.tar`]).code, 0);
      assert.equal(as2(['import', `${home}/bb.tar`, 'busybox']).code, 0);
      write('fg/compose.yaml', file(20650));
      write('low/compose.yaml', file(18650));
      const refused = as2(['compose', '-f', `${home}/low/compose.yaml`, 'up', '-d']);
      assert.equal(refused.code, 125, refused.stderr);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
      assert.match(refused.stderr, /18650/);
      assert.equal(as2(['ps', '-a', '-q']).stdout, '', 'nothing made for the refused project');
      const up2 = as2(['compose', '-f', `${home}/fg/compose.yaml`, 'up', '-d']);
      assert.equal(up2.code, 0, up2.stderr);
      // The same project name, service and container name for rootlet-ci at the same time.
      ok(['up', '-d', 'a'], sb.path('fg'));
      assert.deepEqual(ok(['ps', '--format', '{{.Name}}'], sb.path('fg')).trim().split('\n'), ['fg-a-1']);
      assert.equal(as2(['compose', '-f', `${home}/fg/compose.yaml`, 'ps', '--format', '{{.Name}} {{.State}}']).stdout.trim(), 'fg-a-1 running');
      ok(['down'], sb.path('fg'));
      assert.equal(as2(['compose', '-f', `${home}/fg/compose.yaml`, 'ps', '--format', '{{.Name}} {{.State}}']).stdout.trim(), 'fg-a-1 running', 'the other user\'s project is untouched');
      assert.equal(as2(['compose', '-f', `${home}/fg/compose.yaml`, 'down']).code, 0);
    } finally {
      as2(['system', 'reset', '--force']);
      asUser('rootlet-ci2', ['rm', '-rf', home]);
    }
  });

  test('an up killed half-way is finished by the next up, or cleaned by down', async () => {
    // kv is healthy only once /tmp/ready exists: up waits for it before the worker, and is killed there.
    const half = dir('half', {
      'compose.yaml': `services:
  kv:
    image: busybox
    command: ["sleep", "300"]
    init: true
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 1000
  worker:
    image: busybox
    command: ["sleep", "300"]
    init: true
    depends_on:
      kv:
        condition: service_healthy
volumes:
  unused:
`,
    });
    const killedUp = async () => {
      const p = sb.spawn(['compose', '-f', join(half, 'compose.yaml'), 'up', '-d']);
      let err = '';
      p.stderr!.on('data', (d) => { err += d; });
      const exited = new Promise((r) => p.on('exit', r));
      await until('up waits for kv', () => err.includes('half-kv-1  Started'), 60_000);
      p.kill('SIGKILL');
      await exited;
    };
    await killedUp();
    assert.deepEqual(Object.keys(ids('half')), ['half-kv-1']);
    const kv = ids('half')['half-kv-1'];
    ok(['exec', '-T', 'kv', 'touch', '/tmp/ready'], half);
    const up = compose(['up', '-d'], half);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(ids('half')['half-kv-1'], kv, 'the half project\'s kv is kept');
    assert.deepEqual(ok(['ps', '--format', '{{.Name}} {{.State}}'], half).trim().split('\n').sort(), ['half-kv-1 running', 'half-worker-1 running']);
    ok(['down'], half);
    nothingLeft('half', 'down');

    await killedUp();
    const down = compose(['down', '-v'], half);
    assert.equal(down.code, 0, down.stderr);
    nothingLeft('half', 'down of a half project');
  });

  test('bad input: an unenforceable field, a missing image, a privileged port: one line, nothing made', () => {
    const bad = (name: string, service: string) => dir(name, {
      'compose.yaml': `services:
  good:
    image: busybox
    command: ["sleep", "300"]
    volumes: ["v:/v"]
    networks: [n]
  a:
${service}
networks:
  n: {}
volumes:
  v: {}
`,
    });
    const cases: Array<[string, string, RegExp]> = [
      ['reserve', '    image: busybox\n    deploy:\n      resources:\n        reservations:\n          memory: 64m', /services\.a\.deploy\.resources\.reservations: a reservation cannot be enforced/],
      ['placement', '    image: busybox\n    deploy:\n      placement:\n        constraints: ["node.role==manager"]', /services\.a\.deploy\.placement: not supported/],
      ['noimage', '    image: 127.0.0.1:1/nosuch:1', /nosuch.*connection refused/],
      ['lowport', '    image: busybox\n    ports: ["80:80"]', /cannot publish host port 80/],
    ];
    for (const [name, svc, want] of cases) {
      const d = bad(name, svc);
      refusedOneLine(compose(['up', '-d'], d), want, name);
      nothingLeft(name, name);
    }
    // A service that cannot start fails up with the runtime's status; what depends on it is not made.
    const fail = dir('fail', { 'compose.yaml': 'services:\n  a:\n    image: busybox\n    command: ["/nonexistent"]\n  b:\n    image: busybox\n    command: ["sleep", "300"]\n    depends_on: [a]\n' });
    const r0 = compose(['up', '-d'], fail);
    assert.equal(r0.code, 127, r0.stderr);
    assert.match(r0.stderr.trim().split('\n').pop()!, /^Error: container fail-a-1 could not start: .*nonexistent/);
    assert.equal(r0.stderr.split('\n').filter((l) => l.startsWith('Error')).length, 1, r0.stderr);
    assert.deepEqual(ok(['ps', '-a', '--format', '{{.Name}} {{.State}}'], fail).trim().split('\n'), ['fail-a-1 created']);
    ok(['down'], fail);
    nothingLeft('fail', 'down of a failed up');
    // A service not in the file: Docker's words, exit 1.
    const r = compose(['up', '-d', 'nope'], sb.path('reserve'));
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'Error: no such service: nope');
  });
});
