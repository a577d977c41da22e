import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { blobEntry, parseDockerManifest, parseIndex, parseManifest } from '../../src/image/archive-formats.js';
import { ArchiveError, readArchive } from '../../src/image/archive-read.js';

async function tarOf(entries: Array<{ name: string; data?: string; type?: 'symlink'; linkname?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type, linkname: e.linkname }, e.data ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function names(data: Buffer): Promise<string[]> {
  const seen: string[] = [];
  await readArchive(Readable.from([data]), 'x.tar', async (e) => {
    let body = '';
    for await (const c of e.body) body += (c as Buffer).toString();
    seen.push(`${e.name}=${body}${e.type === 'symlink' ? `->${e.linkname}` : ''}`);
  });
  return seen;
}

describe('archive reading', () => {
  test('entries in order, leading ./ dropped, gzip or not', async () => {
    const t = await tarOf([{ name: './manifest.json', data: '[]' }, { name: 'a/layer.tar', type: 'symlink', linkname: '../b.tar' }, { name: 'b.tar', data: 'B' }]);
    assert.deepEqual(await names(t), ['manifest.json=[]', 'a/layer.tar=->../b.tar', 'b.tar=B']);
    assert.deepEqual(await names(gzipSync(t)), ['manifest.json=[]', 'a/layer.tar=->../b.tar', 'b.tar=B']);
  });

  test('an entry the handler does not read is skipped', async () => {
    const t = await tarOf([{ name: 'big', data: 'x'.repeat(5000) }, { name: 'next', data: 'n' }]);
    const seen: string[] = [];
    await readArchive(Readable.from([t]), 'x.tar', async (e) => { seen.push(e.name); });
    assert.deepEqual(seen, ['big', 'next']);
  });

  test('not a tar, and a truncated tar, are one clear error each', async () => {
    const notTar = Buffer.from('hello, this is not an archive at all\n'.repeat(40));
    await assert.rejects(names(notTar), (e: unknown) => e instanceof ArchiveError && /x\.tar is not a tar archive/.test(e.message));
    const t = await tarOf([{ name: 'a', data: 'y'.repeat(4000) }]);
    await assert.rejects(names(t.subarray(0, 2000)), (e: unknown) => e instanceof ArchiveError && /x\.tar is truncated/.test(e.message));
    await assert.rejects(names(gzipSync(t).subarray(0, 40)), (e: unknown) => e instanceof ArchiveError && /truncated|not a tar/.test(e.message));
  });
});

describe('archive documents', () => {
  const d = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'a'.repeat(64)}`, size: 3 };

  test('docker manifest.json', () => {
    assert.deepEqual(parseDockerManifest(Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['a:1'], Layers: ['l.tar'] }]))),
      [{ Config: 'c.json', RepoTags: ['a:1'], Layers: ['l.tar'] }]);
    assert.deepEqual(parseDockerManifest(Buffer.from('[{"Config":"c.json","Layers":[]}]'))[0]!.RepoTags, null);
    assert.throws(() => parseDockerManifest(Buffer.from('{nope')), /manifest\.json is not valid JSON/);
    assert.throws(() => parseDockerManifest(Buffer.from('[]')), /does not list any image/);
    assert.throws(() => parseDockerManifest(Buffer.from('[{"Config":1}]')), /lacks Config, Layers/);
  });

  test('OCI index and manifest', () => {
    assert.equal(parseIndex(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [d] })), 'index.json').manifests.length, 1);
    assert.throws(() => parseIndex(Buffer.from('{"manifests":[{"digest":"sha256:zz"}]}'), 'index.json'), /index\.json has no list/);
    assert.equal(parseManifest(Buffer.from(JSON.stringify({ config: d, layers: [d] })), 'm').layers.length, 1);
    assert.throws(() => parseManifest(Buffer.from('{"config":{}}'), 'the manifest'), /is not an image manifest/);
    assert.equal(blobEntry(d.digest), `blobs/sha256/${'a'.repeat(64)}`);
  });
});
