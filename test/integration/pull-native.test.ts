import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BIN, Sandbox, type Result } from '../helpers.js';
import { makeClientCert, makeTls, okAsync, pushRaw, runAsync, startRegistry, type RawImage, type Registry } from '../registry-helpers.js';
import { extractors, gnuEntry, have, image, layer, listLayer, paxHeader, plainLines, rawHeader, short, startOddRegistry, type Layer } from '../pull-native-helpers.js';
import { gnuTar, makeSparseFile, makeTar, tarBody, type TarEntry } from '../tar-fixtures.js';

/**
 * `pull` from a plain-HTTP registry stores each layer with
 * rootlet-layer-fetch (C: it GETs the blob, hashes, keeps and extracts it);
 * ROOTLET_LAYER_EXTRACTOR=node sends every layer to the Node helper. Every
 * image here is pulled into two stores, once each way, and the two must
 * end alike: the same files as the namespace sees them (owners, modes,
 * times, links, whiteouts, xattrs), the same refusals in the same one
 * line with nothing stored and nothing written outside, and what the C
 * extractor hands back (zstd, xz, bzip2, GNU sparse files, an answer other
 * than a plain 200) done by the Node helper, as the trace says.
 */

const HOME = process.env.HOME!;
const T = new Date('2020-02-02T02:02:02Z');
const T_SEC = T.getTime() / 1000;
/** A security.capability value (v2, effective, cap_net_bind_service): every byte below 0x80, as a PAX record carries it either way. */
const CAP = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, ...Array<number>(12).fill(0)]);

const LONG_PAX = `pax-${'p'.repeat(96)}/${'q'.repeat(99)}`; // 200 characters, written through a PAX path record
const LONG_ONE = 'o'.repeat(200); // one 200-character component: no ustar split fits
const LONG_GNU = `gnu-${'g'.repeat(96)}/${'h'.repeat(99)}`; // 200 characters, written as GNU tar does ('L')
const LONG_TARGET = `/${'t'.repeat(80)}/${'u'.repeat(70)}`; // a symlink target past 100 characters

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const seeded = (n: number, seed: string): Buffer => {
  const out: Buffer[] = [];
  let h = Buffer.from(seed);
  for (let have = 0; have < n; have += 32) { h = createHash('sha256').update(h).digest(); out.push(h); }
  return Buffer.concat(out).subarray(0, n);
};

const LOWER: TarEntry[] = [
  { name: 'etc/', type: 'directory', mtime: T },
  { name: 'etc/keep', body: 'keep\n', mtime: T },
  { name: 'etc/gone', body: 'gone\n', mtime: T },
  { name: 'opq/', type: 'directory', mtime: T },
  { name: 'opq/old', body: 'old\n', mtime: T },
  { name: 'opq/sub/', type: 'directory', mtime: T },
  { name: 'opq/sub/deep', body: 'deep\n', mtime: T },
  { name: 'data/', type: 'directory', mode: 0o700, mtime: T },
];

/** The upper layer: an entry of every kind the extractors must store alike. */
function upperEntries(canary: string): TarEntry[] {
  return [
    { name: './', type: 'directory', mode: 0o751, mtime: new Date('2011-01-01T00:00:00Z') },
    { name: 'etc/', type: 'directory', mode: 0o700, mtime: new Date('2012-01-01T00:00:00Z') },
    { name: 'etc/.wh.gone', body: '' },
    { name: 'opq/', type: 'directory', mtime: T },
    { name: 'opq/.wh..wh..opq', body: '' },
    { name: 'opq/new', body: 'new\n', mtime: T },
    { name: 'data/.wh.never-there', body: '' },
    { name: 'bin/', type: 'directory', mode: 0o555, mtime: T },
    { name: 'bin/suid', body: '#!/bin/sh\necho suid\n', mode: 0o4755, mtime: T },
    { name: 'bin/sgid', body: 'x', mode: 0o2711, uid: 1000, gid: 1000, mtime: T },
    { name: 'bin/x', body: 'x', mtime: T, pax: { 'SCHILY.xattr.user.foo': 'bar', 'SCHILY.xattr.trusted.x': 'dropped' } },
    { name: 'bin/cap', body: '#!/bin/sh\n', mode: 0o755, mtime: T, pax: { 'SCHILY.xattr.security.capability': CAP.toString('latin1'), 'SCHILY.xattr.user.two': 'with space=and equals' } },
    { name: 'xdir/', type: 'directory', mode: 0o750, mtime: T, pax: { 'SCHILY.xattr.user.dir': '1' } },
    { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: T },
    { name: 'home/', type: 'directory', uid: 1000, gid: 1000, mode: 0o750, mtime: T },
    { name: 'home/u/', type: 'directory', uid: 65533, gid: 65533, mtime: T },
    { name: 'home/u/f', body: 'owned', uid: 65533, gid: 100, mtime: T },
    { name: 'home/u/g', body: 'group only', uid: 0, gid: 65533, mode: 0o640, mtime: T },
    { name: 'lnk', type: 'symlink', linkname: '/etc/keep', uid: 7, gid: 8, mtime: T },
    { name: 'rel', type: 'symlink', linkname: '../etc/keep', mtime: T },
    { name: 'dangling', type: 'symlink', linkname: 'no/such/file', mtime: T },
    { name: 'hard', type: 'link', linkname: 'home/u/f' },
    { name: 'hard-suid', type: 'link', linkname: 'bin/suid' },
    { name: 'fifo', type: 'fifo', mode: 0o600, uid: 1000, gid: 1000, mtime: T },
    { name: 'dev/', type: 'directory', mtime: T },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 },
    { name: 'empty', body: '', mtime: T },
    { name: 'big', body: seeded(3 << 20, 'big'), mtime: T },
    { name: LONG_PAX, body: 'a PAX path', mtime: T, pax: {} },
    { name: LONG_ONE, body: 'one long component', mtime: T },
    { name: `${'z'.repeat(99)}/${'w'.repeat(99)}/${'v'.repeat(50)}`, body: 'a ustar prefix', mtime: T },
    { name: 'pax-long-target', type: 'symlink', linkname: LONG_TARGET, mtime: T },
    { name: 'hard-to-long', type: 'link', linkname: LONG_PAX },
    { name: 'paxowner', body: 'pax ids', mtime: T, pax: { uid: '1234', gid: '4321' } },
    { name: 'paxtime', body: 'pax time', mtime: T, pax: { mtime: '1234567890.75' } },
    { name: 'paxsize', body: 'pax size', mtime: T, pax: { size: '8' } },
    { name: 'dup', body: 'first', mtime: T },
    { name: 'dup', body: 'second', mode: 0o600, mtime: T },
    { name: 'd2/', type: 'directory', mode: 0o711, mtime: T },
    { name: 'd2/', type: 'directory', mode: 0o755, mtime: new Date('2015-05-05T00:00:00Z') },
    { name: 'implicit/deep/file', body: 'no parents given', mtime: T },
    { name: 'repl', type: 'symlink', linkname: join(canary, 'file'), mtime: T },
    { name: 'repl', body: 'replaced, not written through\n', mtime: T },
    { name: 'f2d', body: 'a file first', mtime: T },
    { name: 'f2d/', type: 'directory', mtime: T },
    { name: 'f2d/in', body: 'then a directory', mtime: T },
    { name: 'd2f/', type: 'directory', mtime: T },
    { name: 'd2f/in', body: 'a directory first', mtime: T },
    { name: 'd2f', body: 'then a file', mtime: T },
  ];
}

