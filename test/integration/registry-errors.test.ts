import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox, type Result } from '../helpers.js';
import { makeImage, pushRaw, runAsync, startFakeRegistry, startRegistry, type FakeBlob, type RawImage, type Registry } from '../registry-helpers.js';
import { makeTar, sha256, tarBody } from '../tar-fixtures.js';

/** Everything the store holds: a refused pull must leave all of it as it was. */
function storeState(sb: Sandbox): string {
  const list = (p: string) => (existsSync(sb.path(p)) ? readdirSync(sb.path(p)).sort().join(',') : '');
  return [sb.ok(['images', '-q', '--no-trunc']), list('data/rootlet/layers'), list('data/rootlet/blobs'), list('data/rootlet/tmp')].join('|');
}

function oneLine(r: Result, want: RegExp): void {
  assert.equal(r.code, 125, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, want);
}

describe('pull refuses bad registries and bad layers with one line, leaving the store as it was', () => {
  const sb = new Sandbox('registry-errors');
  let reg: Registry;
  let good: RawImage;
  let state: string;
  before(async () => {
    reg = await startRegistry();
    sb.importBusybox('busybox');
    good = makeImage([await makeTar([{ name: 'hello.txt', body: 'hello\n' }])]);
    state = storeState(sb);
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  async function fakePull(mutate: (img: RawImage) => { manifests?: Record<string, Buffer>; blobs: Record<string, FakeBlob> }): Promise<Result> {
    const parts = mutate(good);
    const fake = await startFakeRegistry('x/img', parts.manifests ?? { latest: good.manifest }, parts.blobs);
    try {
      return await runAsync(sb, ['pull', '--tls-verify=false', `${fake.host}/x/img`]);
    } finally {
      fake.stop();
    }
  }

  test('a blob whose content does not match its digest', async () => {
    const layer = good.layers[0]!;
    const r = await fakePull((img) => ({ blobs: { [sha256(img.config)]: img.config, [sha256(layer.blob)]: Buffer.concat([layer.blob.subarray(0, -8), Buffer.alloc(8)]) } }));
    oneLine(r, /layer sha256:[0-9a-f]{64}.*(does not match its digest|truncated|not a valid|corrupt gzip stream)/);
    assert.equal(storeState(sb), state);
  });

  test('a config whose content does not match its digest', async () => {
    const r = await fakePull((img) => ({ blobs: { [sha256(img.config)]: Buffer.from(img.config.toString().replace('amd64', 'arm64')) } }));
    oneLine(r, /image config sha256:.* does not match its digest/);
    assert.equal(storeState(sb), state);
  });

  test('a manifest naming a blob the registry does not have', async () => {
    const r = await fakePull((img) => ({ blobs: { [sha256(img.config)]: img.config } }));
    oneLine(r, /blob sha256:[0-9a-f]{64} of 127\.0\.0\.1:\d+\/x\/img: blob unknown to registry \(not found\)/);
    assert.equal(storeState(sb), state);
  });

  test('a truncated layer (the connection ends early)', async () => {
    const layer = good.layers[0]!;
    const r = await fakePull((img) => ({ blobs: { [sha256(img.config)]: img.config, [sha256(layer.blob)]: { body: layer.blob, truncate: Math.floor(layer.blob.length / 2) } } }));
    oneLine(r, /layer sha256:[0-9a-f]{64}: .*(aborted|truncated|reset)/);
    assert.equal(storeState(sb), state);
  });

  // The extraction helper fetches the blob itself: it makes the same checks as the CLI did on the body it relayed.
  test('a layer blob longer than the manifest announces (its Content-Length says so)', async () => {
    const layer = good.layers[0]!;
    const r = await fakePull((img) => ({ blobs: { [sha256(img.config)]: img.config, [sha256(layer.blob)]: Buffer.concat([layer.blob, Buffer.alloc(100)]) } }));
    oneLine(r, new RegExp(`layer ${sha256(layer.blob)}: the registry sends ${layer.blob.length + 100} bytes where the manifest announces ${layer.blob.length}`));
    assert.equal(storeState(sb), state);
  });

  test('a layer blob sent without a length that runs past the size the manifest announces', async () => {
    const layer = good.layers[0]!;
    const r = await fakePull((img) => ({ blobs: { [sha256(img.config)]: img.config, [sha256(layer.blob)]: { body: Buffer.concat([layer.blob, Buffer.alloc(100_000)]), chunked: true } } }));
    oneLine(r, new RegExp(`layer ${sha256(layer.blob)}: the registry sent more than the ${layer.blob.length} bytes the manifest announces`));
    assert.equal(storeState(sb), state);
  });

  test('a layer blob sent without a length, whole: pulled', async () => {
    const layer = good.layers[0]!;
    const r = await fakePull((img) => ({ blobs: { [sha256(img.config)]: img.config, [sha256(layer.blob)]: { body: layer.blob, chunked: true } } }));
    assert.equal(r.code, 0, r.stderr);
    for (const id of sb.ok(['images', '-q', '--no-trunc']).trim().split('\n')) if (!state.includes(id)) sb.ok(['rmi', id]);
    assert.equal(storeState(sb), state);
  });

  test('a manifest over the size limit', async () => {
    const huge = Buffer.alloc(5 << 20, 0x20);
    const r = await fakePull(() => ({ manifests: { latest: huge }, blobs: {} }));
    oneLine(r, /manifest .* over the \d+-byte limit/);
    assert.equal(storeState(sb), state);
  });

  test('a corrupt zstd layer (right digest, bad frames) is refused in one line', async () => {
    const blob = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(4096, 7)]);
    const m = JSON.parse(good.manifest.toString()) as { layers: Array<{ mediaType: string; digest: string; size: number }> };
    m.layers[0] = { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha256(blob), size: blob.length };
    const manifest = Buffer.from(JSON.stringify(m));
    const r = await fakePull((img) => ({ manifests: { latest: manifest }, blobs: { [sha256(img.config)]: img.config, [sha256(blob)]: blob } }));
    oneLine(r, /corrupt zstd stream/);
    assert.equal(storeState(sb), state);
  });

  for (const [what, entries, why] of [
    ['path traversal', [{ name: '../../../../escape.txt', body: 'x' }], /points outside the layer/],
    ['a symlink escape', [{ name: 'out', type: 'symlink' as const, linkname: '/tmp' }, { name: 'out/escape.txt', body: 'x' }], /written through "out", which is a symlink/],
  ] as const) {
    test(`a layer with ${what}, from the real registry`, async () => {
      const repo = `evil/${what.replace(/\W+/g, '-')}`;
      await pushRaw(reg.host, repo, 'latest', makeImage([await makeTar([...entries])]));
      const r = sb.run(['pull', '--tls-verify=false', `${reg.host}/${repo}`]);
      oneLine(r, why);
      assert.equal(storeState(sb), state);
    });
  }

  test('a file owned by uid 200000: refused with the fix; pulled with --remap-outside-ids or the config option', async () => {
    const layer = Buffer.concat([tarBody(readFileSync(busyboxTarball())), await makeTar([{ name: 'far.txt', body: 'far\n', uid: 200000, gid: 200000 }])]);
    await pushRaw(reg.host, 'ids/far', 'latest', makeImage([layer], { cmd: ['/bin/sh'] }));
    const name = `${reg.host}/ids/far`;
    const r = sb.run(['pull', '--tls-verify=false', name]);
    oneLine(r, /"far.txt" in the layer is owned by id 200000, outside the \d+ ids.*\/etc\/subuid.*--remap-outside-ids/);
    assert.equal(storeState(sb), state);
    const ok = sb.run(['pull', '--tls-verify=false', '--remap-outside-ids', name]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /2 file owner\(s\) outside your subordinate range were given to root/);
    assert.equal(sb.ok(['run', '--rm', name, 'stat', '-c', '%u:%g', '/far.txt']).trim(), '0:0');
    sb.ok(['rmi', name]);
    mkdirSync(sb.path('config/rootlet'), { recursive: true });
    writeFileSync(sb.path('config/rootlet/rootlet.toml'), '[images]\nremap_outside_ids = true\n');
    try {
      const cfg = sb.run(['pull', '--tls-verify=false', name]);
      assert.equal(cfg.code, 0, cfg.stderr);
      assert.match(cfg.stderr, /given to root/);
    } finally {
      writeFileSync(sb.path('config/rootlet/rootlet.toml'), '');
      sb.ok(['rmi', name]);
    }
  });

  test('a registry blocked in registries.conf', () => {
    const conf = sb.path('blocked.conf');
    writeFileSync(conf, `[[registry]]\nlocation = "${reg.host}"\nblocked = true\n`);
    const r = sb.run(['pull', `${reg.host}/ids/far`], { env: { CONTAINERS_REGISTRIES_CONF: conf } });
    oneLine(r, /registry 127\.0\.0\.1:\d+ is blocked in .*blocked\.conf/);
  });

  test('a registry that cannot be reached fails within seconds, naming it and the cause', () => {
    const t0 = Date.now();
    const r = sb.run(['pull', 'alpine'], { env: { ROOTLET_CONNECT_TIMEOUT_MS: '3000' } });
    assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
    oneLine(r, /docker\.io.*(cannot resolve|cannot connect|unreachable|no route|connect timeout)/);
    const refused = sb.run(['pull', '--tls-verify=false', '127.0.0.1:1/x']);
    oneLine(refused, /cannot connect to 127\.0\.0\.1:1: connection refused/);
    assert.equal(storeState(sb), state);
  });
});
