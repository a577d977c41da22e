import assert from 'node:assert/strict';
import {
  existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { extractLayer, LayerError, type ExtractOptions } from '../../src/image/extract.js';
import { HELPER } from '../helpers.js';
import { gzip, makeTar, sha256, snapshot, type TarEntry } from '../tar-fixtures.js';

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

  test('zstd input is refused with a way out', async () => {
    const s = scene();
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(600, 1)]);
    await refused(extractLayer(streamOf(zstd), s.dest, OPTS), 'corrupt', /zstd.*gzip/);
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
    await refused(extractLayer(streamOf(text), s.dest, OPTS), 'corrupt', /not a valid tar/);
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