/** The upper layer's tar: a PAX global header, tar-stream's entries, then GNU long names and base-256 numbers written by hand. */
async function upperTar(canary: string): Promise<Buffer> {
  const globalBody = Buffer.from('29 comment=rootlet pull test\n');
  const global = Buffer.concat([rawHeader({ name: 'pax_global_header', type: 'g', size: globalBody.length }), globalBody, Buffer.alloc(512 - globalBody.length)]);
  return Buffer.concat([
    global,
    tarBody(await makeTar(upperEntries(canary))),
    gnuEntry({ name: `${LONG_GNU}-dir/`, type: '5', mode: 0o710, mtime: T_SEC }),
    gnuEntry({ name: LONG_GNU, type: '0', mode: 0o640, uid: 1000, gid: 1000, mtime: T_SEC }, Buffer.from('a GNU long name')),
    gnuEntry({ name: 'gnu-long-target', type: '2', linkname: `${LONG_TARGET}/gnu`, mode: 0o777, mtime: T_SEC }),
    gnuEntry({ name: `${LONG_GNU}-link`, type: '1', linkname: LONG_GNU, mtime: T_SEC }),
    // Mode 0 (tar-stream writes 0 as its default 0755): the directory's mode is set once its files are in.
    gnuEntry({ name: 'locked/', type: '5', mode: 0, mtime: T_SEC }),
    gnuEntry({ name: 'locked/inner', type: '0', mode: 0o400, mtime: T_SEC }, Buffer.from('inner\n')),
    gnuEntry({ name: 'b256', type: '0', mode: 0o644, base256: { uid: 2000n, gid: 3000n, mtime: 1_600_000_000n, size: 11n } }, Buffer.from('base-256 !\n')),
    Buffer.alloc(1024),
  ]);
}

interface Hostile { tar?: () => Promise<Buffer>; blob?: () => Promise<Buffer>; why: RegExp }

/** The layers the extractors must refuse (test/integration/layers.test.ts's, and more), each as a one-layer image. */
function hostileCases(marker: string, outside: string, canary: string): Record<string, Hostile> {
  const entries = (e: TarEntry[]) => () => makeTar(e);
  return {
    'path traversal': { tar: entries([{ name: `../../../../../../${marker}`, body: 'pwned\n' }]), why: /points outside the layer/ },
    'path traversal after a real directory': {
      tar: entries([{ name: 'ok/', type: 'directory' }, { name: `ok/../../../../../../../${marker}`, body: 'pwned\n' }]), why: /points outside the layer/,
    },
    'path traversal in a PAX path': { tar: entries([{ name: `../../../../../../${marker}`, body: 'pwned\n', pax: { comment: 'x' } }]), why: /points outside the layer/ },
    'path traversal in a GNU long name': {
      tar: async () => Buffer.concat([gnuEntry({ name: `${'../'.repeat(40)}${marker}`, type: '0' }, Buffer.from('pwned\n')), Buffer.alloc(1024)]), why: /points outside the layer/,
    },
    'a symlink to a host directory, then a file through it': {
      tar: entries([{ name: 'evil', type: 'symlink', linkname: outside }, { name: `evil/${marker}`, body: 'pwned\n' }]),
      why: new RegExp(`"evil/${marker}" is written through "evil", which is a symlink`),
    },
    'a symlink climbing with .., then a file through it': {
      tar: entries([{ name: 'evil', type: 'symlink', linkname: '../../../../../..' }, { name: `evil/${marker}`, body: 'pwned\n' }]), why: /which is a symlink/,
    },
    'a symlink, then a directory through it': {
      tar: entries([{ name: 'evil', type: 'symlink', linkname: outside }, { name: `evil/${marker}/`, type: 'directory' }]), why: /which is a symlink/,
    },
    'a symlink, then a hard link made through it': {
      tar: entries([{ name: 'f', body: 'x' }, { name: 'evil', type: 'symlink', linkname: outside }, { name: `evil/${marker}`, type: 'link', linkname: 'f' }]), why: /which is a symlink/,
    },
    'a hard link with ..': { tar: entries([{ name: 'hl', type: 'link', linkname: '../../../../canary/file' }]), why: /points outside the layer/ },
    'a hard link through a symlink': {
      tar: entries([{ name: 's', type: 'symlink', linkname: canary }, { name: 'hl', type: 'link', linkname: 's/file' }]),
      why: /"s\/file" is written through "s", which is a symlink/,
    },
    'a hard link to an absolute host path': {
      tar: entries([{ name: 'hl', type: 'link', linkname: join(canary, 'file') }]), why: /hard link "hl" points to .* which is not in the layer/,
    },
    'a hard link to a directory': { tar: entries([{ name: 'd/', type: 'directory' }, { name: 'hl', type: 'link', linkname: 'd' }]), why: /hard link "hl" points to a directory/ },
    'a whiteout of .. at the top': { tar: entries([{ name: 'x', body: 'x' }, { name: '.wh...', body: '' }]), why: /whiteout of "\.\.", which points outside/ },
    'a whiteout of . at the top': { tar: entries([{ name: 'x', body: 'x' }, { name: '.wh..', body: '' }]), why: /whiteout of "\.?", which points outside/ },
    'a whiteout of .. in a directory': { tar: entries([{ name: 'a/', type: 'directory' }, { name: 'a/.wh...', body: '' }]), why: /whiteout of "\.\.", which points outside/ },
    'an uncompressed tar cut in an entry': {
      blob: async () => (await makeTar([{ name: 'big', body: Buffer.alloc(100_000, 7) }, { name: 'after', body: 'x' }])).subarray(0, 50_000), why: /truncated/,
    },
    'a gzip stream cut short': {
      blob: async () => { const g = gzipSync(await makeTar([{ name: 'big', body: seeded(100_000, 'cut') }])); return g.subarray(0, g.length >> 1); }, why: /truncated/,
    },
    'a gzipped tar cut in an entry': { blob: async () => gzipSync((await makeTar([{ name: 'f', body: Buffer.alloc(100_000, 7) }])).subarray(0, 50_000)), why: /truncated/ },
    'not a tar': { blob: async () => Buffer.from('this is not a tar archive\n'.repeat(100)), why: /not a valid tar/ },
    'gzip of not a tar': { blob: async () => gzipSync(Buffer.from('this is not a tar archive\n'.repeat(100))), why: /not a valid tar/ },
    'a gzip stream whose CRC is wrong': {
      blob: async () => { const g = gzipSync(await makeTar([{ name: 'f', body: seeded(50_000, 'crc') }])); g[g.length - 8] = g[g.length - 8]! ^ 0xff; return g; }, why: /corrupt gzip stream/,
    },
  };
}

