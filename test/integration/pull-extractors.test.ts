import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Sandbox, type Result } from '../helpers.js';
import { makeImage, pushRaw, startRegistry, type RawImage, type Registry } from '../registry-helpers.js';
import { gzip, makeTar, sha256, type TarEntry } from '../tar-fixtures.js';

/**
 * A pull from a plain-HTTP registry extracts with rootlet-layer-fetch (C);
 * ROOTLET_LAYER_EXTRACTOR=node sends the same layers to the Node helper.
 * Both must leave the same files and refuse the same layers in the same
 * words (docs/decisions.md): each case is pulled once each way, into two
 * stores, and compared.
 */

const T = new Date('2020-02-02T02:02:02Z');
const RICH_LOWER: TarEntry[] = [
  { name: 'etc/', type: 'directory', mtime: T },
  { name: 'etc/keep', body: 'keep\n', mtime: T },
  { name: 'etc/gone', body: 'gone\n', mtime: T },
  { name: 'opq/', type: 'directory', mtime: T },
  { name: 'opq/old', body: 'old\n', mtime: T },
];
const RICH_UPPER: TarEntry[] = [
  { name: './', type: 'directory', mode: 0o751, mtime: new Date('2011-01-01T00:00:00Z') },
  { name: 'etc/', type: 'directory', mode: 0o700, mtime: new Date('2012-01-01T00:00:00Z') },
  { name: 'etc/.wh.gone', body: '' },
  { name: 'opq/', type: 'directory', mtime: T },
  { name: 'opq/.wh..wh..opq', body: '' },
  { name: 'opq/new', body: 'new\n', mtime: T },
  { name: 'bin/', type: 'directory', mode: 0o555, mtime: T },
  { name: 'bin/suid', body: '#!/bin/sh\n', mode: 0o4755, mtime: T },
  { name: 'bin/sgid', body: 'x', mode: 0o2711, uid: 1000, gid: 1000, mtime: T },
  { name: 'bin/x', body: 'x', mtime: T, pax: { 'SCHILY.xattr.user.foo': 'bar', 'SCHILY.xattr.trusted.dropped': 'no' } },
  { name: 'home/', type: 'directory', uid: 1000, gid: 1000, mode: 0o750, mtime: T },
  { name: 'home/u/', type: 'directory', uid: 65533, gid: 65533, mtime: T },
  { name: 'home/u/f', body: 'owned', uid: 65533, gid: 100, mtime: T },
  { name: 'lnk', type: 'symlink', linkname: '/etc/keep', uid: 7, gid: 8, mtime: T },
  { name: 'hard', type: 'link', linkname: 'home/u/f' },
  { name: 'fifo', type: 'fifo', mode: 0o600 },
  { name: 'dev/', type: 'directory', mtime: T },
  { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
  { name: 'dev/wh', type: 'character-device', devmajor: 0, devminor: 0 },
  { name: 'empty', body: '', mtime: T },
  { name: 'big', body: Buffer.alloc(3 << 20, 0x5a), mtime: T },
  { name: `${'x'.repeat(120)}/${'y'.repeat(120)}`, body: 'a PAX path', mtime: T },
  { name: `${'z'.repeat(99)}/${'w'.repeat(99)}/${'v'.repeat(50)}`, body: 'a ustar prefix', mtime: T },
  { name: 'dup', body: 'first', mtime: T },
  { name: 'dup', body: 'second', mode: 0o600, mtime: T },
  { name: 'd2/', type: 'directory', mode: 0o711, mtime: T },
  { name: 'd2/', type: 'directory', mode: 0o755, mtime: new Date('2015-05-05T00:00:00Z') },
];

/** Layers the extractors must refuse, one entry list (or raw bytes) each, with what the refusal names. */
const HOSTILE: Record<string, { entries?: TarEntry[]; raw?: () => Promise<Buffer>; why: RegExp }> = {
  'path traversal': { entries: [{ name: '../../../../../../pull-escape', body: 'x' }], why: /points outside the layer/ },
  'a file through a symlink': {
    entries: [{ name: 'evil', type: 'symlink', linkname: '/tmp' }, { name: 'evil/pull-escape', body: 'x' }],
    why: /"evil\/pull-escape" is written through "evil", which is a symlink/,
  },
  'a hard link through a symlink': {
    entries: [{ name: 's', type: 'symlink', linkname: '/etc' }, { name: 'hl', type: 'link', linkname: 's/passwd' }],
    why: /"s\/passwd" is written through "s", which is a symlink/,
  },
  'a hard link to a directory': {
    entries: [{ name: 'd/', type: 'directory' }, { name: 'hl', type: 'link', linkname: 'd' }],
    why: /hard link "hl" points to a directory/,
  },
  'a whiteout of ..': { entries: [{ name: 'a/', type: 'directory' }, { name: 'a/.wh...', body: '' }], why: /whiteout of "\.\.", which points outside/ },
  'an owner outside the range': { entries: [{ name: 'f', body: 'x', uid: 200_000 }], why: /id 200000.*--remap-outside-ids/ },
  'a truncated gzip stream': { raw: async () => { const g = gzip(await makeTar([{ name: 'f', body: Buffer.alloc(200_000, 1) }])); return g.subarray(0, g.length >> 1); }, why: /truncated/ },
  'not a tar': { raw: async () => gzip(Buffer.from('not a tar archive\n'.repeat(100))), why: /not a valid tar stream/ },
  'a tar cut in an entry': { raw: async () => gzip((await makeTar([{ name: 'f', body: Buffer.alloc(100_000, 7) }])).subarray(0, 50_000)), why: /truncated/ },
};

/** The image with its one layer's blob replaced (the manifest follows; the config's diff id stays). */
function withBlob(img: RawImage, blob: Buffer): RawImage {
  const manifest = JSON.parse(img.manifest.toString()) as { layers: Array<{ digest: string; size: number }> };
  manifest.layers[0] = { ...manifest.layers[0]!, digest: sha256(blob), size: blob.length };
  const m = Buffer.from(JSON.stringify(manifest));
  return { ...img, manifest: m, layers: [{ blob, diffId: img.layers[0]!.diffId }], digest: sha256(m) };
}

describe('pull: rootlet-layer-fetch and the Node helper extract alike and refuse alike', () => {
  const sbs = { c: new Sandbox('pull-extract-c'), node: new Sandbox('pull-extract-node') };
  let reg: Registry;

  const pull = (which: 'c' | 'node', ref: string, extra: string[] = []): Result => {
    const sb = sbs[which];
    return sb.run(['pull', '-q', '--tls-verify=false', ...extra, `${reg.host}/${ref}`], {
      env: { ...sb.env, ROOTLET_TRACE: '1', ...(which === 'node' ? { ROOTLET_LAYER_EXTRACTOR: 'node' } : {}) },
    });
  };
  /** Every path of the store's layers as the namespace sees it; times of what the extractors made themselves (now) as "new". */
  const listing = (which: 'c' | 'node'): string => {
    const sb = sbs[which];
    const script = 'cd "$1" && for d in *; do (cd "$d" && find . -printf "$d %p %y %m %U %G %T@ %s %l %n\\n" && find . -type c -exec stat -c "$d %n %t:%T" {} + && '
      + 'find . -type f -exec sha256sum {} + && find . \\( -type f -o -type d \\) -exec getfattr -h -d -m - {} + 2>/dev/null); done';
    const out = sb.ok(['unshare', 'sh', '-c', script, 'sh', sb.path('data/rootlet/layers')]);
    return out.split('\n').map((l) => l.replace(/ (1[7-9]\d{8})\.\d+ /, ' new ').replace(/ (\d{10})\.0+ /, ' $1 ')).sort().join('\n');
  };
  const trace = (r: Result) => [...r.stderr.matchAll(/extracted by (rootlet-layer-fetch|the node helper)/g)].map((m) => m[1]);

  before(async () => {
    reg = await startRegistry();
    await pushRaw(reg.host, 'rich/image', 'latest', makeImage([await makeTar(RICH_LOWER), await makeTar(RICH_UPPER)]));
    for (const [i, [, c]] of Object.entries(HOSTILE).entries()) {
      // A damaged stream is pushed as it is, in place of the layer its config names (refused before the diff id counts).
      const img = c.raw ? withBlob(makeImage([Buffer.alloc(0)]), await c.raw()) : makeImage([await makeTar(c.entries!)]);
      await pushRaw(reg.host, `hostile/case${i}`, 'latest', img);
    }
    await pushRaw(reg.host, 'plain/tar', 'latest', makeImage([await makeTar([{ name: 'p', body: 'plain', mtime: T }])], { compress: false }));
    const tar = await makeTar([{ name: 'm', body: 'two members', mtime: T }]);
    await pushRaw(reg.host, 'two/members', 'latest', withBlob(makeImage([tar]), Buffer.concat([gzip(tar.subarray(0, 1024)), gzip(tar.subarray(1024))])));
  });
  after(() => {
    reg?.stop();
    sbs.c.destroy();
    sbs.node.destroy();
  });

  test('a layer of every entry kind, on a lower layer: the same files, owners, modes, times, links, whiteouts and xattrs', () => {
    const c = pull('c', 'rich/image');
    const n = pull('node', 'rich/image');
    assert.equal(c.code, 0, c.stderr);
    assert.equal(n.code, 0, n.stderr);
    assert.deepEqual(trace(c), ['rootlet-layer-fetch', 'rootlet-layer-fetch']);
    assert.deepEqual(trace(n), ['the node helper', 'the node helper']);
    // One device node (dev/null) left out, said the same way by both.
    assert.equal(c.stderr.match(/device node.*skipped.*/)?.[0], n.stderr.match(/device node.*skipped.*/)?.[0]);
    const lc = listing('c');
    assert.equal(lc, listing('node'));
    // What the comparison covers is there.
    for (const want of [/ \.\/etc\/gone c 644 0 0 new 0 {2}1$/m, / \.\/etc\/gone 0:0$/m, /bin\/suid f 4755/, /bin\/sgid f 2711 1000 1000/, /user\.foo="bar"/, /user\.overlay\.opaque="y"/, /lnk l 777 7 8 1580608922 9 \/etc\/keep/, / \.\/hard f 644 65533 100 1580608922 5 {2}2$/m, /d2 d 755 0 0 1430784000/]) {
      assert.match(lc, want);
    }
    assert.doesNotMatch(lc, /trusted\.dropped|dev\/null/);
  });

  test('an uncompressed layer and a gzip stream of two members extract alike', () => {
    for (const ref of ['plain/tar', 'two/members']) {
      const c = pull('c', ref);
      assert.equal(c.code, 0, c.stderr);
      assert.deepEqual(trace(c), ['rootlet-layer-fetch']);
      assert.equal(pull('node', ref).code, 0);
    }
    assert.equal(listing('c'), listing('node'));
  });

  for (const [i, [name, c]] of Object.entries(HOSTILE).entries()) {
    test(`refused alike: ${name} (exit 125, one line, the same words, nothing stored)`, () => {
      const before = { c: readdirSync(sbs.c.path('data/rootlet/layers')).sort(), node: readdirSync(sbs.node.path('data/rootlet/layers')).sort() };
      const rc = pull('c', `hostile/case${i}`);
      const rn = pull('node', `hostile/case${i}`);
      assert.equal(rc.code, 125, rc.stderr);
      assert.equal(rn.code, 125, rn.stderr);
      const line = (r: Result) => r.stderr.split('\n').filter((l) => l && !l.startsWith('[trace]'));
      assert.equal(line(rc).length, 1, rc.stderr);
      assert.match(line(rc)[0]!, c.why);
      assert.deepEqual(line(rc), line(rn));
      assert.deepEqual(readdirSync(sbs.c.path('data/rootlet/layers')).sort(), before.c);
      assert.deepEqual(readdirSync(sbs.node.path('data/rootlet/layers')).sort(), before.node);
      assert.deepEqual(readdirSync(sbs.c.path('data/rootlet/tmp')), []);
      assert.ok(!existsSync('/tmp/pull-escape'));
    });
  }

  test('--remap-outside-ids: both make the outside owner root and say so alike', () => {
    const i = Object.keys(HOSTILE).indexOf('an owner outside the range');
    const rc = pull('c', `hostile/case${i}`, ['--remap-outside-ids']);
    const rn = pull('node', `hostile/case${i}`, ['--remap-outside-ids']);
    assert.equal(rc.code, 0, rc.stderr);
    assert.equal(rn.code, 0, rn.stderr);
    assert.equal(listing('c'), listing('node'));
  });

});
