import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, insecureRegistryEnv } from '../api-helpers.js';
import { asUser, Sandbox, until } from '../helpers.js';
import { startRegistry, type Registry } from '../registry-helpers.js';

// The Docker Engine API of `rootlet system service`, driven by the real docker CLI (only its client).
describe('the docker CLI against rootlet system service', () => {
  const sb = new Sandbox('api-docker');
  let api: ApiService;
  let reg: Registry;

  before(async () => {
    sb.importBusybox();
    reg = await startRegistry();
    sb.ok(['push', '--tls-verify=false', 'busybox', `${reg.host}/test/busybox:1`]);
    api = new ApiService(sb, { env: insecureRegistryEnv(sb, reg.host) });
    await api.ready();
  });
  after(async () => {
    await api?.stop();
    reg?.stop();
    sb.destroy();
  });

  test('the socket is the user\'s alone: directory 0700, socket 0600, another user cannot connect', () => {
    assert.equal(statSync(api.sock).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(api.sock)).mode & 0o777, 0o700);
    const r = asUser('rootlet-ci2', [process.execPath, '-e', `require('net').connect(${JSON.stringify(api.sock)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(3); })`]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /EACCES/);
  });

  test('version and info: the client negotiates the server\'s API version', () => {
    const v = api.dockerOk(['version']);
    assert.match(v, /Server: rootlet/);
    assert.match(v, /API version:\s+1\.43 \(minimum version 1\.24\)/);
    assert.match(api.dockerOk(['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}']), /^linux\/(amd64|arm64)\n$/);
    assert.match(api.dockerOk(['info', '--format', '{{.Images}} {{.OSType}}']), /^\d+ linux\n$/);
  });

  test('pull from a local registry streams progress; the image is listed', () => {
    const out = api.dockerOk(['pull', `${reg.host}/test/busybox:1`]);
    assert.match(out, /Status: (Downloaded newer image|Image is up to date) for/);
    assert.match(api.dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}']), new RegExp(`${reg.host}/test/busybox:1`));
  });

  test('run --rm: the output and the exit code, and nothing left behind', () => {
    const hi = api.docker(['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.equal(hi.code, 0, hi.stderr);
    assert.equal(hi.stdout, 'hi\n');
    const three = api.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(three.code, 3, three.stderr);
    assert.equal(three.stdout, 'out\n');
    assert.equal(three.stderr, 'err\n');
    const piped = api.docker(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'through stdin\n' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'through stdin\n');
    const missing = api.docker(['run', '--rm', 'busybox', 'no-such-command']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /no-such-command/);
    assert.equal(api.dockerOk(['ps', '-aq']), '');
  });

  test('run -d, ps, logs -f, exec, inspect, stop, rm', async () => {
    const id = api.dockerOk(['run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done']).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.match(api.dockerOk(['ps', '--format', '{{.Names}} {{.Status}}']), /^ticker Up /m);
    const follow = api.dockerSpawn(['logs', '-f', 'ticker']);
    let out = '';
    follow.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    await until('followed log lines', () => /tick 3/.test(out));
    // A client that goes away mid-follow leaves the service serving.
    follow.kill('SIGKILL');
    const ex = api.docker(['exec', 'ticker', 'sh', '-c', 'echo in-exec; exit 4']);
    assert.equal(ex.code, 4, ex.stderr);
    assert.equal(ex.stdout, 'in-exec\n');
    assert.equal(api.dockerOk(['inspect', '-f', '{{.State.Status}} {{.Name}}', 'ticker']), 'running /ticker\n');
    assert.equal(api.dockerOk(['stop', '-t', '1', 'ticker']), 'ticker\n');
    assert.match(api.dockerOk(['ps', '-a', '--format', '{{.Names}} {{.Status}}']), /^ticker Exited \(137\)|^ticker Exited \(143\)/m);
    assert.equal(api.dockerOk(['rm', 'ticker']), 'ticker\n');
    assert.equal(api.dockerOk(['ps', '-aq']), '');
  });

  test('refusals come back as Docker\'s: no such container, a running container removed, with the CLI\'s exit codes', () => {
    const none = api.docker(['inspect', 'no-such-box']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No such (object|container)/);
    api.dockerOk(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '60']);
    const rm = api.docker(['rm', 'busy']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /container is running/);
    api.dockerOk(['rm', '-f', 'busy']);
    const bad = api.docker(['run', '--rm', '-m', '1k', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.equal(api.dockerOk(['ps', '-aq']), '');
  });

  test('malformed requests get a 4xx with a message, and the service goes on serving', async () => {
    const cases: Array<[string, string, string | undefined, number, RegExp]> = [
      ['POST', '/v1.43/containers/create', '{"Image": "busybox",', 400, /invalid JSON/],
      ['POST', '/v1.43/containers/create', '{"Image": "busybox", "Cmd": 3}', 400, /Cmd/],
      ['POST', '/v1.43/containers/create', '[1,2]', 400, /JSON object/],
      ['POST', '/v1.43/containers/create', JSON.stringify({ Image: 'busybox', Env: ['x'.repeat(5 << 20)] }), 413, /too large/],
      ['GET', '/v1.43/no/such/endpoint', undefined, 404, /page not found/],
      ['GET', '/v1.43/containers/no-such/json', undefined, 404, /No such container/],
      ['DELETE', '/v1.43/_ping', undefined, 405, /not allowed/],
      ['GET', '/v1.12/version', undefined, 400, /too old/],
      ['GET', '/v1.43/containers/json?filters=notjson', undefined, 400, /filters/],
    ];
    for (const [method, path, body, status, msg] of cases) {
      const r = await api.request(method, path, body);
      assert.equal(r.status, status, `${method} ${path}: ${r.body}`);
      assert.match((JSON.parse(r.body) as { message: string }).message, msg, path);
    }
    const ping = await api.request('GET', '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'OK');
    assert.equal(ping.headers['api-version'], '1.43');
    assert.equal(ping.headers.ostype, 'linux');
    const head = await api.request('HEAD', '/v1.43/_ping');
    assert.equal(head.status, 200);
    assert.equal(api.dockerOk(['ps', '-aq']), '');
  });

  test('many clients at once', async () => {
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => api.request('GET', i % 2 ? '/v1.43/containers/json?all=1' : '/v1.43/version')));
    for (const r of all) assert.equal(r.status, 200, r.body);
  });
});

describe('the docker CLI: networks, volumes, build and events through the API', () => {
  const sb = new Sandbox('api-docker-objects');
  let api: ApiService;

  before(async () => {
    sb.importBusybox();
    api = new ApiService(sb);
    await api.ready();
  });
  after(async () => {
    await api?.stop();
    sb.destroy();
  });

  test('network create: two containers reach each other by name', () => {
    assert.match(api.dockerOk(['network', 'create', 'apinet']), /^[0-9a-f]{64}\n$/);
    api.dockerOk(['run', '-d', '--name', 'srv', '--network', 'apinet', 'busybox', 'sh', '-c', 'echo pong > /tmp/i; exec httpd -f -p 8080 -h /tmp']);
    const r = api.docker(['run', '--rm', '--network', 'apinet', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://srv:8080/i && exit 0; sleep 0.3; done; exit 1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'pong\n');
    assert.match(api.dockerOk(['network', 'ls', '--format', '{{.Name}}']), /^apinet$/m);
    assert.equal(api.dockerOk(['network', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'apinet']), 'apinet bridge\n');
    api.dockerOk(['rm', '-f', 'srv']);
    assert.equal(api.dockerOk(['network', 'rm', 'apinet']), 'apinet\n');
    const gone = api.docker(['network', 'inspect', 'apinet']);
    assert.equal(gone.code, 1);
  });

  test('volume create, use, ls, rm', () => {
    assert.equal(api.dockerOk(['volume', 'create', 'apivol']), 'apivol\n');
    api.dockerOk(['run', '--rm', '-v', 'apivol:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    assert.equal(api.dockerOk(['run', '--rm', '-v', 'apivol:/data:ro', 'busybox', 'cat', '/data/f']), 'kept\n');
    assert.match(api.dockerOk(['volume', 'ls', '--format', '{{.Name}}']), /^apivol$/m);
    assert.equal(api.dockerOk(['volume', 'rm', 'apivol']), 'apivol\n');
    assert.equal(api.docker(['volume', 'inspect', 'apivol']).code, 1);
  });

  test('cp both ways: a file, a directory with a symlink, into a directory and under a new name; a missing path is 404', () => {
    api.dockerOk(['run', '-d', '--name', 'cpbox', 'busybox', 'sh', '-c', 'mkdir /data; echo in-ctr > /data/f.txt; ln -s f.txt /data/link; touch /ready; sleep 600']);
    try {
      for (let i = 0; i < 100 && api.docker(['exec', 'cpbox', 'test', '-e', '/ready']).code !== 0; i++) spawnSync('sleep', ['0.1']);
      api.dockerOk(['cp', 'cpbox:/data/f.txt', sb.path('out.txt')]);
      assert.equal(readFileSync(sb.path('out.txt'), 'utf8'), 'in-ctr\n');
      api.dockerOk(['cp', 'cpbox:/data', sb.path('outdir')]);
      assert.equal(readlinkSync(sb.path('outdir/link')), 'f.txt');
      writeFileSync(sb.path('host.txt'), 'from-host\n');
      api.dockerOk(['cp', sb.path('host.txt'), 'cpbox:/data/']);
      api.dockerOk(['cp', sb.path('host.txt'), 'cpbox:/data/renamed.txt']);
      assert.equal(api.dockerOk(['exec', 'cpbox', 'cat', '/data/host.txt', '/data/renamed.txt']), 'from-host\nfrom-host\n');
      const missing = api.docker(['cp', 'cpbox:/nope', sb.path('x')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /Could not find the file \/nope in container cpbox/);
    } finally {
      api.docker(['rm', '-f', 'cpbox']);
    }
  });

  test('build -t from a context directory; the image runs', () => {
    const dir = sb.path('ctx');
    spawnSync('mkdir', ['-p', dir]);
    spawnSync('sh', ['-c', `printf 'FROM busybox\\nCOPY msg /msg\\nRUN echo built >> /msg\\nCMD ["cat", "/msg"]\\n' > ${dir}/Dockerfile; echo copied > ${dir}/msg`]);
    const r = api.docker(['build', '-t', 'apibuilt:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Step 1\/4 : FROM busybox/);
    assert.match(r.stdout, /Successfully built [0-9a-f]{12}\nSuccessfully tagged apibuilt:1\n/);
    assert.equal(api.dockerOk(['run', '--rm', 'apibuilt:1']), 'copied\nbuilt\n');
    const bad = api.docker(['build', '-t', 'apibad', dir, '-f', `${dir}/msg`], { env: { DOCKER_BUILDKIT: '0' } });
    assert.notEqual(bad.code, 0);
    assert.equal(api.docker(['image', 'inspect', 'apibad']).code, 1);
  });

  test('events: a container\'s life, filtered, between since and until', () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    api.dockerOk(['run', '--rm', '--name', 'evented', 'busybox', 'true']);
    const until2 = Math.ceil(Date.now() / 1000) + 1;
    const out = api.dockerOk(['events', '--since', String(since), '--until', String(until2), '--filter', 'container=evented', '--format', '{{.Type}} {{.Action}}']);
    assert.match(out, /container create/);
    assert.match(out, /container start/);
    assert.match(out, /container die/);
  });
});
