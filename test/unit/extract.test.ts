import assert from 'node:assert/strict';
import {
  existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { readArchive } from '../../src/image/archive-read.js';
import { extractLayer, LayerError, type ExtractOptions } from '../../src/image/extract.js';
import { skippedDevicesWarning } from '../../src/engine/images/layers.js';
import { HELPER } from '../helpers.js';
import {
  gnuTar, gzip, headersOfType, makeSparseFile, makeTar, patchHeader, sha256, snapshot, SPARSE_FORMATS, tarBody, type SparseFormat, type TarEntry,
} from '../tar-fixtures.js';

const uid = process.getuid!();
const gid = process.getgid!();
const me = { uid, gid };
// Outside any namespace we can only chown to ourselves, so the limit just has to exceed our ids.
const OPTS: ExtractOptions = { idLimit: 1 << 30, outsideIds: 'fail' };

const roots: string[] = [];
after(() => {
  for (const r of roots) spawnSync('rm', ['-rf', r]);
});

/**
 * A fresh scene: `dest` (empty layer directory) beside `canary` (a file we
 * own that attacks aim at) and `outside` (an empty directory attacks aim
 * at), all inside `root`. Anything an extraction does to root beyond dest
 * is an escape.
 */
function scene() {
  const root = mkdtempSync(join(tmpdir(), 'rootlet-extract-'));
  roots.push(root);
  const outer = join(root, 'outer');
  const dest = join(outer, 'dest');
  const canary = join(outer, 'canary');
  const outside = join(outer, 'outside');
  mkdirSync(dest, { recursive: true });
  mkdirSync(canary);
  mkdirSync(outside);
  writeFileSync(join(canary, 'file'), 'canary\n');
  const before = snapshot(root, [dest]);
  return {
    root, outer, dest, canary, outside,
    /** Nothing outside dest changed: same tree, same canary content, no extra hard link to it. */
    untouched() {
      assert.deepEqual(snapshot(root, [dest]), before);
      assert.equal(readFileSync(join(canary, 'file'), 'utf8'), 'canary\n');
      assert.equal(statSync(join(canary, 'file')).nlink, 1);
    },
  };
}

/** Feeds the bytes in small pieces: the format sniffing must not depend on one big first chunk. */
function streamOf(buf: Buffer): Readable {
  const s = new PassThrough();
  const first = Math.min(3, buf.length);
  s.write(buf.subarray(0, first));
  for (let off = first; off < buf.length; off += 65536) s.write(buf.subarray(off, off + 65536));
  s.end();
  return s;
}

async function extractEntries(entries: TarEntry[], dest: string, opts: ExtractOptions = OPTS) {
  return extractLayer(streamOf(await makeTar(entries, me)), dest, opts);
}

async function refused(p: Promise<unknown>, code: LayerError['code'], message: RegExp): Promise<LayerError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof LayerError, `expected a LayerError, got ${err === undefined ? 'success' : String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
  assert.doesNotMatch(err.message, /\n/);
  return err;
}

describe('extractLayer: contents', () => {
  test('files, directories, symlinks, hard links, owners, modes and times', async () => {
    const s = scene();
    const t1 = new Date('2001-02-03T04:05:06Z');
    const t2 = new Date('2010-01-01T00:00:00Z');
    const r = await extractEntries([
      { name: './', type: 'directory', mode: 0o751, mtime: t2 },
      { name: 'etc/', type: 'directory', mode: 0o750, mtime: t1 },
      { name: 'etc/conf', body: 'a=1\n', mode: 0o640, mtime: t1 },
      { name: 'bin/tool', body: '#!/bin/sh\n', mode: 0o755 },
      { name: 'bin/suid', body: 'x', mode: 0o4755 },
      { name: 'bin/sgid', body: 'x', mode: 0o2711 },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'link', type: 'symlink', linkname: 'etc/conf', mtime: t1 },
      { name: 'abslink', type: 'symlink', linkname: '/etc/conf' },
      { name: 'hard', type: 'link', linkname: 'etc/conf' },
      { name: 'empty', body: '' },
    ], s.dest);
    assert.equal(r.entries, 11);
    assert.equal(r.remapped, 0);
    assert.equal(r.skippedDevices, 0);

    assert.equal(readFileSync(join(s.dest, 'etc/conf'), 'utf8'), 'a=1\n');
    const conf = lstatSync(join(s.dest, 'etc/conf'));
    assert.equal(conf.mode & 0o7777, 0o640);
    assert.equal(conf.uid, uid);
    assert.equal(conf.gid, gid);
    assert.equal(conf.mtimeMs, t1.getTime());
    assert.equal(conf.nlink, 2);
    assert.equal(lstatSync(join(s.dest, 'hard')).ino, conf.ino);

    // chown clears setuid/setgid, so these survive only if chmod comes after it.
    assert.equal(lstatSync(join(s.dest, 'bin/suid')).mode & 0o7777, 0o4755);
    assert.equal(lstatSync(join(s.dest, 'bin/sgid')).mode & 0o7777, 0o2711);
    assert.equal(lstatSync(join(s.dest, 'bin/tool')).mode & 0o7777, 0o755);
    assert.equal(lstatSync(join(s.dest, 'tmp')).mode & 0o7777, 0o1777);

    // Directory modes and times are applied after their children were written.
    const etc = lstatSync(join(s.dest, 'etc'));
    assert.equal(etc.mode & 0o7777, 0o750);
    assert.equal(etc.mtimeMs, t1.getTime());
    const root = lstatSync(s.dest);
    assert.equal(root.mode & 0o7777, 0o751);
    assert.equal(root.mtimeMs, t2.getTime());
    // A parent missing from the tar is made root-owned (here: ours) and 0755.
    assert.equal(lstatSync(join(s.dest, 'bin')).mode & 0o7777, 0o755);

    assert.ok(lstatSync(join(s.dest, 'link')).isSymbolicLink());
    assert.equal(readlinkSync(join(s.dest, 'link')), 'etc/conf');
    assert.equal(lstatSync(join(s.dest, 'link')).mtimeMs, t1.getTime());
    // Symlink targets are kept verbatim, absolute ones included: they are resolved in the container.
    assert.equal(readlinkSync(join(s.dest, 'abslink')), '/etc/conf');
    assert.equal(statSync(join(s.dest, 'empty')).size, 0);
    s.untouched();
  });

  test('later entries replace earlier ones; a directory entry keeps what is already in it', async () => {
    const s = scene();
    await extractEntries([
      { name: 'f', body: 'first' },
      { name: 'f', body: 'second' },
      { name: 'd/', type: 'directory' },
      { name: 'd/kept', body: 'k' },
      { name: 'd/', type: 'directory' },
      { name: 'x/', type: 'directory' },
      { name: 'x/child', body: 'c' },
      { name: 'x', body: 'now a file' },
      { name: 'y', body: 'file first' },
      { name: 'y/', type: 'directory' },
    ], s.dest);
    assert.equal(readFileSync(join(s.dest, 'f'), 'utf8'), 'second');
    assert.equal(readFileSync(join(s.dest, 'd/kept'), 'utf8'), 'k');
    assert.equal(readFileSync(join(s.dest, 'x'), 'utf8'), 'now a file');
    assert.ok(lstatSync(join(s.dest, 'y')).isDirectory());
    s.untouched();
  });

  test('a directory listed twice gets the mode and time of the last entry', async () => {
      const s = scene();
      const t = new Date('2020-01-01T00:00:00Z');
      await extractEntries([
        { name: 'd/', type: 'directory', mode: 0o755 },
        { name: 'd/f', body: 'x' },
        { name: 'd/', type: 'directory', mode: 0o700, mtime: t },
      ], s.dest);
      assert.equal(lstatSync(join(s.dest, 'd')).mode & 0o7777, 0o700);
      assert.equal(lstatSync(join(s.dest, 'd')).mtimeMs, t.getTime());
    });

  test('a large file spanning many chunks is written whole', async () => {
    const s = scene();
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    await extractEntries([{ name: 'big', body: big }], s.dest);
    assert.ok(readFileSync(join(s.dest, 'big')).equals(big));
  });

  test('fifos are created; device nodes are skipped and counted', async () => {
    const s = scene();
    const r = await extractEntries([
      { name: 'pipe', type: 'fifo', mode: 0o620 },
      { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'disk', type: 'block-device', devmajor: 8, devminor: 0 },
    ], s.dest);
    const st = lstatSync(join(s.dest, 'pipe'));
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o620);
    assert.equal(existsSync(join(s.dest, 'null')), false);
    assert.equal(existsSync(join(s.dest, 'disk')), false);
    assert.equal(r.skippedDevices, 2);
  });

  test('user.* xattrs from PAX headers and opaque markers are set; others are dropped', async () => {
    const s = scene();
    await extractEntries([
      { name: 'd/', type: 'directory' },
      { name: 'd/.wh..wh..opq', body: '' },
      { name: 'f', body: 'x', pax: { 'SCHILY.xattr.user.rootlet': 'hello', 'SCHILY.xattr.trusted.x': 'no' } },
    ], s.dest);
    // The marker itself is not a file of the layer.
    assert.equal(existsSync(join(s.dest, 'd/.wh..wh..opq')), false);
    const get = (name: string, p: string) =>
      spawnSync('getfattr', ['--absolute-names', '--only-values', '-n', name, p], { encoding: 'utf8' });
    assert.equal(get('user.overlay.opaque', join(s.dest, 'd')).stdout, 'y');
    assert.equal(get('user.rootlet', join(s.dest, 'f')).stdout, 'hello');
    assert.notEqual(get('trusted.x', join(s.dest, 'f')).status, 0);
  });
});

describe('extractLayer: OCI whiteouts', () => {
  // Unprivileged users may create 0/0 character devices (Linux >= 5.8), so these run outside a namespace too.
  const isWhiteout = (p: string) => {
    const st = lstatSync(p);
    return st.isCharacterDevice() && st.rdev === 0;
  };

  test('.wh.NAME becomes an overlay whiteout and replaces what the layer had there', async () => {
    const s = scene();
    const r = await extractEntries([
      { name: 'gone', body: 'x' },
      { name: 'dir/sub/f', body: 'x' },
      { name: '.wh.gone', body: '' },
      { name: '.wh.dir', body: '' },
      { name: 'etc/.wh.passwd', body: '' },
      { name: 'already', type: 'character-device', devmajor: 0, devminor: 0 },
    ], s.dest);
    assert.ok(isWhiteout(join(s.dest, 'gone')));
    assert.ok(isWhiteout(join(s.dest, 'dir')));
    assert.ok(isWhiteout(join(s.dest, 'etc/passwd')));
    assert.ok(isWhiteout(join(s.dest, 'already')));
    assert.equal(existsSync(join(s.dest, '.wh.gone')), false);
    assert.equal(r.skippedDevices, 0);
    s.untouched();
  });

  test('a whiteout under a symlinked directory is refused', async () => {
    const s = scene();
    writeFileSync(join(s.outside, 'victim'), 'v');
    const before = snapshot(s.outside);
    await refused(extractEntries([
      { name: 'l', type: 'symlink', linkname: s.outside },
      { name: 'l/.wh.victim', body: '' },
    ], s.dest), 'unsafe', /symlink/);
    assert.deepEqual(snapshot(s.outside), before);
  });
});

describe('extractLayer: digests and compression', () => {
  const entries: TarEntry[] = [{ name: 'hello', body: 'hello world\n' }, { name: 'dir/', type: 'directory' }];

  test('plain tar: digest = diffId = sha256 of the input; blobOut is a copy of the input', async () => {
    const s = scene();
    const tarBuf = await makeTar(entries, me);
    const blob = join(s.root, 'blob');
    const r = await extractLayer(streamOf(tarBuf), s.dest, { ...OPTS, blobOut: blob });
    assert.equal(r.digest, sha256(tarBuf));
    assert.equal(r.diffId, sha256(tarBuf));
    assert.equal(r.blobSize, tarBuf.length);
    assert.equal(r.tarSize, tarBuf.length);
    assert.ok(readFileSync(blob).equals(tarBuf));
    assert.equal(statSync(blob).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(s.dest, 'hello'), 'utf8'), 'hello world\n');
  });

  test('gzip input is detected: digest covers the compressed bytes, diffId the tar', async () => {
    const s = scene();
    const tarBuf = await makeTar(entries, me);
    const gz = gzip(tarBuf);
    const blob = join(s.root, 'blob');
    const r = await extractLayer(streamOf(gz), s.dest, { ...OPTS, blobOut: blob });
    assert.equal(r.digest, sha256(gz));
    assert.equal(r.diffId, sha256(tarBuf));
    assert.notEqual(r.digest, r.diffId);
    assert.equal(r.blobSize, gz.length);
    assert.equal(r.tarSize, tarBuf.length);
    assert.ok(readFileSync(blob).equals(gz));
    assert.equal(readFileSync(join(s.dest, 'hello'), 'utf8'), 'hello world\n');
  });

  // The zstd program (Debian package zstd, installed by scripts/setup-host.sh) does the work; without it these cannot run.
  const noZstd = spawnSync('zstd', ['--version']).status !== 0 ? 'the zstd program is not installed' : false;

  test('zstd input is decompressed (the digest is of the blob, the diff id of the tar), skippable frames too (zstd:chunked)', { skip: noZstd }, async () => {
    const tarBuf = await makeTar([{ name: 'hello', body: 'hello zstd\n' }], me);
    const zst = spawnSync('zstd', ['-q', '-c'], { input: tarBuf }).stdout;
    // A skippable frame (magic 0x184D2A5E, 4-byte length, payload), as zstd:chunked adds its table of contents.
    const skippable = Buffer.concat([Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 8, 0, 0, 0]), Buffer.from('metadata')]);
    for (const blob of [zst, Buffer.concat([zst, skippable]), Buffer.concat([skippable, zst])]) {
      const s = scene();
      const r = await extractLayer(streamOf(blob), s.dest, OPTS);
      assert.equal(r.digest, sha256(blob));
      assert.equal(r.diffId, sha256(tarBuf));
      assert.equal(r.blobSize, blob.length);
      assert.equal(readFileSync(join(s.dest, 'hello'), 'utf8'), 'hello zstd\n');
    }
  });

  test('without the zstd program a zstd layer is refused saying what to install', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(600, 1)]);
      await refused(extractLayer(streamOf(zstd), scene().dest, OPTS), 'io', /needs the zstd program: install it \(apt-get install zstd\)/);
    } finally {
      process.env.PATH = path;
    }
  });

  test('a corrupt zstd stream is "corrupt" in one line', { skip: noZstd }, async () => {
    const s = scene();
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(600, 1)]);
    await refused(extractLayer(streamOf(zstd), s.dest, OPTS), 'corrupt', /^corrupt zstd stream: [A-Z]/);
    const tarBuf = await makeTar([{ name: 'a', body: 'x'.repeat(100_000) }], me);
    const cut = spawnSync('zstd', ['-q', '-c'], { input: tarBuf }).stdout;
    await refused(extractLayer(streamOf(cut.subarray(0, cut.length - 20)), scene().dest, OPTS), 'corrupt', /zstd|truncated/);
  });
});

describe('extractLayer: malformed input', () => {
  test('a truncated tar is "corrupt" and says truncated', async () => {
    const s = scene();
    const tarBuf = await makeTar([{ name: 'a', body: 'x'.repeat(5000) }, { name: 'b', body: 'y' }], me);
    await refused(extractLayer(streamOf(tarBuf.subarray(0, 512 + 2000)), s.dest, OPTS), 'corrupt', /truncated/);
    s.untouched();
  });

  test('a truncated gzip stream is "corrupt" and says truncated', async () => {
    const s = scene();
    const gz = gzip(await makeTar([{ name: 'a', body: 'x'.repeat(50_000) }], me));
    await refused(extractLayer(streamOf(gz.subarray(0, Math.floor(gz.length / 2))), s.dest, OPTS), 'corrupt', /truncated/);
  });

  test('bytes that are not a tar are "corrupt" and say so', async () => {
    const s = scene();
    const text = Buffer.from('this is a text file, not a tar archive\n'.repeat(40));
    const err = await refused(extractLayer(streamOf(text), s.dest, OPTS), 'corrupt', /not a valid tar stream: a header's checksum does not match/);
    // Gzip was tried: tar-stream's hint to gunzip would mislead.
    assert.doesNotMatch(err.message, /gunzip/);
    s.untouched();
  });

  test('empty input is an empty layer, as Go\'s archive/tar (and so docker import) reads it', async () => {
    const s = scene();
    const r = await extractLayer(streamOf(Buffer.alloc(0)), s.dest, OPTS);
    assert.equal(r.entries, 0);
    assert.equal(r.diffId, sha256(Buffer.alloc(0)));
    assert.deepEqual(snapshot(s.dest), []);
  });

  test('a hard link to a file the layer does not have is refused', async () => {
    const s = scene();
    await refused(extractEntries([{ name: 'hl', type: 'link', linkname: 'missing' }], s.dest), 'corrupt', /hl.*not in the layer/);
  });
});

describe('extractLayer: owners outside the mapping', () => {
  test('uid >= idLimit fails with "ids", naming the file, the id and the fix', async () => {
    const s = scene();
    const err = await refused(
      extractEntries([{ name: 'ok', body: '' }, { name: 'srv/data', body: '', uid: 200000 }], s.dest, { idLimit: 65537, outsideIds: 'fail' }),
      'ids', /srv\/data.*200000.*65537/);
    assert.match(err.message, /\/etc\/subuid/);
  });

  test('gid >= idLimit and a PAX uid are checked too', async () => {
    const s = scene();
    await refused(extractEntries([{ name: 'g', body: '', gid: 70000 }], s.dest, { idLimit: 65537, outsideIds: 'fail' }), 'ids', /"g".*70000/);
    const s2 = scene();
    await refused(
      extractEntries([{ name: 'p', body: '', pax: { uid: '3000000000' } }], s2.dest, { idLimit: 65537, outsideIds: 'fail' }),
      'ids', /"p".*3000000000/);
  });

  test('an id just below the limit is accepted', async () => {
    const s = scene();
    // Our own uid is the only id we can chown to: make it the last one mapped.
    await extractEntries([{ name: 'f', body: '' }], s.dest, { idLimit: Math.max(uid, gid) + 1, outsideIds: 'fail' });
    assert.equal(lstatSync(join(s.dest, 'f')).uid, uid);
  });
});

// The refused entries below have empty bodies: a refused entry with a body
// makes a stray 'error' event (see the __extract-layer test at the end),
// which would fail this whole file rather than the test that caused it.
describe('extractLayer: nothing is written outside dest', () => {
  test('an entry with .. is refused as unsafe', async () => {
    for (const name of ['../escape', '../../escape', 'a/../../escape', './..', 'a/b/../../../outside/x']) {
      const s = scene();
      await refused(extractEntries([{ name: 'a/b/', type: 'directory' }, { name, body: '' }], s.dest), 'unsafe', /points outside the layer/);
      assert.equal(existsSync(join(s.outer, 'escape')), false);
      assert.equal(existsSync(join(s.root, 'escape')), false);
      s.untouched();
    }
  });

  test('absolute names land inside dest', async () => {
    const s = scene();
    await extractEntries([
      { name: `${s.outside}/abs-file`, body: 'inside' },
      { name: '/abs/file', body: 'inside too' },
      { name: '//double//slash', body: 'd' },
    ], s.dest);
    assert.equal(readFileSync(join(s.dest, s.outside, 'abs-file'), 'utf8'), 'inside');
    assert.equal(readFileSync(join(s.dest, 'abs/file'), 'utf8'), 'inside too');
    assert.equal(readFileSync(join(s.dest, 'double/slash'), 'utf8'), 'd');
    s.untouched();
  });

  test('writing through a symlink to an absolute outside directory is refused', async () => {
    const s = scene();
    await refused(extractEntries([
      { name: 'evil', type: 'symlink', linkname: s.outside },
      { name: 'evil/pwned', body: '' },
    ], s.dest), 'unsafe', /"evil\/pwned".*"evil".*symlink/);
    assert.equal(existsSync(join(s.outside, 'pwned')), false);
    s.untouched();
  });

  test('writing through a relative symlink that climbs out is refused', async () => {
    const s = scene();
    await refused(extractEntries([
      { name: 'evil', type: 'symlink', linkname: '../../..' },
      { name: 'evil/pwned', body: '' },
    ], s.dest), 'unsafe', /symlink/);
    const s2 = scene();
    await refused(extractEntries([
      { name: 'up', type: 'symlink', linkname: '../outside' },
      { name: 'up/sub/deeper', body: '' },
    ], s2.dest), 'unsafe', /symlink/);
    assert.equal(existsSync(join(s2.outside, 'sub')), false);
    s.untouched();
    s2.untouched();
  });

  test('a directory entry through a symlink, and a symlink chain, are refused', async () => {
    const s = scene();
    await refused(extractEntries([
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: s.outside },
      { name: 'a/newdir/', type: 'directory' },
    ], s.dest), 'unsafe', /symlink/);
    assert.deepEqual(snapshot(s.outside), []);
    s.untouched();
  });

  test('a symlink to a file outside, then an entry of the same name, replaces the link and does not write through it', async () => {
    const s = scene();
    const target = join(s.canary, 'file');
    await extractEntries([
      { name: 'f', type: 'symlink', linkname: target },
      { name: 'f', body: 'new' },
      { name: 'g', type: 'symlink', linkname: join(s.outside, 'created') },
      { name: 'g', body: 'new' },
      { name: 'd', type: 'symlink', linkname: s.outside },
      { name: 'd/', type: 'directory' },
      { name: 'd/x', body: 'inside' },
    ], s.dest);
    assert.ok(lstatSync(join(s.dest, 'f')).isFile());
    assert.equal(readFileSync(join(s.dest, 'f'), 'utf8'), 'new');
    assert.ok(lstatSync(join(s.dest, 'g')).isFile());
    assert.ok(lstatSync(join(s.dest, 'd')).isDirectory());
    assert.equal(readFileSync(join(s.dest, 'd/x'), 'utf8'), 'inside');
    s.untouched();
  });

  test('a hard link out of the layer is refused', async () => {
    const s = scene();
    await refused(extractEntries([{ name: 'passwd', type: 'link', linkname: '../../etc/passwd' }], s.dest), 'unsafe', /\.\./);
    const s2 = scene();
    await refused(extractEntries([{ name: 'c', type: 'link', linkname: '../canary/file' }], s2.dest), 'unsafe', /\.\./);
    s.untouched();
    s2.untouched();
  });

  test('an absolute hard link target is looked up inside dest, never on the host', async () => {
    const s = scene();
    const hostFile = join(s.canary, 'file');
    await refused(extractEntries([{ name: 'c', type: 'link', linkname: hostFile }], s.dest), 'corrupt', /not in the layer/);
    s.untouched();
  });

  test('a hard link through a symlink is refused', async () => {
    const s = scene();
    await refused(extractEntries([
      { name: 's', type: 'symlink', linkname: s.canary },
      { name: 'hl', type: 'link', linkname: 's/file' },
    ], s.dest), 'unsafe', /symlink/);
    const s2 = scene();
    await refused(extractEntries([
      { name: 's', type: 'symlink', linkname: '../canary' },
      { name: 'hl', type: 'link', linkname: 's/file' },
    ], s2.dest), 'unsafe', /symlink/);
    s.untouched();
    s2.untouched();
  });

  test('a hard link to a symlink links the symlink itself, not its outside target', async () => {
    const s = scene();
    await extractEntries([
      { name: 's', type: 'symlink', linkname: join(s.canary, 'file') },
      { name: 'hl', type: 'link', linkname: 's' },
    ], s.dest);
    assert.ok(lstatSync(join(s.dest, 'hl')).isSymbolicLink());
    s.untouched();
  });

  test('a hard link to a directory is refused', async () => {
    const s = scene();
    await refused(extractEntries([{ name: 'd/', type: 'directory' }, { name: 'hl', type: 'link', linkname: 'd' }], s.dest), 'unsafe', /directory/);
  });

  test('a file replacing a hard link leaves the other name intact', async () => {
    const s = scene();
    // A link to an outside file cannot be made by the tar; simulate the worst case: dest already links the canary.
    linkSync(join(s.canary, 'file'), join(s.dest, 'pre'));
    await extractEntries([{ name: 'pre', body: 'overwritten?' }], s.dest);
    assert.equal(readFileSync(join(s.canary, 'file'), 'utf8'), 'canary\n');
    assert.equal(readFileSync(join(s.dest, 'pre'), 'utf8'), 'overwritten?');
    rmSync(join(s.dest, 'pre'));
    s.untouched();
  });

  test('whiteout names that resolve to "." or ".." are refused and delete nothing', async () => {
    for (const name of ['.wh...', 'sub/.wh...', '.wh..', '.wh.']) {
      const s = scene();
      await refused(extractEntries([{ name: 'sub/', type: 'directory' }, { name, body: '' }], s.dest), 'unsafe', /outside the layer|whiteout/);
      assert.ok(existsSync(s.dest), 'dest was deleted');
      assert.ok(existsSync(join(s.dest, 'sub')), 'dest/sub was deleted');
      s.untouched();
    }
  });
});

describe('__extract-layer (the helper the CLI runs in the namespace)', () => {
  test('a refused entry with a body ends the helper with one line naming it, not a crash',
    async () => {
      for (const [entries, why] of [
        [[{ name: '../../escape', body: 'pwned' }], /"\.\.\/\.\.\/escape" points outside the layer/],
        [[{ name: 'evil', type: 'symlink', linkname: '/tmp' }, { name: 'evil/pwned', body: 'pwned' }], /"evil\/pwned" is written through "evil", which is a symlink/],
        [[{ name: 'big-owner', body: 'x', uid: 200000 }], /"big-owner".*200000/],
      ] as Array<[TarEntry[], RegExp]>) {
        const s = scene();
        const dest = join(s.dest, 'helper');
        const r = spawnSync(process.execPath, [HELPER, '__extract-layer', dest, '-', '65537', 'fail'], {
          input: await makeTar(entries, me), encoding: 'utf8',
        });
        assert.equal(r.status, 1, r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, why);
        s.untouched();
      }
    });

  test('a good layer: the helper prints the result as JSON', async () => {
    const s = scene();
    const tarBuf = await makeTar([{ name: 'hello', body: 'hi' }], me);
    const blob = join(s.outer, 'blob');
    const dest = join(s.dest, 'helper');
    const r = spawnSync(process.execPath, [HELPER, '__extract-layer', dest, blob, '65537', 'fail'], { input: tarBuf, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { diffId: string; digest: string; entries: number };
    assert.equal(out.diffId, sha256(tarBuf));
    assert.equal(out.entries, 1);
    assert.equal(readFileSync(join(dest, 'hello'), 'utf8'), 'hi');
    assert.ok(readFileSync(blob).equals(tarBuf));
  });
});

/** Feeds the bytes `size` at a time: a sparse map split across chunks must still be read. */
function trickle(buf: Buffer, size: number): Readable {
  const s = new PassThrough();
  for (let off = 0; off < buf.length; off += size) s.write(buf.subarray(off, off + size));
  s.end();
  return s;
}

describe('extractLayer: GNU sparse files', () => {
  const src = mkdtempSync(join(tmpdir(), 'rootlet-sparse-src-'));
  roots.push(src);
  // A long directory name: GNU tar then puts a long-name entry before the sparse one.
  const deep = `dir/${'d'.repeat(120)}/sparse`;
  // Data at the start, at an offset that is not block-aligned, and in 30 more places (more than the
  // old format's header holds: extension blocks follow), then a hole to the end.
  makeSparseFile(join(src, deep), 8192, [[0, 4], [1001, 1], ...Array.from({ length: 30 }, (_, i): [number, number] => [2000 + i * 100, 4])]);
  makeSparseFile(join(src, 'hole'), 1024, []);
  writeFileSync(join(src, 'dense'), 'hello\n');
  const names = [deep, 'hole', 'dense'];
  // Where the file system has no holes GNU tar stores nothing as sparse; the bytes must still match.
  const holesHere = statSync(join(src, deep)).blocks * 512 < statSync(join(src, deep)).size;

  function sameFiles(dest: string): void {
    for (const n of names) {
      const a = statSync(join(src, n));
      const b = statSync(join(dest, n));
      assert.equal(b.size, a.size, n);
      assert.equal(sha256(readFileSync(join(dest, n))), sha256(readFileSync(join(src, n))), n);
      assert.equal(b.mode & 0o7777, a.mode & 0o7777, n);
      assert.equal(Math.floor(b.mtimeMs / 1000), Math.floor(a.mtimeMs / 1000), n);
      if (holesHere) assert.ok(b.blocks <= a.blocks + 8, `${n} takes ${b.blocks} blocks on disk; the source ${a.blocks}`);
    }
    // Just the files: no GNUSparseFile.N directory holding maps, no PaxHeaders.
    assert.deepEqual(readdirSync(dest).sort(), ['dense', 'dir', 'hole']);
  }

  for (const format of Object.keys(SPARSE_FORMATS) as SparseFormat[]) {
    test(`${format}: the files have the source's bytes, size, mode and time, and its holes`, async () => {
      const s = scene();
      const tarBuf = gnuTar(src, names, format);
      if (format === 'gnu' && holesHere) assert.equal(headersOfType(tarBuf, 'S').length, 2, 'GNU tar wrote no old-format sparse entries');
      const r = await extractLayer(streamOf(tarBuf), s.dest, OPTS);
      assert.equal(r.diffId, sha256(tarBuf));
      sameFiles(s.dest);
      s.untouched();
    });
  }

  test('gzip-compressed and fed a few bytes at a time: maps split across chunks are read', async () => {
    for (const format of ['gnu', 'pax-0.0', 'pax-1.0'] as SparseFormat[]) {
      const s = scene();
      const tarBuf = gnuTar(src, names, format);
      await extractLayer(trickle(gzip(tarBuf), 997), s.dest, OPTS);
      sameFiles(s.dest);
    }
  });

  test('a sparse file after others, and one replacing a symlink to a host file, stays inside the layer', async () => {
    const s = scene();
    const sparseTar = gnuTar(src, ['hole'], 'pax-1.0');
    const first = await makeTar([{ name: 'hole', type: 'symlink', linkname: join(s.canary, 'file') }], me);
    // Two tars in a row are one tar once the first's end blocks are gone.
    await extractLayer(streamOf(Buffer.concat([tarBody(first), sparseTar])), s.dest, OPTS);
    assert.equal(lstatSync(join(s.dest, 'hole')).isFile(), true);
    assert.equal(statSync(join(s.dest, 'hole')).size, 1024 * 1024);
    s.untouched();
  });
});