const END = Buffer.alloc(1024);

/**
 * Layers at the edges of the format, where nothing says what an extractor
 * must do but both must do the same: stored alike, or refused in the same
 * line with nothing stored. (Each is one image of one layer.)
 */
const EDGES: Record<string, () => Promise<Buffer>> = {
  'a hard link to a symlink': () => makeTar([{ name: 'target', body: 't', mtime: T }, { name: 'lnk', type: 'symlink', linkname: 'target', mtime: T }, { name: 'hl', type: 'link', linkname: 'lnk' }]),
  'a hard link, then its target replaced by a new file': () => makeTar([{ name: 'f', body: 'old', mtime: T }, { name: 'hl', type: 'link', linkname: 'f' }, { name: 'f', body: 'new!', mtime: T }]),
  'a hard link to itself': () => makeTar([{ name: 'f', body: 'self', mtime: T }, { name: 'f', type: 'link', linkname: 'f' }]),
  'absolute and unnormalised names': () => makeTar([
    { name: '/abs/file', body: 'abs', mtime: T }, { name: './dot/./x', body: 'dot', mtime: T }, { name: 'dbl//slash', body: 'dbl', mtime: T },
    { name: 'trail/', type: 'directory', mode: 0o700, mtime: T }, { name: 'trail/./y', body: 'y', mtime: T },
  ]),
  'a full st_mode in the mode field, old type flags (NUL, 7)': async () => Buffer.concat([
    gnuEntry({ name: 'fullmode', type: '0', mode: 0o100640, mtime: T_SEC }, Buffer.from('full')),
    gnuEntry({ name: 'nulflag', type: '\0', mode: 0o644, mtime: T_SEC }, Buffer.from('nul')),
    gnuEntry({ name: 'contiguous', type: '7', mode: 0o600, mtime: T_SEC }, Buffer.from('seven')),
    gnuEntry({ name: 'fulldir/', type: '5', mode: 0o42750, mtime: T_SEC }),
    END,
  ]),
  'a directory marked only by a trailing slash (type 0)': async () => Buffer.concat([gnuEntry({ name: 'olddir/', type: '0', mode: 0o755, mtime: T_SEC }), gnuEntry({ name: 'olddir/f', type: '0', mtime: T_SEC }, Buffer.from('in')), END]),
  'POSIX ustar magic, and a v7 header (no magic)': async () => Buffer.concat([
    gnuEntry({ name: 'posix', type: '0', magic: 'posix', mtime: T_SEC }, Buffer.from('posix')),
    gnuEntry({ name: 'v7', type: '0', magic: 'none', mtime: T_SEC }, Buffer.from('v7')),
    END,
  ]),
  'an unknown type flag': async () => Buffer.concat([gnuEntry({ name: 'before', type: '0', mtime: T_SEC }, Buffer.from('b')), gnuEntry({ name: 'odd', type: 'Z', mtime: T_SEC }, Buffer.from('unknown data')), gnuEntry({ name: 'after', type: '0', mtime: T_SEC }, Buffer.from('a')), END]),
  'a negative mtime (base-256) and mtime 0': async () => Buffer.concat([
    gnuEntry({ name: 'past', type: '0', base256: { mtime: -86_400n } }, Buffer.from('1969')),
    gnuEntry({ name: 'epoch', type: '0', mtime: 0 }, Buffer.from('1970')),
    END,
  ]),
  'the last id of the range (65535)': () => makeTar([{ name: 'edge', body: 'last id', uid: 65535, gid: 65535, mtime: T }]),
  'the first id past the range (65536)': () => makeTar([{ name: 'past', body: 'first id out', uid: 65536, gid: 0, mtime: T }]),
  'a group outside the range, the owner inside': () => makeTar([{ name: 'g', body: 'gid', uid: 0, mtime: T, pax: { gid: '3000000000' } }]),
  'a name that is not UTF-8': async () => Buffer.concat([gnuEntry({ name: 'caf\xe9', type: '0', mtime: T_SEC }, Buffer.from('latin-1')), END]),
  'xattr values with bytes above 0x7f': async () => Buffer.concat([
    paxHeader([['SCHILY.xattr.user.bin', Buffer.from([0x80, 0xff, 0x00, 0x41])], ['SCHILY.xattr.security.capability', Buffer.from([0x01, 0, 0, 0x02, 0x80, 0, 0, 0, ...Array<number>(12).fill(0)])]]),
    gnuEntry({ name: 'binx', type: '0', mode: 0o755, mtime: T_SEC }, Buffer.from('x')),
    END,
  ]),
  'a user.* xattr on a symlink': () => makeTar([{ name: 't', body: 't', mtime: T }, { name: 'l', type: 'symlink', linkname: 't', mtime: T, pax: { 'SCHILY.xattr.user.l': 'v' } }]),
  'a PAX record that unsets the path (path=) and a global uid': async () => Buffer.concat([
    paxHeader([['uid', '1000']], 'g'),
    gnuEntry({ name: 'globally-owned', type: '0', mtime: T_SEC }, Buffer.from('g')),
    paxHeader([['path', '']]),
    gnuEntry({ name: 'header-name', type: '0', mtime: T_SEC }, Buffer.from('h')),
    END,
  ]),
  'an empty blob': async () => Buffer.alloc(0),
  'only the end blocks': async () => Buffer.alloc(10240),
  'garbage after the end blocks': async () => Buffer.concat([await makeTar([{ name: 'f', body: 'before garbage', mtime: T }]), Buffer.from('garbage after the end of the archive\n'.repeat(20))]),
};

