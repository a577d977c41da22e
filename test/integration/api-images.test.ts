import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ApiService, insecureRegistryEnv } from '../api-helpers.js';
import { busyboxTarball, Sandbox } from '../helpers.js';
import { startRegistry, type Registry } from '../registry-helpers.js';

// The image endpoints of the Docker API beyond pull and list (save, load, push, commit, import, prune,
// search) and container update, driven by the real docker CLI through rootlet's socket.
describe('the docker CLI against rootlet system service: image archives, push, commit, import, prune, update', () => {
  const sb = new Sandbox('api-images');
  let api: ApiService;
  let reg: Registry;

  before(async () => {
    sb.importBusybox();
    reg = await startRegistry();
    api = new ApiService(sb, { env: insecureRegistryEnv(sb, reg.host) });
    await api.ready();
  });
  after(async () => {
    await api?.stop();
    reg?.stop();
    sb.destroy();
  });

  // A connection of its own per request: the docker CLI runs synchronously between them, so the client sees a
  // kept-alive socket's close by the server's idle timeout only after it has reused it (EPIPE).
  const request = (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) => api.request(method, path, body, { Connection: 'close', ...headers });
  const ids = () => api.dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}']).split('\n').filter(Boolean).sort();

  test('save -o, then load -i: the image is listed again under its name and runs', () => {
    api.dockerOk(['tag', 'busybox', 'saved/box:1']);
    const tar = sb.path('saved.tar');
    api.dockerOk(['save', '-o', tar, 'saved/box:1']);
    assert.ok(statSync(tar).size > 100_000, 'an archive with the layer in it');
    // A docker-archive: manifest.json names the tag.
    const list = spawnSync('tar', ['-xOf', tar, 'manifest.json'], { encoding: 'utf8' });
    assert.match(list.stdout, /saved\/box:1/);
    api.dockerOk(['rmi', 'saved/box:1']);
    assert.ok(!ids().includes('saved/box:1'));
    const out = api.dockerOk(['load', '-i', tar]);
    assert.match(out, /^Loaded image: saved\/box:1$/m);
    assert.ok(ids().includes('saved/box:1'));
    assert.equal(api.dockerOk(['run', '--rm', 'saved/box:1', 'echo', 'loaded']), 'loaded\n');
    // Quiet: the Loaded line comes all the same, as Docker's.
    assert.match(api.dockerOk(['load', '-q', '-i', tar]), /Loaded image: saved\/box:1/);
    // save to standard output, through /images/get.
    const piped = spawnSync('sh', ['-c', 'docker save saved/box:1 | tar -t | grep -c manifest.json'], { env: api.clientEnv, encoding: 'utf8' });
    assert.equal(piped.stdout.trim(), '1', piped.stderr);
  });

  test('a client that goes away mid-save leaves the service serving; the next save is whole', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ socketPath: api.sock, path: '/v1.43/images/get?names=busybox', headers: { Connection: 'close' } }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-type'], 'application/x-tar');
        res.once('data', () => { req.destroy(); resolve(); });
      });
      req.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'ECONNRESET') reject(e); });
      req.end();
    });
    assert.equal((await request('GET', '/_ping')).body, 'OK');
    const tar = sb.path('again.tar');
    api.dockerOk(['save', '-o', tar, 'busybox']);
    assert.match(spawnSync('tar', ['-tf', tar], { encoding: 'utf8' }).stdout, /manifest\.json/);
  });

  test('save of a missing image is a 404 with its message; nothing is written', () => {
    const r = api.docker(['save', '-o', sb.path('none.tar'), 'no-such-image:1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no-such-image/);
    assert.ok(!existsSync(sb.path('none.tar')) || statSync(sb.path('none.tar')).size === 0);
  });

  test('load of a bad archive: 400 with a message, and the service goes on serving', async () => {
    const r = await request('POST', '/v1.43/images/load', Buffer.from('this is not a tar archive at all'.repeat(100)), { 'Content-Type': 'application/x-tar' });
    assert.equal(r.status, 400, r.body);
    assert.match(JSON.parse(r.body).message, /\S/);
    const cli = api.docker(['load'], { input: 'garbage, not a tar\n' });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /Error response from daemon: \S/);
    assert.equal((await request('GET', '/_ping')).body, 'OK');
  });

  test('push to the local registry streams progress and the digest; a pull by another name gets it', () => {
    const name = `${reg.host}/api/pushed:2`;
    api.dockerOk(['tag', 'busybox', name]);
    const out = api.dockerOk(['push', name]);
    assert.match(out, new RegExp(`The push refers to repository \\[${reg.host}/api/pushed\\]`));
    assert.match(out, /Pushed|Layer already exists/);
    const digest = /^2: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(out);
    assert.ok(digest, out);
    api.dockerOk(['rmi', name]);
    // By digest: the registry answers with what was pushed.
    const pulled = api.dockerOk(['pull', `${reg.host}/api/pushed@${digest[1]}`]);
    assert.match(pulled, /Digest: sha256:/);
    api.dockerOk(['pull', name]);
    assert.equal(api.dockerOk(['run', '--rm', name, 'echo', 'pushed']), 'pushed\n');
  });

  test('push: X-Registry-Auth may be {} or absent; a bad one is 400; a missing image is 404', async () => {
    const path = `/v1.43/images/${reg.host}/api/pushed/push?tag=2`;
    const variants: Array<Record<string, string>> = [{}, { 'X-Registry-Auth': Buffer.from('{}').toString('base64url') }];
    for (const headers of variants) {
      const r = await request('POST', path, '', headers);
      assert.equal(r.status, 200, r.body);
      const lines = r.body.trim().split('\n').map((l) => JSON.parse(l) as { aux?: { Tag: string; Digest: string; Size: number }; error?: string });
      assert.ok(!lines.some((l) => l.error), r.body);
      const aux = lines.find((l) => l.aux)?.aux;
      assert.equal(aux?.Tag, '2');
      assert.match(aux?.Digest ?? '', /^sha256:[0-9a-f]{64}$/);
      assert.ok((aux?.Size ?? 0) > 0);
    }
    const bad = await request('POST', path, '', { 'X-Registry-Auth': 'not base64 json!' });
    assert.equal(bad.status, 400, bad.body);
    assert.match(JSON.parse(bad.body).message, /X-Registry-Auth/);
    const missing = api.docker(['push', `${reg.host}/api/never-tagged:1`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /never-tagged/);
  });

  test('push to a registry that is not there: the error comes in the stream and the client prints it', () => {
    api.dockerOk(['tag', 'busybox', '127.0.0.1:1/api/nowhere:1']);
    const r = api.docker(['push', '127.0.0.1:1/api/nowhere:1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /127\.0\.0\.1:1/);
    api.dockerOk(['rmi', '127.0.0.1:1/api/nowhere:1']);
  });

  test('commit: the committed image carries the file written in the container, with the changes and message', () => {
    api.dockerOk(['run', '--name', 'to-commit', 'busybox', 'sh', '-c', 'echo committed > /marker']);
    const id = api.dockerOk(['commit', '-m', 'a message', '-a', 'someone', '-c', 'ENV FROM_COMMIT=yes', 'to-commit', 'committed/img:1']).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(api.dockerOk(['run', '--rm', 'committed/img:1', 'sh', '-c', 'cat /marker; echo $FROM_COMMIT']), 'committed\nyes\n');
    assert.equal(api.dockerOk(['inspect', '--format', '{{.Author}}|{{.Comment}}', 'committed/img:1']), 'someone|a message\n');
    api.dockerOk(['rm', 'to-commit']);
    const missing = api.docker(['commit', 'no-such-container', 'x/y:1']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No such container: no-such-container/);
  });

  test('import from a tar on standard input, with a change; a URL source is refused with a message', async () => {
    const r = spawnSync('docker', ['import', '-c', 'CMD ["echo", "imported"]', '-', 'imported/img:1'], { env: api.clientEnv, input: readFileSync(busyboxTarball()), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(api.dockerOk(['run', '--rm', 'imported/img:1']), 'imported\n');
    const url = await request('POST', '/v1.43/images/create?fromSrc=http%3A%2F%2F127.0.0.1%3A1%2Fx.tar&repo=x', '');
    assert.equal(url.status, 501, url.body);
    assert.match(JSON.parse(url.body).message, /URL/);
    const bad = await request('POST', '/v1.43/images/create?fromSrc=-&repo=bad/import', Buffer.from('not a tarball'.repeat(50)), { 'Content-Type': 'application/x-tar' });
    assert.ok(bad.status >= 400 && bad.status < 500, `${bad.status} ${bad.body}`);
    assert.ok(!ids().includes('bad/import:latest'));
  });

  test('image prune -f removes the dangling images only; -a those no container uses', () => {
    // A dangling image: a name taken away by a second import under the same name.
    spawnSync('docker', ['import', '-', 'dangling/img:1'], { env: api.clientEnv, input: readFileSync(busyboxTarball()) });
    const first = api.dockerOk(['images', '-q', '--no-trunc', 'dangling/img:1']).trim();
    const changed = spawnSync('docker', ['import', '-c', 'ENV X=2', '-', 'dangling/img:1'], { env: api.clientEnv, input: readFileSync(busyboxTarball()), encoding: 'utf8' });
    assert.equal(changed.status, 0, changed.stderr);
    assert.notEqual(changed.stdout.trim(), first);
    const out = api.dockerOk(['image', 'prune', '-f']);
    assert.match(out, new RegExp(`deleted: ${first}`, 'i'));
    assert.match(out, /Total reclaimed space: /);
    assert.ok(ids().includes('dangling/img:1'), 'a named image stays');
    assert.equal(api.docker(['image', 'prune', '-f', '--filter', 'bogus=1']).code !== 0, true);
    api.dockerOk(['tag', 'busybox', 'unused/img:1']);
    const all = api.dockerOk(['image', 'prune', '-a', '-f', '--filter', 'label=never-set']);
    assert.doesNotMatch(all, /unused\/img/, 'the label filter keeps it');
  });

  test('builder prune -f answers the cache removed and the space', () => {
    const out = api.dockerOk(['builder', 'prune', '-f']);
    assert.match(out, /Total( reclaimed space)?:?\s+\d/);
    const bad = api.docker(['builder', 'prune', '-f', '--filter', 'until=24h']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /filters are not supported/);
  });

  test('search: a registry\'s catalog by name; a term without a registry is one clear line', async () => {
    const found = api.dockerOk(['search', `${reg.host}/pushed`]);
    assert.match(found, /^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL/);
    assert.match(found, new RegExp(`^${reg.host}/api/pushed\\s+0`, 'm'));
    assert.doesNotMatch(found, /test\/busybox|saved/);
    assert.equal(api.dockerOk(['search', `${reg.host}/no-such-repository`]).trim().split('\n').length, 1, 'the header alone');
    assert.equal(api.dockerOk(['search', '--filter', 'is-official=true', `${reg.host}/pushed`]).trim().split('\n').length, 1);
    const r = api.docker(['search', 'busybox']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.trim(), /^Error response from daemon: search busybox: there is no index to search: .*REGISTRY\/busybox/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const bad = await request('GET', `/v1.43/images/search?term=${reg.host}/x&filters=${encodeURIComponent('{"colour":["red"]}')}`);
    assert.equal(bad.status, 400, bad.body);
    // rootlet's own search is the same operation.
    assert.match(sb.ok(['search', '--tls-verify=false', `${reg.host}/pushed`]), new RegExp(`^${reg.host}/api/pushed\\s`, 'm'));
  });

  test('update: the restart policy shows in inspect; a limit the host cannot enforce and a field not enforced are refused by name', async () => {
    api.dockerOk(['run', '-d', '--name', 'upd', 'busybox', 'sleep', '300']);
    assert.equal(api.dockerOk(['update', '--restart', 'on-failure:3', 'upd']), 'upd\n');
    assert.equal(api.dockerOk(['inspect', '--format', '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'upd']), 'on-failure:3\n');
    api.dockerOk(['update', '--restart', 'always', 'upd']);
    assert.equal(api.dockerOk(['inspect', '--format', '{{.HostConfig.RestartPolicy.Name}}', 'upd']), 'always\n');
    // Not enforced by this engine: refused by the field's name, nothing changed.
    const shares = api.docker(['update', '--cpu-shares', '512', 'upd']);
    assert.notEqual(shares.code, 0);
    assert.match(shares.stderr, /CpuShares/);
    const swap = api.docker(['update', '--memory', '64m', '--memory-swap', '128m', 'upd']);
    assert.notEqual(swap.code, 0);
    assert.match(swap.stderr, /MemorySwap/);
    // A memory limit: applied where cgroups are delegated, else refused with the reason (this container,
    // started without limits, has no cgroup of its own to limit while it runs).
    const mem = api.docker(['update', '--memory', '64m', 'upd']);
    if (mem.code === 0) {
      assert.equal(api.dockerOk(['inspect', '--format', '{{.HostConfig.Memory}}', 'upd']), `${64 << 20}\n`);
    } else {
      assert.match(mem.stderr, /delegat|no cgroup of its own/);
      assert.equal(api.dockerOk(['inspect', '--format', '{{.HostConfig.Memory}}', 'upd']), '0\n');
    }
    const missing = api.docker(['update', '--restart', 'no', 'no-such-container']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No such container: no-such-container/);
    const raw = await request('POST', '/v1.43/containers/no-such-container/update', JSON.stringify({ RestartPolicy: { Name: 'no' } }));
    assert.equal(raw.status, 404, raw.body);
    const badType = await request('POST', '/v1.43/containers/upd/update', JSON.stringify({ Memory: 'lots' }));
    assert.equal(badType.status, 400, badType.body);
    assert.match(JSON.parse(badType.body).message, /Memory/);
    const ok = await request('POST', '/v1.43/containers/upd/update', JSON.stringify({ RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } }));
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { Warnings: [] });
    api.dockerOk(['rm', '-f', 'upd']);
  });

  test('update of a stopped container: the limit is kept for its next start, or refused where it cannot be enforced', () => {
    api.dockerOk(['create', '--name', 'upd-stopped', 'busybox', 'true']);
    const r = api.docker(['update', '--pids-limit', '50', 'upd-stopped']);
    const shown = api.dockerOk(['inspect', '--format', '{{.HostConfig.PidsLimit}}', 'upd-stopped']).trim();
    if (r.code === 0) {
      assert.equal(shown, '50');
    } else {
      assert.match(r.stderr, /--pids-limit.*delegat/);
      assert.match(shown, /^(<nil>|0)$/);
    }
    // The CLI's own update is the same operation.
    assert.equal(sb.ok(['update', '--restart', 'unless-stopped', 'upd-stopped']), 'upd-stopped\n');
    assert.equal(api.dockerOk(['inspect', '--format', '{{.HostConfig.RestartPolicy.Name}}', 'upd-stopped']), 'unless-stopped\n');
    const none = sb.run(['update', 'upd-stopped']);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /one or more flags/);
    api.dockerOk(['rm', 'upd-stopped']);
  });
});