describe('extractLayer: malformed sparse maps are one line naming the file', () => {
  const pax01 = (map: string, body: string, extra: Record<string, string> = {}): TarEntry => ({
    name: 'GNUSparseFile.1/x', body,
    pax: { 'GNU.sparse.major': '0', 'GNU.sparse.minor': '1', 'GNU.sparse.name': 'x', 'GNU.sparse.size': '10', 'GNU.sparse.map': map, ...extra },
  });
  const pax10 = (text: string, data: string, realsize = '10'): TarEntry => {
    const map = Buffer.alloc(Math.ceil(text.length / 512) * 512);
    map.write(text, 'latin1');
    return {
      name: 'GNUSparseFile.1/x', body: Buffer.concat([map, Buffer.from(data)]),
      pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': 'x', 'GNU.sparse.realsize': realsize },
    };
  };
  const cases: Array<[string, TarEntry, RegExp]> = [
    ['0.1: a segment beyond the real size', pax01('8,4', 'abcd'), /"x" has a sparse map that points beyond the file's real size \(12 > 10\)/],
    ['0.1: a map covering less than the data', pax01('0,2', 'abcd'), /"x" has a sparse map that covers 2 bytes where the archive stores 4/],
    ['0.1: segments out of order', pax01('4,2,0,2', 'abcd'), /"x" has a sparse map that is out of order or overlaps itself/],
    ['0.1: overlapping segments', pax01('0,3,2,1', 'abcd'), /"x" has a sparse map that is out of order or overlaps itself/],
    ['0.1: an odd number of fields', pax01('0', ''), /"x" has a sparse map with an odd number of fields/],
    ['0.1: fields that are not numbers', pax01('a,b', ''), /"x" has a sparse map that holds a field that is not a number/],
    ['0.1: a negative offset', pax01('-1,4', 'abcd'), /"x" has a sparse map that holds a field that is not a number/],
    ['0.1: no real size', pax01('0,4', 'abcd', { 'GNU.sparse.size': 'big' }), /"x" has no readable real size/],
    ['an unknown format version', pax01('0,4', 'abcd', { 'GNU.sparse.major': '2', 'GNU.sparse.minor': '0' }), /"x" uses GNU sparse format 2\.0, which rootlet does not know/],
    ['0.0: records that do not alternate', {
      name: 'x', body: 'abcd',
      pax: { 'GNU.sparse.size': '10', 'GNU.sparse.numblocks': '1', 'GNU.sparse.numbytes': '4', 'GNU.sparse.offset': '0' },
    }, /"x" has GNU.sparse.offset and GNU.sparse.numbytes records that do not alternate/],
    ['1.0: an entry count that is not a number', pax10('many\n0\n4\n', 'abcd'), /"x" starts with a sparse map whose entry count is not a number/],
    ['1.0: a map cut short by the end of the data', { ...pax10('', ''), body: '3\n0\n4\n' }, /"x" has no complete sparse map/],
    ['1.0: a segment beyond the real size', pax10('1\n100\n4\n', 'abcd'), /"x" has a sparse map that points beyond the file's real size/],
    ['1.0: a map covering more than the data', pax10('1\n0\n8\n', 'abcd'), /"x" has a sparse map that covers 8 bytes where the archive stores 4/],
  ];
  for (const [what, entry, why] of cases) {
    test(what, async () => {
      const s = scene();
      await refused(extractLayer(streamOf(await makeTar([{ name: 'before', body: 'ok' }, entry], me)), s.dest, OPTS), 'corrupt', why);
      s.untouched();
    });
  }

  test('a real name with .. is refused as unsafe, whatever the map', async () => {
    const s = scene();
    await refused(extractEntries([pax01('0,4', 'abcd', { 'GNU.sparse.name': '../../../escape' })], s.dest), 'unsafe', /points outside the layer/);
    s.untouched();
  });

  test('old GNU format: a real size the map overruns, and a map of more than 1 MiB, are refused', async () => {
    const src = mkdtempSync(join(tmpdir(), 'rootlet-sparse-bad-'));
    roots.push(src);
    makeSparseFile(join(src, 'f'), 4096, [[100, 4], [2000, 4]]);
    const good = gnuTar(src, ['f'], 'gnu');
    const [at] = headersOfType(good, 'S');
    if (at === undefined) return; // no holes on this file system: no 'S' entry to damage
    const s = scene();
    const shrunk = patchHeader(good, at, 483, '00000010000\0');
    await refused(extractLayer(streamOf(shrunk), s.dest, OPTS), 'corrupt', /sparse file "f" has a sparse map that points beyond the file's real size/);
    s.untouched();

    // Extension blocks that never end (each says another follows).
    const endless = patchHeader(good, at, 482, Buffer.from([1]));
    const ext = Buffer.alloc(512);
    ext[504] = 1;
    const s2 = scene();
    const bomb = Buffer.concat([endless.subarray(0, at + 512), ...Array.from({ length: 2100 }, () => ext)]);
    await refused(extractLayer(streamOf(bomb), s2.dest, OPTS), 'corrupt', /sparse file "f" has more than 1048576 bytes of sparse map/);
    s2.untouched();
  });
});

describe('extractLayer: types, compression and empty input', () => {
  test('an entry of a type it cannot extract is refused by name; a volume label is not a file and is skipped', async () => {
    const t = await makeTar([{ name: 'dump', body: 'x' }, { name: 'after', body: 'y' }], me);
    const s = scene();
    await refused(extractLayer(streamOf(patchHeader(t, 0, 156, 'D')), s.dest, OPTS), 'corrupt', /"dump" has tar type 'D', which rootlet cannot extract/);
    const s2 = scene();
    const r = await extractLayer(streamOf(patchHeader(t, 0, 156, 'V')), s2.dest, OPTS);
    assert.equal(r.entries, 2);
    assert.deepEqual(readdirSync(s2.dest), ['after']);
  });

  test('xz and bzip2 input are named, not "not a valid tar"', async () => {
    const s = scene();
    const xz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(600)]);
    await refused(extractLayer(streamOf(xz), s.dest, OPTS), 'corrupt', /xz-compressed layers are not supported/);
    const bz = Buffer.concat([Buffer.from('BZh9', 'latin1'), Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]), Buffer.alloc(600)]);
    await refused(extractLayer(streamOf(bz), s.dest, OPTS), 'corrupt', /bzip2-compressed layers are not supported/);
  });

  test('a corrupt gzip stream says so, with zlib\'s reason; a truncated one says truncated gzip stream', async () => {
    const gz = gzip(await makeTar([{ name: 'a', body: randomish(200_000) }], me));
    const bad = Buffer.from(gz);
    for (let i = 200; i < 400; i++) bad[i] = bad[i]! ^ 0x5a;
    const s = scene();
    const err = await refused(extractLayer(streamOf(bad), s.dest, OPTS), 'corrupt', /^corrupt gzip stream: \S/);
    assert.doesNotMatch(err.message, /only \d+ bytes/);
    const badHeader = Buffer.from(gz);
    badHeader[2] = 0x63; // compression method: not deflate
    await refused(extractLayer(streamOf(badHeader), scene().dest, OPTS), 'corrupt', /^corrupt gzip stream: \S/);
    const badCrc = Buffer.from(gz);
    badCrc[gz.length - 8] = badCrc[gz.length - 8]! ^ 0xff; // the trailer's CRC32
    await refused(extractLayer(streamOf(badCrc), scene().dest, OPTS), 'corrupt', /^corrupt gzip stream: incorrect data check/);
    await refused(extractLayer(streamOf(gz.subarray(0, 1000)), scene().dest, OPTS), 'corrupt', /^truncated gzip stream/);
  });

  test('a corrupt gzip archive for load says so', async () => {
    const gz = gzip(await makeTar([{ name: 'manifest.json', body: randomish(100_000) }], me));
    for (let i = 200; i < 400; i++) gz[i] = gz[i]! ^ 0x5a;
    const p = readArchive(streamOf(gz), 'x.tar.gz', async () => {});
    await assert.rejects(p, /x\.tar\.gz is a corrupt gzip stream: \S.*nothing was loaded/);
  });

  test('an empty tar (end blocks only) has no entries: import refuses it, a pulled layer may be one', async () => {
    const s = scene();
    const r = await extractLayer(streamOf(Buffer.alloc(10240)), s.dest, OPTS);
    assert.equal(r.entries, 0);
    assert.deepEqual(readdirSync(s.dest), []);
  });

  test('fewer bytes than a tar header are "not a valid tar", with the count', async () => {
    const s = scene();
    await refused(extractLayer(streamOf(Buffer.from('hello\n')), s.dest, OPTS), 'corrupt', /not a valid tar stream: 6 bytes, less than one tar header/);
  });

  test('device nodes: counted (whiteouts are not), and said in one line', async () => {
    const s = scene();
    const r = await extractEntries([
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'dev/zero', type: 'character-device', devmajor: 1, devminor: 5 },
      { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 },
      { name: 'wh', type: 'character-device', devmajor: 0, devminor: 0 },
    ], s.dest);
    assert.equal(r.skippedDevices, 3);
    assert.equal(skippedDevicesWarning(3, 'sha256:abc'), '3 device nodes in layer sha256:abc were skipped: a rootless user cannot create devices');
    assert.equal(skippedDevicesWarning(1, 'sha256:abc'), '1 device node in layer sha256:abc was skipped: a rootless user cannot create devices');
  });
});

/** Bytes that gzip cannot shrink to nothing, but the same on every run. */
function randomish(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
