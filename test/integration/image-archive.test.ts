import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BIN, busyboxTarball, Sandbox } from '../helpers.js';
import { makeTar, sha256, type TarEntry } from '../tar-fixtures.js';

/** rootlet with binary standard input and output. */
function rootletBytes(sb: Sandbox, args: string[], input?: Buffer): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: sb.env, cwd: sb.root, input, maxBuffer: 256 << 20, timeout: 120_000 });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr.toString() };
}

function entries(archive: Buffer): string[] {
  const r = spawnSync('tar', ['-t'], { input: archive, encoding: 'buffer' });
  return r.stdout.toString().trim().split('\n');
}


function configFor(layers: Buffer[], diffIds = layers.map(sha256)): string {
  return JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } });
}

/** A docker-archive in Docker's own order (layers first, manifest.json last). */
async function dockerArchive(layers: Buffer[], opts: { config?: string; manifest?: unknown; extra?: TarEntry[] } = {}): Promise<Buffer> {
  const config = opts.config ?? configFor(layers);
  const names = layers.map((l) => `${sha256(l).slice(7)}/layer.tar`);
  const manifest = opts.manifest ?? [{ Config: 'config.json', RepoTags: ['bad/image:1'], Layers: names }];
  return makeTar([
    ...layers.map((l, i) => ({ name: names[i]!, body: l })),
    { name: 'config.json', body: config },
    ...(opts.extra ?? []),
    { name: 'manifest.json', body: JSON.stringify(manifest) },
  ]);
}

