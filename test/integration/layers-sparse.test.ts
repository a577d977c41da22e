import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { busyboxTarball, Sandbox, type Result } from '../helpers.js';
import { makeImage, pushRaw, runAsync, startRegistry, type Registry } from '../registry-helpers.js';
import { gnuTar, makeSparseFile, makeTar, SPARSE_FORMATS, tarBody, type SparseFormat, type TarEntry } from '../tar-fixtures.js';

/**
 * Layers are stored bit-exact: a sparse file in any of GNU tar's formats
 * arrives whole (and sparse) through import, load and pull; device nodes a
 * rootless user cannot create are said in one line; an empty or corrupt
 * archive is refused in one line and leaves the store as it was.
 */

const FORMATS = Object.keys(SPARSE_FORMATS) as SparseFormat[];
const DEVICES: TarEntry[] = [
  { name: 'dev/', type: 'directory' },
  { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'dev/zero', type: 'character-device', devmajor: 1, devminor: 5, mode: 0o666 },
  { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 },
];
const DEVICE_WARNING = /^WARNING: 3 device nodes in layer sha256:[0-9a-f]{64} were skipped: a rootless user cannot create devices$/;

const sha256hex = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');


function oneLine(r: Result, code: number, want: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, want);
}

describe('layers keep sparse files and say what they leave out', () => {
  const sb = new Sandbox('layers-sparse');
  const src = sb.path('src');
  let busybox: Buffer;
  /** One layer: the four sparse files, each written by GNU tar in its own format. */
  let sparseLayer: Buffer;
  const sums = new Map<string, string>();
  let holesHere = false;
  let reg: Registry;

  before(async () => {
    busybox = tarBody(readFileSync(busyboxTarball()));
    const parts: Buffer[] = [];
    for (const f of FORMATS) {
      // Data at the start, in the middle (more places than the old GNU header holds) and a hole at the end.
      makeSparseFile(join(src, `sparse-${f}`), 6144, [[0, 8], ...Array.from({ length: 12 }, (_, i): [number, number] => [512 + i * 300, 4 + i])]);
      sums.set(`sparse-${f}`, sha256hex(join(src, `sparse-${f}`)));
      parts.push(tarBody(gnuTar(src, [`sparse-${f}`], f, ['--owner=0', '--group=0', '--numeric-owner'])));
    }
    sparseLayer = Buffer.concat([...parts, Buffer.alloc(1024)]);
    const st = statSync(join(src, `sparse-${FORMATS[0]}`));
    holesHere = st.blocks * 512 < st.size;
    sb.importBusybox();
    reg = await startRegistry();
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  /** In a container of `image`: every sparse file has the source's sha256 and size, and holes when the source has. */
  function checkSparse(image: string): void {
    const out = sb.ok(['run', '--rm', image, 'sh', '-c', 'cd / && for f in sparse-*; do set -- $(sha256sum $f); echo "$f $1 $(stat -c "%s %b" $f)"; done']);
    const seen = out.trim().split('\n').map((l) => l.split(' '));
    assert.deepEqual(seen.map((l) => l[0]).sort(), [...sums.keys()].sort(), out);
    for (const [name, sum, size, blocks] of seen) {
      assert.equal(sum, sums.get(name!), `${name}: not the source's bytes`);
      assert.equal(Number(size), statSync(join(src, name!)).size, name);
      if (holesHere) assert.ok(Number(blocks) * 512 < Number(size) / 2, `${name}: ${blocks} blocks of 512 for ${size} bytes: the holes were filled`);
    }
  }

  test('import: each sparse format arrives whole, and sparse', () => {
    const tarPath = sb.path('sparse.tar');
    writeFileSync(tarPath, Buffer.concat([busybox, sparseLayer]));
    const r = sb.run(['import', tarPath, 'sparse:import']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    checkSparse('sparse:import');
  });

  test('import: device nodes are one WARNING line; the image is stored and runs', async () => {
    const tarPath = sb.path('devices.tar');
    writeFileSync(tarPath, Buffer.concat([busybox, await makeTar(DEVICES)]));
    const r = sb.run(['import', tarPath, 'devices:import']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, DEVICE_WARNING);
    assert.equal(sb.ok(['run', '--rm', 'devices:import', 'echo', 'ran']).trim(), 'ran');
  });

  test('load: a docker-archive with sparse files and device nodes: one WARNING line, files whole', async () => {
    const layer = Buffer.concat([tarBody(sparseLayer), await makeTar(DEVICES)]);
    // The busybox layer with its end blocks: a layer is a whole tar.
    const base = Buffer.concat([busybox, Buffer.alloc(1024)]);
    const diffIds = [base, layer].map((l) => `sha256:${createHash('sha256').update(l).digest('hex')}`);
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } });
    const archive = await makeTar([
      { name: 'base/layer.tar', body: base },
      { name: 'top/layer.tar', body: layer },
      { name: 'config.json', body: config },
      { name: 'manifest.json', body: JSON.stringify([{ Config: 'config.json', RepoTags: ['sparse:load'], Layers: ['base/layer.tar', 'top/layer.tar'] }]) },
    ]);
    const path = sb.path('sparse-archive.tar');
    writeFileSync(path, archive);
    const r = sb.run(['load', '-i', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Loaded image: sparse:load/);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, DEVICE_WARNING);
    checkSparse('sparse:load');
  });

  test('load that fails after storing a layer with device nodes: only the error, no warning, store unchanged', async () => {
    const layer = Buffer.concat([tarBody(await makeTar([{ name: 'failed-load', body: 'x' }])), await makeTar(DEVICES)]);
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } });
    const archive = await makeTar([
      { name: 'top/layer.tar', body: layer },
      { name: 'config.json', body: config },
      { name: 'manifest.json', body: JSON.stringify([{ Config: 'config.json', RepoTags: ['failed:load'], Layers: ['top/layer.tar'] }]) },
    ]);
    const path = sb.path('failing-archive.tar');
    writeFileSync(path, archive);
    const state = sb.storeState();
    oneLine(sb.run(['load', '-i', path]), 125, /^Error: layer top\/layer\.tar does not match the config's diff_id/);
    assert.deepEqual(sb.storeState(), state);
  });

  test('pull: sparse files whole, device nodes one WARNING line on stderr (with and without progress)', async () => {
    // A layer of its own (not the one load stored): each pull extracts it anew.
    const top = Buffer.concat([tarBody(await makeTar([{ name: 'pulled', body: 'yes\n' }])), tarBody(sparseLayer), await makeTar(DEVICES)]);
    const img = makeImage([busybox, top], { architecture: 'amd64', cmd: ['sh'] });
    await pushRaw(reg.host, 'test/sparse', '1', img);
    const name = `${reg.host}/test/sparse:1`;
    for (const quiet of [false, true]) {
      const r = await runAsync(sb, ['pull', ...(quiet ? ['-q'] : []), '--tls-verify=false', name]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, DEVICE_WARNING);
      checkSparse(name);
      // Again from scratch, the other way (the layer would be "Already exists", extracted before).
      sb.ok(['rmi', name]);
    }
  });

  test('pull: a layer whose gzip stream is corrupt is one line naming the layer; nothing is stored', async () => {
    const img = makeImage([Buffer.concat([busybox, Buffer.alloc(1024)])]);
    // The registry serves what it was given: a blob whose digest matches, whose gzip trailer (the CRC of the data) does not.
    const bad = Buffer.from(img.layers[0]!.blob);
    bad[bad.length - 8] = bad[bad.length - 8]! ^ 0xff;
    const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    const manifest = Buffer.from(img.manifest.toString().replace(digest(img.layers[0]!.blob), digest(bad)));
    await pushRaw(reg.host, 'test/corrupt', '1', { ...img, manifest, layers: [{ blob: bad, diffId: img.layers[0]!.diffId }], digest: digest(manifest) });
    const state = sb.storeState();
    const r = await runAsync(sb, ['pull', '-q', '--tls-verify=false', `${reg.host}/test/corrupt:1`]);
    oneLine(r, 125, new RegExp(`layer ${digest(bad)}: corrupt gzip stream: incorrect data check`));
    assert.doesNotMatch(r.stderr, /only \d+ bytes/);
    assert.deepEqual(sb.storeState(), state);
  });

  const refusals: Array<[string, () => Buffer, RegExp]> = [
    ['an empty tar (end blocks only)', () => Buffer.alloc(10240), /^Error: import: the archive holds no files/],
    ['an empty file', () => Buffer.alloc(0), /^Error: import: the archive holds no files/],
    ['a gzip-compressed empty tar', () => gzipSync(Buffer.alloc(10240)), /^Error: import: the archive holds no files/],
    ['a file that is not a tar', () => Buffer.from('#!/bin/sh\necho this is a script\n'), /^Error: layer is not a valid tar stream/],
    ['a corrupt gzip stream', () => {
      const gz = gzipSync(Buffer.concat([busybox, Buffer.alloc(1024)]));
      gz[gz.length - 8] = gz[gz.length - 8]! ^ 0xff; // the CRC of the data
      return gz;
    }, /^Error: corrupt gzip stream: incorrect data check/],
    ['a gzip stream that is not deflate data', () => Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(6), Buffer.alloc(100, 0xff)]), /^Error: corrupt gzip stream: \S/],
    ['a truncated gzip stream', () => {
      const gz = gzipSync(Buffer.concat([busybox, Buffer.alloc(1024)]));
      return gz.subarray(0, gz.length >> 1);
    }, /^Error: truncated gzip stream/],
  ];
  for (const [what, bytes, why] of refusals) {
    test(`import of ${what}: exit 125, one line, no image, store unchanged`, () => {
      const path = sb.path('refused.tar');
      writeFileSync(path, bytes());
      const state = sb.storeState();
      oneLine(sb.run(['import', path, 'refused:1']), 125, why);
      assert.deepEqual(sb.storeState(), state);
    });
  }
});