describe('pull: rootlet-layer-fetch (the default) and the Node helper store and refuse alike', () => {
  const sbs = { native: new Sandbox('pull-native'), node: new Sandbox('pull-native-node') };
  type Which = keyof typeof sbs;
  const outside = sbs.native.path('outside');
  const canary = sbs.native.path('canary');
  const marker = `rootlet-pull-escape-${randomBytes(4).toString('hex')}`;
  const HOSTILE = hostileCases(marker, outside, canary);
  let reg: Registry;
  /** The refused images again, from a registry that counts requests: rootlet-layer-fetch must refuse them itself, not hand them back. */
  let counted: Awaited<ReturnType<typeof startOddRegistry>>;
  const countedManifests: Record<string, Buffer> = {};
  const countedBlobs: Buffer[] = [];
  const ids: Record<string, Layer> = {};
  let outsideBefore: string[] = [];
  const rich = { lower: undefined as unknown as Layer, upper: undefined as unknown as Layer };
  const images = new Map<string, RawImage>();

  type PullOptions = { extra?: string[]; traced?: boolean; host?: string; verify?: boolean };
  /** Pulls `ref` into one store; traced unless told, the Node helper forced for 'node'; --tls-verify=false unless `verify`. */
  const pull = (which: Which, ref: string, o: PullOptions = {}): Promise<Result> =>
    runAsync(sbs[which], ['pull', '-q', ...(o.verify ? [] : ['--tls-verify=false']), ...(o.extra ?? []), `${o.host ?? reg.host}/${ref}`], {
      env: { ROOTLET_TRACE: o.traced === false ? '' : '1', ROOTLET_LAYER_EXTRACTOR: which === 'node' ? 'node' : '' },
    });
  /** The same pull into both stores at once. */
  const pullBoth = async (ref: string, o: PullOptions = {}) => {
    const [native, node] = await Promise.all([pull('native', ref, o), pull('node', ref, o)]);
    return { native, node };
  };
  /** Files (name in the directory → file to copy) in both stores' certs.d for `host`, where the CLI looks for a registry's certificates. */
  const certsFor = (host: string, files: Record<string, string>) => {
    for (const which of ['native', 'node'] as const) {
      const dir = sbs[which].path('config/containers/certs.d', host);
      mkdirSync(dir, { recursive: true });
      for (const [name, from] of Object.entries(files)) copyFileSync(from, join(dir, name));
    }
  };
  const dropCerts = (host: string) => {
    for (const which of ['native', 'node'] as const) rmSync(sbs[which].path('config/containers/certs.d', host), { recursive: true, force: true });
  };
  const push = async (ref: string, layers: Layer[], countedTag?: string) => {
    const img = image(layers);
    images.set(ref, img);
    await pushRaw(reg.host, ref, 'latest', img);
    if (countedTag) {
      countedManifests[countedTag] = img.manifest;
      countedBlobs.push(img.config, ...img.layers.map((l) => l.blob));
    }
  };
  const layerDir = (which: Which, l: Layer) => sbs[which].path('data/rootlet/layers', l.diffId.slice(7));
  /** Both stores hold the layer, listed alike; the listing (the Node helper's) is returned for checks of what it holds. */
  const sameLayer = (l: Layer, what: string): string => {
    assert.ok(existsSync(layerDir('node', l)), `${what}: the Node helper stored no ${l.diffId}`);
    assert.ok(existsSync(layerDir('native', l)), `${what}: the default pull stored no ${l.diffId}`);
    const node = listLayer(sbs.node, layerDir('node', l));
    assert.deepEqual(listLayer(sbs.native, layerDir('native', l)), node, `${what}: the stored layers differ (actual: default pull, expected: Node helper)`);
    // The blob is kept, as it was served.
    for (const which of ['native', 'node'] as const) {
      const blob = sbs[which].path('data/rootlet/blobs/sha256', hex(l.blob));
      assert.ok(existsSync(blob), `${what}: ${which}: the blob was not kept`);
      assert.ok(readFileSync(blob).equals(l.blob), `${what}: ${which}: the kept blob is not the one served`);
    }
    return node.join('\n');
  };
  /** Files named `marker` in $HOME (outside the stores), /tmp or /var/tmp; and the outside directory and canary as they were. */
  const nothingOutside = (what: string) => {
    const found: string[] = [];
    for (const [dir, depth] of [[HOME, '12'], ['/tmp', '3'], ['/var/tmp', '3']] as const) {
      const r = spawnSync('find', [dir, '-maxdepth', depth, '(', '-path', sbs.native.path('data'), '-o', '-path', sbs.node.path('data'), ')', '-prune', '-o', '-name', `${marker}*`, '-print'], { encoding: 'utf8' });
      found.push(...r.stdout.split('\n').filter(Boolean));
    }
    assert.deepEqual(found, [], `${what}: written outside the store`);
    assert.deepEqual(readdirSync(outside), outsideBefore, what);
    assert.equal(readFileSync(join(canary, 'file'), 'utf8'), 'canary\n', what);
    assert.equal(statSync(join(canary, 'file')).nlink, 1, what);
  };
  /** Everything a store holds (Sandbox.storeState's, read without blocking), both stores at once. */
  const stateOf = async (which: Which) => {
    const sb = sbs[which];
    const list = (p: string) => (existsSync(sb.path(p)) ? readdirSync(sb.path(p)).sort() : ['<gone>']);
    return {
      images: await okAsync(sb, ['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']),
      layers: list('data/rootlet/layers'),
      blobs: list('data/rootlet/blobs/sha256'),
      tmp: list('data/rootlet/tmp'),
    };
  };
  const states = async () => {
    const [native, node] = await Promise.all([stateOf('native'), stateOf('node')]);
    return { native, node };
  };
  /** Both pulls refused: exit 125, one line each (no trace), naming the problem, in the same words; both stores as they were. */
  const refusedAlike = async (ref: string, why: RegExp, extra: string[] = [], countedTag?: string): Promise<string> => {
    const state = await states();
    const { native, node } = await pullBoth(ref, { traced: false, extra });
    assert.equal(node.code, 125, `forced Node helper: ${node.stderr}`);
    assert.equal(native.code, 125, `default pull: exit ${native.code}: ${native.stderr}`);
    const lines = { native: plainLines(native), node: plainLines(node) };
    assert.equal(lines.node.length, 1, `forced Node helper: ${node.stderr}`);
    assert.equal(lines.native.length, 1, `default pull: ${native.stderr}`);
    assert.equal(native.stderr.split('\n').filter(Boolean).length, 1, native.stderr);
    assert.match(lines.node[0]!, /^Error: /);
    assert.match(lines.node[0]!, why);
    assert.equal(lines.native[0], lines.node[0], 'the default pull words the refusal unlike the Node helper');
    const now = await states();
    assert.deepEqual(now.node, state.node, 'forced Node helper: the store changed');
    assert.deepEqual(now.native, state.native, 'default pull: the store changed');
    if (countedTag) {
      // Refused by rootlet-layer-fetch itself: the layer was asked for once (a layer handed back is asked for again by the Node helper).
      const img = images.get(ref)!;
      const get = `GET /v2/counted/image/blobs/sha256:${hex(img.layers[0]!.blob)}`;
      const from = counted.requests.length;
      const again = await pull('native', `counted/image:${countedTag}`, { traced: false, extra, host: counted.host });
      assert.equal(again.code, 125, again.stderr);
      assert.deepEqual(plainLines(again), lines.native, 'the same layer from another registry is refused in other words');
      assert.equal(counted.requests.slice(from).filter((r) => r === get).length, 1, `the layer was fetched more than once: handed back to the Node helper?\n${counted.requests.slice(from).join('\n')}`);
      assert.deepEqual(await stateOf('native'), state.native, 'default pull from the counting registry: the store changed');
    }
    return lines.native[0]!;
  };
  /**
   * Where the contract names no outcome: both pulls end alike. Stored: the
   * same listing, by rootlet-layer-fetch. Refused: the same line (the
   * stores' own paths, which differ, written as STORE and the temporary
   * names as .tmp-X) and both stores as they were.
   */
  const endAlike = async (ref: string, l: Layer, what: string) => {
    const state = await states();
    const { native, node } = await pullBoth(ref);
    const norm = (r: Result) => plainLines(r).map((x) => x.replaceAll(sbs.native.root, 'STORE').replaceAll(sbs.node.root, 'STORE').replace(/\.tmp-[0-9]+-[0-9a-f]+/g, '.tmp-X'));
    const said = `default pull exit ${native.code} (${norm(native).join(' | ')}), Node helper exit ${node.code} (${norm(node).join(' | ')})`;
    assert.equal(native.code, node.code, said);
    assert.deepEqual(norm(native), norm(node), said);
    if (node.code === 0) {
      assert.deepEqual(extractors(native), { [short(l.blob)]: 'rootlet-layer-fetch' }, said);
      sameLayer(l, what);
    } else {
      const now = await states();
      assert.deepEqual(now.native, state.native, `default pull: the store changed`);
      assert.deepEqual(now.node, state.node, `Node helper: the store changed`);
    }
  };

  before(async () => {
    mkdirSync(outside);
    mkdirSync(canary);
    writeFileSync(join(canary, 'file'), 'canary\n');
    outsideBefore = readdirSync(outside);
    reg = await startRegistry();
    // An image each store holds before anything is refused: it must survive every refusal.
    await push('base/image', [layer(await makeTar([{ name: 'base', body: 'the image that was there\n', mtime: T }]))]);
    rich.lower = layer(await makeTar(LOWER));
    rich.upper = layer(await upperTar(canary));
    await push('rich/image', [rich.lower, rich.upper]);
    for (const [i, c] of Object.values(HOSTILE).entries()) {
      const l = c.tar ? layer(await c.tar()) : layer(Buffer.alloc(1024), 'gzip', await c.blob!());
      await push(`hostile/case${i}`, [l], `case${i}`);
    }
    ids.pax = layer(await makeTar([{ name: 'srv/', type: 'directory', mtime: T }, { name: 'srv/far', body: 'far\n', mtime: T, pax: { uid: '4000000000', gid: '4000000000' } }]));
    ids.b256 = layer(Buffer.concat([gnuEntry({ name: 'far256', type: '0', mtime: T_SEC, base256: { uid: 4_000_000_000n } }, Buffer.from('far\n')), Buffer.alloc(1024)]));
    for (const [name, l] of Object.entries(ids)) await push(`ids/${name}`, [l], `ids-${name}`);
    counted = await startOddRegistry('counted/image', countedManifests, countedBlobs, {});
    for (const [name, r] of Object.entries(await pullBoth('base/image', { traced: false }))) assert.equal(r.code, 0, `base image, ${name}: ${r.stderr}`);
  });
  after(() => {
    reg?.stop();
    counted?.stop();
    sbs.native.destroy();
    sbs.node.destroy();
  });

  test('a layer of every entry kind over a lower one: identical files, owners, modes, times, links, whiteouts, xattrs; the trace names each extractor', async () => {
    const { native, node } = await pullBoth('rich/image');
    assert.equal(node.code, 0, `forced Node helper: ${node.stderr}`);
    assert.equal(native.code, 0, `default pull: ${native.stderr}`);
    assert.deepEqual(extractors(node), { [short(rich.lower.blob)]: 'the node helper', [short(rich.upper.blob)]: 'the node helper' });
    assert.deepEqual(extractors(native), { [short(rich.lower.blob)]: 'rootlet-layer-fetch', [short(rich.upper.blob)]: 'rootlet-layer-fetch' }, native.stderr);
    // The device nodes left out, said alike (and nothing else said).
    assert.deepEqual(plainLines(native), plainLines(node));
    assert.match(plainLines(node).join('\n'), /^WARNING: 2 device nodes in layer sha256:[0-9a-f]{64} were skipped/);
    sameLayer(rich.lower, 'lower layer');
    const upper = sameLayer(rich.upper, 'upper layer');
    // The comparison covers what it is meant to: the Node helper's listing has each of these.
    const want: RegExp[] = [
      /^\. d 751 0:0 1293840000 /m,
      /^etc d 700 0:0 1325376000 /m,
      /^etc\/gone c \d+ 0:0 \S+ 0 n=1 dev=0:0$/m,
      /^data\/never-there c \d+ 0:0 \S+ 0 n=1 dev=0:0$/m,
      /^opq d 755 0:0 1580608922 - n=\d+ .*user\.overlay\.opaque=0x79/m,
      /^bin d 555 /m,
      /^bin\/suid f 4755 0:0 1580608922 20 n=2 links=bin\/suid,hard-suid /m,
      /^bin\/sgid f 2711 1000:1000 /m,
      /^bin\/x f 644 .* user\.foo=0x626172$/m,
      /^bin\/cap f 755 .*security\.capability=0x01000002000400000000.* user\.two=/m,
      /^xdir d 750 .* user\.dir=0x31$/m,
      /^tmp d 1777 /m,
      /^locked d 0 /m,
      /^locked\/inner f 400 /m,
      /^home d 750 1000:1000 /m,
      /^home\/u d 755 65533:65533 /m,
      /^home\/u\/f f 644 65533:100 1580608922 5 n=2 links=hard,home\/u\/f /m,
      /^home\/u\/g f 640 0:65533 /m,
      /^lnk l 777 7:8 1580608922 9 -> \/etc\/keep n=1$/m,
      /^rel l 777 0:0 1580608922 11 -> \.\.\/etc\/keep/m,
      /^dangling l .* -> no\/such\/file/m,
      // Neither sets a fifo's time (the Node helper never did): "new" in both.
      /^fifo p 600 1000:1000 \S+ 0 n=1$/m,
      /^dev d /m,
      /^empty f 644 0:0 1580608922 0 n=1 sha=e3b0c44298fc1c14$/m,
      new RegExp(`^big f 644 0:0 1580608922 ${3 << 20} n=1 sha=`, 'm'),
      new RegExp(`^${LONG_PAX.replace('/', '\\/')} f 644 0:0 1580608922 10 n=2 links=hard-to-long,${LONG_PAX.replace('/', '\\/')} `, 'm'),
      new RegExp(`^${LONG_ONE} f 644 `, 'm'),
      new RegExp(`^pax-long-target l 777 .* -> ${LONG_TARGET.replace(/\//g, '\\/')} `, 'm'),
      new RegExp(`^${LONG_GNU.replace('/', '\\/')} f 640 1000:1000 1580608922 15 n=2 `, 'm'),
      new RegExp(`^${LONG_GNU.replace('/', '\\/')}-dir d 710 0:0 1580608922 `, 'm'),
      new RegExp(`^gnu-long-target l 777 .* -> ${LONG_TARGET.replace(/\//g, '\\/')}\\/gnu `, 'm'),
      /^paxowner f 644 1234:4321 /m,
      /^paxsize f 644 0:0 1580608922 8 /m,
      /^paxtime f 644 0:0 \d+ 8 /m,
      /^b256 f 644 2000:3000 1600000000 11 /m,
      /^dup f 600 0:0 1580608922 6 /m,
      /^d2 d 755 0:0 1430784000 /m,
      /^implicit\/deep\/file f 644 /m,
      /^repl f 644 0:0 1580608922 30 n=1 /m,
      /^f2d d /m,
      /^d2f f 644 0:0 1580608922 11 /m,
    ];
    for (const w of want) assert.match(upper, w);
    // Left out: device nodes, the whiteout markers themselves, trusted.* (a namespace cannot set it).
    assert.doesNotMatch(upper, /^dev\/(null|sda) |\.wh\.|trusted\.|^opq\/old /m);
    nothingOutside('the rich layer');
  });

  for (const [i, [name, c]] of Object.entries(HOSTILE).entries()) {
    test(`refused alike, nothing stored, nothing written outside: ${name}`, async () => {
      await refusedAlike(`hostile/case${i}`, c.why, [], `case${i}`);
      nothingOutside(name);
    });
  }

  test('an owner outside the namespace (PAX uid 4000000000, base-256 uid 4000000000): refused alike naming --remap-outside-ids; with it, root\'s alike', async () => {
    for (const [name, l] of Object.entries(ids)) {
      const line = await refusedAlike(`ids/${name}`, /4000000000/, [], `ids-${name}`);
      assert.match(line, /--remap-outside-ids/);
      const { native, node } = await pullBoth(`ids/${name}`, { extra: ['--remap-outside-ids'] });
      assert.equal(node.code, 0, node.stderr);
      assert.equal(native.code, 0, `${name}: default pull with --remap-outside-ids: ${native.stderr}`);
      assert.deepEqual(extractors(native), { [short(l.blob)]: 'rootlet-layer-fetch' });
      assert.deepEqual(plainLines(native), plainLines(node));
      assert.match(plainLines(node).join('\n'), /file owner\(s\) outside your subordinate range were given to root/);
      assert.match(sameLayer(l, name), /^(srv\/far|far256) f 644 0:0 /m);
    }
  });

  test('handed back to the Node helper: a zstd layer and a layer with GNU sparse files pull alike; the trace says who did which layer', { skip: !have('zstd') && 'zstd is not installed' }, async () => {
    const first = layer(await makeTar([{ name: 'first', body: 'a gzip layer beside\n', mtime: T }, { name: 'd/', type: 'directory', mode: 0o700, mtime: T }]));
    const zstd = layer(await makeTar([
      { name: 'z/', type: 'directory', mode: 0o751, mtime: T },
      { name: 'z/file', body: seeded(200_000, 'zstd'), uid: 1000, gid: 1000, mtime: T },
      { name: 'z/lnk', type: 'symlink', linkname: 'file', mtime: T },
      { name: 'z/.wh.gone', body: '' },
    ]), 'zstd');
    const src = sbs.native.path('sparse-src');
    makeSparseFile(join(src, 'sparse-gnu'), 4096, [[0, 8], [1024, 16], [3000, 4]]);
    makeSparseFile(join(src, 'sparse-pax'), 4096, [[100, 8], [2048, 16]]);
    const opts = ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@1000000000'];
    // An ordinary entry first: the C extractor has begun when it meets the sparse file.
    const sparse = layer(Buffer.concat([
      tarBody(await makeTar([{ name: 'before', body: seeded(100_000, 'before'), mtime: T }])),
      tarBody(gnuTar(src, ['sparse-gnu'], 'gnu', opts)),
      tarBody(gnuTar(src, ['sparse-pax'], 'pax-1.0', opts)),
      Buffer.alloc(1024),
    ]));
    await push('fallback/zstd', [first, zstd]);
    await push('fallback/sparse', [sparse]);
    const z = await pullBoth('fallback/zstd');
    assert.equal(z.node.code, 0, z.node.stderr);
    assert.equal(z.native.code, 0, `zstd: ${z.native.stderr}`);
    assert.deepEqual(extractors(z.native), { [short(first.blob)]: 'rootlet-layer-fetch', [short(zstd.blob)]: 'the node helper' });
    assert.deepEqual(plainLines(z.native), []);
    sameLayer(first, 'gzip layer beside the zstd one');
    assert.match(sameLayer(zstd, 'zstd layer'), /^z\/file f 644 1000:1000 1580608922 200000 /m);
    const s = await pullBoth('fallback/sparse');
    assert.equal(s.node.code, 0, s.node.stderr);
    assert.equal(s.native.code, 0, `sparse: ${s.native.stderr}`);
    assert.deepEqual(extractors(s.native), { [short(sparse.blob)]: 'the node helper' });
    assert.deepEqual(plainLines(s.native), []);
    const listed = sameLayer(sparse, 'sparse layer');
    const sum = (f: string) => createHash('sha256').update(readFileSync(join(src, f))).digest('hex').slice(0, 16);
    assert.match(listed, new RegExp(`^sparse-gnu f 644 0:0 1000000000 ${4096 << 10} n=1 sha=${sum('sparse-gnu')}$`, 'm'));
    assert.match(listed, new RegExp(`^sparse-pax f 644 0:0 1000000000 ${4096 << 10} n=1 sha=${sum('sparse-pax')}$`, 'm'));
    // Nothing of the C extractor's attempt is left behind.
    assert.deepEqual(readdirSync(sbs.native.path('data/rootlet/tmp')), []);
    assert.deepEqual(readdirSync(sbs.native.path('data/rootlet/layers')).filter((n) => n.startsWith('.')), []);
  });

  test('handed back: xz and bzip2 layers are refused by the Node helper\'s one line, alike', async () => {
    const tar = await makeTar([{ name: 'f', body: 'compressed otherwise\n', mtime: T }]);
    await push('fallback/xz', [layer(tar, 'xz')]);
    await push('fallback/bzip2', [layer(tar, 'bzip2')]);
    await refusedAlike('fallback/xz', /xz-compressed layers are not supported/);
    await refusedAlike('fallback/bzip2', /bzip2-compressed layers are not supported/);
  });

  test('redirects (to a path of the registry, to another host) are followed by rootlet-layer-fetch, the credentials kept for the registry\'s host only; a chunked blob is handed back: all pull alike', async () => {
    const redirected = layer(await makeTar([{ name: 'r', body: 'behind a redirect\n', mtime: T }, { name: 'rd/', type: 'directory', mode: 0o700, uid: 1000, mtime: T }]));
    const elsewhere = layer(await makeTar([{ name: 'e', body: seeded(200_000, 'elsewhere'), mtime: T }]));
    const chunked = layer(await makeTar([{ name: 'c', body: seeded(300_000, 'chunked'), mtime: T }]));
    const plain = layer(await makeTar([{ name: 'p', body: 'served plainly\n', mtime: T }]));
    const img = image([plain, redirected, elsewhere, chunked]);
    const odd = await startOddRegistry('odd/image', { latest: img.manifest }, [img.config, plain.blob, redirected.blob, elsewhere.blob, chunked.blob], {
      [`sha256:${hex(redirected.blob)}`]: 'redirect',
      [`sha256:${hex(elsewhere.blob)}`]: 'redirect-host',
      [`sha256:${hex(chunked.blob)}`]: 'chunked',
    }, { basicAuth: true });
    try {
      const { native, node } = await pullBoth('odd/image', { host: odd.host, extra: ['--creds', 'odd:secret'] });
      assert.equal(node.code, 0, node.stderr);
      assert.equal(native.code, 0, `default pull: ${native.stderr}`);
      // The same host keeps the Authorization; storage on another host (localhost) does not get it.
      assert.equal(odd.requests.filter((r) => r === `GET /storage/sha256:${hex(redirected.blob)} auth`).length, 2, `same-host redirect: ${odd.requests.join(', ')}`);
      assert.equal(odd.requests.filter((r) => r === `GET /storage/sha256:${hex(elsewhere.blob)}`).length, 2, `other-host redirect: ${odd.requests.join(', ')}`);
      assert.deepEqual(extractors(native), {
        [short(plain.blob)]: 'rootlet-layer-fetch', [short(redirected.blob)]: 'rootlet-layer-fetch', [short(elsewhere.blob)]: 'rootlet-layer-fetch', [short(chunked.blob)]: 'the node helper',
      });
      assert.deepEqual(plainLines(native), []);
      for (const l of [plain, redirected, elsewhere, chunked]) sameLayer(l, 'odd registry');
    } finally {
      odd.stop();
    }
  });

  test('HTTPS: rootlet-layer-fetch trusts what the CLI trusts (a certs.d CA; nothing with --tls-verify=false) and follows a redirect to another name; the stores match', async () => {
    const tls = makeTls(sbs.native.path('tls-odd'));
    const top = layer(await makeTar([{ name: 't/', type: 'directory', mode: 0o750, mtime: T }, { name: 't/file', body: seeded(150_000, 'tls'), uid: 1000, mtime: T }]));
    const moved = layer(await makeTar([{ name: 'moved', body: 'over TLS, elsewhere\n', mtime: T }]));
    const img = image([top, moved]);
    const odd = await startOddRegistry('tls/image', { latest: img.manifest }, [img.config, top.blob, moved.blob], { [`sha256:${hex(moved.blob)}`]: 'redirect-host' }, { tls });
    try {
      // Verified: the CA of this registry is in each store's certs.d (the CLI's trust), not in node's or the system's.
      certsFor(odd.host, { 'ca.crt': tls.ca });
      const { native, node } = await pullBoth('tls/image', { host: odd.host, verify: true });
      assert.equal(node.code, 0, node.stderr);
      assert.equal(native.code, 0, `default pull: ${native.stderr}`);
      assert.deepEqual(extractors(native), { [short(top.blob)]: 'rootlet-layer-fetch', [short(moved.blob)]: 'rootlet-layer-fetch' });
      assert.equal(odd.requests.filter((r) => r === `GET /storage/sha256:${hex(moved.blob)}`).length, 2, odd.requests.join(', '));
      for (const l of [top, moved]) sameLayer(l, 'TLS registry');
      // Not verifying: the same layers again, fetched over TLS with no CA at all.
      for (const which of ['native', 'node'] as const) sbs[which].ok(['rmi', `${odd.host}/tls/image`]);
      dropCerts(odd.host);
      const insecure = await pullBoth('tls/image', { host: odd.host });
      assert.equal(insecure.node.code, 0, insecure.node.stderr);
      assert.equal(insecure.native.code, 0, insecure.native.stderr);
      assert.deepEqual(extractors(insecure.native), { [short(top.blob)]: 'rootlet-layer-fetch', [short(moved.blob)]: 'rootlet-layer-fetch' });
      for (const l of [top, moved]) sameLayer(l, 'TLS registry, --tls-verify=false');
      // A certificate it does not trust: the layer is handed back, nothing made, for the Node helper to refuse in the CLI's words.
      const other = makeTls(sbs.native.path('tls-other'));
      const dest = sbs.native.path('fetch-untrusted');
      const head = `GET /v2/tls/image/blobs/sha256:${hex(top.blob)} HTTP/1.1\r\nHost: ${odd.host}\r\nConnection: close\r\n\r\n`;
      const [hostName, port] = odd.host.split(':');
      const r = spawnSync(join(dirname(BIN), 'rootlet-layer-fetch'), [dest, `${dest}.blob`, '65536', 'fail', `sha256:${hex(top.blob)}`, String(top.blob.length), hostName!, port!, 'https', 'verify'], {
        input: Buffer.concat([Buffer.from(`${head}\0`), readFileSync(other.ca)]), encoding: 'utf8',
      });
      assert.equal(r.status, 4, `an untrusted certificate: exit ${r.status}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, 'f tls\n');
      assert.equal(existsSync(dest) || existsSync(`${dest}.blob`), false, 'something was made for a layer handed back');
    } finally {
      odd.stop();
      dropCerts(odd.host);
    }
  });

  test('HTTPS with a client certificate (certs.d\'s *.cert and *.key): rootlet-layer-fetch presents it; the stores match', async () => {
    const dir = sbs.native.path('tls-mutual');
    const tls = makeTls(dir);
    const client = makeClientCert(dir);
    const l = layer(await makeTar([{ name: 'm', body: seeded(120_000, 'mutual'), mtime: T }]));
    const img = image([l]);
    const odd = await startOddRegistry('mtls/image', { latest: img.manifest }, [img.config, l.blob], {}, { tls: { ...tls, clientCa: tls.ca } });
    try {
      certsFor(odd.host, { 'ca.crt': tls.ca, 'client.cert': client.cert, 'client.key': client.key });
      const { native, node } = await pullBoth('mtls/image', { host: odd.host, verify: true });
      assert.equal(node.code, 0, node.stderr);
      assert.equal(native.code, 0, `default pull: ${native.stderr}`);
      assert.deepEqual(extractors(native), { [short(l.blob)]: 'rootlet-layer-fetch' });
      sameLayer(l, 'a registry that asks for a client certificate');
    } finally {
      odd.stop();
      dropCerts(odd.host);
    }
  });

  test('gzip streams: two members, an uncompressed tar, header fields (FNAME, FEXTRA, FCOMMENT) pull alike by rootlet-layer-fetch', async () => {
    const tar = await makeTar([
      { name: 'm/', type: 'directory', mode: 0o750, mtime: T },
      { name: 'm/one', body: seeded(70_000, 'one'), mtime: T },
      { name: 'm/two', body: 'two members\n', uid: 1000, gid: 1000, mtime: T },
    ]);
    const gz = gzipSync(tar);
    // FLG = FEXTRA | FNAME | FCOMMENT; the deflate data and trailer as zlib wrote them.
    const extra = Buffer.from([0x41, 0x42, 0x04, 0x00, 1, 2, 3, 4]);
    const fields = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 0x08, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]),
      Buffer.from([extra.length, 0]), extra, Buffer.from('layer.tar\0'), Buffer.from('a comment\0'), gz.subarray(10),
    ]);
    const cases: Record<string, Layer> = {
      'two-members': layer(tar, 'gzip', Buffer.concat([gzipSync(tar.subarray(0, 40_000)), gzipSync(tar.subarray(40_000))])),
      'plain-tar': layer(await makeTar([{ name: 'p', body: 'plain', mtime: T }, { name: 'q/', type: 'directory', mtime: T }]), 'tar'),
      'header-fields': layer(tar, 'gzip', fields),
    };
    for (const [name, l] of Object.entries(cases)) await push(`stream/${name}`, [l]);
    for (const [name, l] of Object.entries(cases)) {
      const { native, node } = await pullBoth(`stream/${name}`);
      assert.equal(node.code, 0, `${name}: ${node.stderr}`);
      assert.equal(native.code, 0, `${name}: default pull: ${native.stderr}`);
      assert.deepEqual(extractors(native), { [short(l.blob)]: 'rootlet-layer-fetch' }, name);
      assert.deepEqual(plainLines(native), [], name);
      sameLayer(l, name);
    }
  });

  test('a corrupt gzip stream (a valid header, then garbage): refused alike in one line, nothing stored', async () => {
    const garbage = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]), Buffer.alloc(64, 0xff), seeded(4096, 'garbage')]);
    await push('stream/corrupt', [layer(Buffer.alloc(1024), 'gzip', garbage)]);
    await refusedAlike('stream/corrupt', /gzip/);
  });

  test('a gzip stream followed by zero padding: both extractors end alike (stored alike, or refused in the same line)', async () => {
    const tar = await makeTar([{ name: 'padded', body: 'zeros after the gzip stream\n', mtime: T }]);
    const l = layer(tar, 'gzip', Buffer.concat([gzipSync(tar), Buffer.alloc(4096)]));
    await push('stream/padded', [l]);
    await endAlike('stream/padded', l, 'padded');
  });

  for (const [name, make] of Object.entries(EDGES)) {
    test(`at the edge of the format, ends alike: ${name}`, async () => {
      const l = layer(await make());
      const ref = `edge/${name.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
      await push(ref, [l]);
      await endAlike(ref, l, name);
    });
  }

  test('after everything: the image each store held is there, and each store is whole', () => {
    for (const which of ['native', 'node'] as const) {
      const sb = sbs[which];
      assert.match(sb.ok(['images', '--format', '{{.Repository}}']), /base\/image/);
      assert.deepEqual(readdirSync(sb.path('data/rootlet/tmp')), [], which);
      assert.deepEqual(readdirSync(sb.path('data/rootlet/layers')).filter((n) => n.startsWith('.')), [], which);
      assert.equal(sb.ok(['unshare', 'cat', join(layerDir(which, baseLayerOf(images)), 'base')]), 'the image that was there\n', which);
    }
    nothingOutside('at the end');
  });
});

/** The base image's one layer (its diff id from the pushed config). */
function baseLayerOf(images: Map<string, RawImage>): Layer {
  const img = images.get('base/image')!;
  return { blob: img.layers[0]!.blob, diffId: img.layers[0]!.diffId, mediaType: '' };
}
