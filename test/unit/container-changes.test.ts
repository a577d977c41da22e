import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { containerChanges, type ChangesInput } from '../../src/storage/changes.js';

const base = mkdtempSync(join(tmpdir(), 'rootlet-changes-'));
after(() => rmSync(base, { recursive: true, force: true }));
let seq = 0;

type Node = string | null | { link: string } | 'WHITEOUT';
/** A directory from a description: string = file, null = directory, {link} = symlink, 'WHITEOUT' = overlay whiteout. */
function tree(files: Record<string, Node>): string {
  const root = join(base, `t${seq++}`);
  mkdirSync(root);
  for (const [path, node] of Object.entries(files)) {
    const p = join(root, path);
    mkdirSync(dirname(p), { recursive: true });
    if (node === null) mkdirSync(p, { recursive: true });
    else if (node === 'WHITEOUT') assert.equal(spawnSync('mknod', [p, 'c', '0', '0']).status, 0);
    else if (typeof node === 'string') { writeFileSync(p, node); utimesSync(p, 1000, 1000); }
    else symlinkSync(node.link, p);
  }
  return root;
}

const image = () => tree({ 'bin/ls': 'ls', 'bin/sh': 'sh', 'etc/passwd': 'root', 'www/index.html': 'hi', 'usr/lib/x': 'x', 'etc/link': { link: '/bin/sh' } });
const render = (input: Omit<ChangesInput, 'opaque' | 'ignore'> & Partial<ChangesInput>) =>
  containerChanges({ opaque: new Set(), ignore: new Set(), ...input }).map((c) => `${c.kind} ${c.path}`);

describe('containerChanges (docker diff)', () => {
  test('overlay: added files, deletions by whiteout, and the directories that hold them', () => {
    const lower = image();
    const upper = tree({ 'new': 'n', 'bin/ls': 'WHITEOUT', 'etc/passwd': 'root2', 'fresh/dir/f': 'f' });
    assert.deepEqual(render({ top: upper, mode: 'overlay', layers: [lower] }), [
      'C /bin', 'D /bin/ls', 'C /etc', 'C /etc/passwd', 'A /fresh', 'A /fresh/dir', 'A /fresh/dir/f', 'A /new',
    ]);
  });

  test('overlay: an opaque directory hides what the image had in it', () => {
    const lower = image();
    const upper = tree({ 'www/new.html': 'x' });
    assert.deepEqual(render({ top: upper, mode: 'overlay', layers: [lower], opaque: new Set(['/www']) }), [
      'C /www', 'D /www/index.html', 'A /www/new.html',
    ]);
  });

  test('mount points the runtime made are not changes, nor the directory holding only them', () => {
    const lower = image();
    const upper = tree({ 'etc/hosts': '', 'etc/hostname': '', 'data': null });
    assert.deepEqual(render({ top: upper, mode: 'overlay', layers: [lower], ignore: new Set(['/etc/hosts', '/etc/hostname', '/data']) }), []);
  });

  test('a directory whose mode changed is C; a whiteout of something the image lacks is nothing', () => {
    const lower = image();
    const upper = tree({ 'usr': null, 'ghost': 'WHITEOUT' });
    chmodSync(join(upper, 'usr'), 0o700);
    assert.deepEqual(render({ top: upper, mode: 'overlay', layers: [lower] }), ['C /usr']);
  });

  test('layers stack: a whiteout in an upper image layer hides the lower one', () => {
    const bottom = image();
    const top = tree({ 'bin/sh': 'WHITEOUT' });
    const upper = tree({ 'bin/sh': 'new sh' });
    assert.deepEqual(render({ top: upper, mode: 'overlay', layers: [top, bottom] }), ['C /bin', 'A /bin/sh']);
  });

  test('fuse-overlayfs whiteout files count only when asked', () => {
    const lower = image();
    const upper = tree({ 'bin/.wh.ls': '' });
    assert.deepEqual(render({ top: upper, mode: 'overlay', layers: [lower], whiteoutFiles: true }), ['C /bin', 'D /bin/ls']);
    assert.deepEqual(render({ top: upper, mode: 'overlay', layers: [lower] }), ['C /bin', 'A /bin/.wh.ls']);
  });

  test('copy (vfs): a full copy is compared with the image', () => {
    const lower = image();
    const copy = tree({ 'bin/sh': 'sh', 'etc/passwd': 'changed', 'www/index.html': 'hi', 'usr/lib/x': 'x', 'etc/link': { link: '/bin/busybox' }, 'new': 'n', '.rootlet-complete': '' });
    assert.deepEqual(render({ top: copy, mode: 'copy', layers: [lower], skipAtRoot: ['.rootlet-complete'] }), [
      'C /bin', 'D /bin/ls', 'C /etc', 'C /etc/link', 'C /etc/passwd', 'A /new',
    ]);
  });
});