/** An oci-archive whose manifest announces `announced` for the one layer. */
async function ociArchive(layer: Buffer, announced = sha256(layer)): Promise<Buffer> {
  const config = configFor([layer]);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(Buffer.from(config)), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: announced, size: layer.length }],
  });
  const index = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(Buffer.from(manifest)), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'bad/oci:1' } }] });
  const blob = (data: Buffer | string, digest = sha256(Buffer.from(data))) => ({ name: `blobs/sha256/${digest.slice(7)}`, body: data });
  return makeTar([{ name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', body: index }, blob(manifest), blob(config), blob(layer, announced)]);
}

describe('save and load', () => {
  let sb: Sandbox;
  let id: string;
  let other: string;
  before(() => {
    sb = new Sandbox('image-archive');
    id = sb.importBusybox('busybox');
    other = sb.ok(['import', '-c', 'LABEL which=other', busyboxTarball(), 'other:2']).trim();
    sb.ok(['tag', 'busybox', 'localhost/mine:v1']);
  });
  after(() => sb.destroy());

  test('docker-archive with several images and names, through a file; names restored; the layer once', () => {
    sb.ok(['save', '-o', sb.path('two.tar'), 'busybox', 'localhost/mine:v1', 'other:2']);
    const names = entries(readFileSync(sb.path('two.tar')));
    assert.equal(names[0], 'manifest.json');
    assert.equal(names.filter((n) => n.endsWith('.tar')).length, 1, 'the shared layer is written once');
    const manifest = JSON.parse(spawnSync('tar', ['-xOf', sb.path('two.tar'), 'manifest.json'], { encoding: 'utf8' }).stdout) as Array<{ RepoTags: string[] }>;
    assert.deepEqual(manifest.map((m) => m.RepoTags), [['busybox:latest', 'localhost/mine:v1'], ['other:2']]);
    sb.ok(['rmi', 'busybox', 'localhost/mine:v1', 'other:2']);
    assert.equal(sb.ok(['images', '-q']), '');
    const out = sb.ok(['load', '-i', sb.path('two.tar')]);
    assert.equal(out, 'Loaded image: busybox:latest\nLoaded image: localhost/mine:v1\nLoaded image: other:2\n');
    assert.equal(sb.ok(['inspect', '-f', '{{.Id}}', 'busybox']).trim(), id);
    assert.equal(sb.ok(['inspect', '-f', '{{.Id}}', 'other:2']).trim(), other, 'same config bytes, same id');
    assert.equal(sb.ok(['run', '--rm', 'localhost/mine:v1', 'echo', 'loaded']).trim(), 'loaded');
  });

  test('oci-archive through stdout and stdin, gzip-compressed on the way back', () => {
    const saved = rootletBytes(sb, ['image', 'save', '--format', 'oci-archive', 'other:2']);
    assert.equal(saved.code, 0, saved.stderr);
    const names = entries(saved.stdout);
    assert.deepEqual(names.slice(0, 2), ['oci-layout', 'index.json']);
    assert.ok(names.every((n) => n === 'oci-layout' || n === 'index.json' || /^blobs\/sha256\/[a-f0-9]{64}$/.test(n)));
    sb.ok(['rmi', 'other:2']);
    const loaded = rootletBytes(sb, ['image', 'load'], gzipSync(saved.stdout));
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.equal(loaded.stdout.toString(), 'Loaded image: other:2\n');
    assert.equal(sb.ok(['inspect', '-f', '{{index .Config.Labels "which"}}', 'other:2']).trim(), 'other');
  });

  test('an image saved by id comes back without a name', () => {
    const saved = rootletBytes(sb, ['save', other.slice(7, 19)]);
    assert.equal(saved.code, 0, saved.stderr);
    sb.ok(['rmi', 'other:2']);
    const loaded = rootletBytes(sb, ['load', '-q'], saved.stdout);
    assert.equal(loaded.stdout.toString(), '');
    const again = rootletBytes(sb, ['load'], saved.stdout);
    assert.equal(again.stdout.toString(), `Loaded image ID: ${other}\n`);
    sb.ok(['tag', other, 'other:2']);
  });

  test('save refuses a terminal, a missing image (leaving no file) and an unknown format', () => {
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${BIN} save busybox`, '/dev/null'], { env: sb.env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(tty.status, 125, tty.stdout);
    assert.match(tty.stdout, /cowardly refusing to save to a terminal/);
    const r = sb.run(['save', '-o', sb.path('none.tar'), 'busybox', 'nothere']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: No such image: nothere\n$/);
    assert.ok(!existsSync(sb.path('none.tar')));
    assert.deepEqual(readdirSync(sb.root).filter((n) => n.includes('none.tar')), [], 'no temporary file left');
    assert.match(sb.run(['save', '--format', 'zip', 'busybox']).stderr, /^Error: invalid argument "zip" for "--format" flag: not an archive format: use "docker-archive" or "oci-archive"\n$/);
  });

  describe('bad archives: one clear line, exit 125, the store unchanged', () => {
    const layer = () => readFileSync(busyboxTarball());
    const cases: Array<[string, () => Promise<Buffer>, RegExp]> = [
      ['not a tar', async () => Buffer.from('this is not an archive\n'.repeat(100)), /is not a tar archive/],
      ['an empty tar', async () => makeTar([]), /neither a docker-archive nor an oci-archive/],
      ['a truncated archive', async () => { const a = await dockerArchive([layer()]); return a.subarray(0, Math.floor(a.length / 2)); }, /is truncated/],
      ['a truncated archive of ours (manifest first)', async () => {
        const a = rootletBytes(sb, ['save', 'busybox']).stdout;
        return a.subarray(0, Math.floor(a.length * 0.6));
      }, /truncated/],
      ['a manifest naming a missing file', async () => dockerArchive([layer()], { manifest: [{ Config: 'config.json', RepoTags: ['bad/image:1'], Layers: ['missing.tar'] }] }), /names the layer missing\.tar, but has no such file/],
      ['a manifest naming a missing config', async () => dockerArchive([layer()], { manifest: [{ Config: 'nope.json', RepoTags: null, Layers: [] }] }), /names the image config nope\.json, but has no such file/],
      ['a layer that does not match the config\'s diff_id', async () => dockerArchive([layer()], { config: configFor([layer()], [`sha256:${'0'.repeat(64)}`]) }), /does not match the config's diff_id sha256:0{64}/],
      ['an OCI layer that does not match its descriptor', async () => ociArchive(layer(), `sha256:${'1'.repeat(64)}`), /does not match its digest/],
      ['a layer with path traversal', async () => dockerArchive([await makeTar([{ name: '../escaped', body: 'x' }])]), /points outside the layer/],
      ['a layer with a symlink escape', async () => dockerArchive([await makeTar([{ name: 'link', type: 'symlink', linkname: '/' }, { name: 'link/escaped', body: 'x' }])]), /is written through "link", which is a symlink/],
      ['a config that is not JSON', async () => dockerArchive([layer()], { config: '{"architecture": ' }), /config\.json is not valid JSON/],
      ['a manifest.json that is not JSON', async () => makeTar([{ name: 'manifest.json', body: 'nope' }]), /manifest\.json is not valid JSON/],
    ];
    for (const [name, make, re] of cases) {
      test(name, async () => {
        const file = sb.path('bad.tar');
        writeFileSync(file, await make());
        const before = sb.storeState();
        const r = sb.run(['load', '-i', file]);
        assert.equal(r.code, 125, r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, re);
        assert.match(r.stderr, /nothing was loaded/);
        assert.deepEqual(sb.storeState(), before);
      });
    }

    test('a missing input file', () => {
      const r = sb.run(['load', '-i', sb.path('absent.tar')]);
      assert.equal(r.code, 125);
      assert.match(r.stderr, /absent\.tar: no such file/);
    });
  });
});
