import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { extractInRoot, openInRoot } from '../../src/runtime/in-root.js';
import { makeTar } from '../tar-fixtures.js';

const base = mkdtempSync(join(tmpdir(), 'rootlet-in-root-'));
after(() => rmSync(base, { recursive: true, force: true }));

/** A container-like root with a directory, and a host directory outside it that must stay untouched. */
function fixture(name: string) {
  const root = join(base, name, 'root');
  const host = join(base, name, 'host');
  mkdirSync(join(root, 'srv', 'data'), { recursive: true });
  mkdirSync(host, { recursive: true });
  writeFileSync(join(host, 'secret'), 'host secret');
  return { root, host };
}

const where = (fd: number) => {
  try { return readlinkSync(`/proc/self/fd/${fd}`); } finally { closeSync(fd); }
};

describe('paths inside a container root (cp)', () => {
  test('symlinks resolve inside the root: absolute ones and .. stop at it', () => {
    const { root, host } = fixture('resolve');
    symlinkSync(host, join(root, 'srv', 'to-host'));
    symlinkSync('/', join(root, 'srv', 'to-root'));
    symlinkSync('../../../../../..', join(root, 'srv', 'up'));
    assert.throws(() => openInRoot(root, '/srv/to-host/secret'), /ENOENT/);
    assert.equal(where(openInRoot(root, '/srv/to-root/srv/data')), join(root, 'srv', 'data'));
    assert.equal(where(openInRoot(root, '/srv/up/srv')), join(root, 'srv'));
    assert.equal(where(openInRoot(root, '/srv/../../..')), root);
    // Not followed as the last component: the link itself.
    assert.equal(where(openInRoot(root, '/srv/to-root', false)), join(root, 'srv', 'to-root'));
    symlinkSync('loop', join(root, 'loop'));
    assert.throws(() => openInRoot(root, '/loop'), /too many levels/);
  });

  test('extraction: modes and owners as archived, links, an existing file replaced', async () => {
    const { root } = fixture('extract');
    writeFileSync(join(root, 'srv', 'data', 'old'), 'old');
    const t = await makeTar([
      { name: 'd/', type: 'directory', mode: 0o750 },
      { name: 'd/f', body: 'hello', mode: 0o4755 },
      { name: 'd/l', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'd/h', type: 'link', linkname: 'd/f' },
      { name: 'old', body: 'new' },
    ]);
    await extractInRoot(Readable.from([t]), root, '/srv/data', { sameOwner: false });
    const d = join(root, 'srv', 'data');
    assert.equal(readFileSync(join(d, 'd', 'f'), 'utf8'), 'hello');
    assert.equal(lstatSync(join(d, 'd', 'f')).mode & 0o7777, 0o4755);
    assert.equal(lstatSync(join(d, 'd')).mode & 0o7777, 0o750);
    assert.equal(readlinkSync(join(d, 'd', 'l')), '/etc/passwd');
    assert.equal(lstatSync(join(d, 'd', 'h')).ino, lstatSync(join(d, 'd', 'f')).ino);
    assert.equal(readFileSync(join(d, 'old'), 'utf8'), 'new');
  });

  test('extraction never writes through a symlink: into a linked destination it stays in the root; a linked parent is refused', async () => {
    const { root, host } = fixture('no-follow');
    symlinkSync(host, join(root, 'srv', 'to-host'));
    // The destination is a link to a host path: resolved inside the root, where it does not exist.
    await assert.rejects(extractInRoot(Readable.from([await makeTar([{ name: 'x', body: 'x' }])]), root, '/srv/to-host', { sameOwner: false }), /ENOENT/);
    // A member below a directory that is a symlink (as a swap would leave it): refused, nothing written on the host.
    symlinkSync(host, join(root, 'srv', 'data', 'sub'));
    await assert.rejects(extractInRoot(Readable.from([await makeTar([{ name: 'sub/x', body: 'x' }])]), root, '/srv/data', { sameOwner: false }), /"sub" is not a directory/);
    await assert.rejects(extractInRoot(Readable.from([await makeTar([{ name: '../x', body: 'x' }])]), root, '/srv/data', { sameOwner: false }), /contains \.\./);
    assert.deepEqual(readdirSync(host), ['secret']);
  });

  test('extraction while another process keeps swapping a directory and a symlink to the host', async () => {
    const { root, host } = fixture('race');
    const d = join(root, 'srv', 'data');
    // The swapper: "sub" is a directory one moment, a symlink to the host directory the next.
    const swapper = spawnSync('sh', ['-c', `cd ${d} && ( i=0; while [ $i -lt 4000 ]; do mkdir -p sub.d; mv -T sub.d sub 2>/dev/null; ln -sfn ${host} sub.l; mv -T sub.l sub 2>/dev/null; i=$((i+1)); done ) >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
    const pid = Number(swapper.stdout.trim());
    try {
      const t = await makeTar([{ name: 'sub/', type: 'directory' }, { name: 'sub/planted', body: 'must never reach the host' }]);
      for (let i = 0; i < 60; i++) {
        try { await extractInRoot(Readable.from([t]), root, '/srv/data', { sameOwner: false }); } catch { /* refused: fine */ }
      }
    } finally {
      try { process.kill(pid); } catch { /* ended */ }
    }
    assert.deepEqual(readdirSync(host), ['secret']);
    assert.ok(!existsSync(join(host, 'planted')));
  });
});
