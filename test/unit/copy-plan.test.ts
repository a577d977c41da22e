import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { planCopy, renameTop, type CopyDest, type CopySource } from '../../src/engine/containers/copy-plan.js';

const file = (name = 'f'): CopySource => ({ given: `/src/${name}`, type: 'file', contents: false, trailingSlash: false, name });
const dir = (name = 'd', contents = false): CopySource => ({ given: `/src/${name}${contents ? '/.' : ''}`, type: 'dir', contents, trailingSlash: false, name });
const dest = (path: string, type?: CopyDest['type'], parentExists = true): CopyDest => ({ given: path, path: path.replace(/\/$/, '') || '/', type, parentExists, trailingSlash: path.endsWith('/') });

describe('planCopy (docker cp destination rules)', () => {
  test('into an existing directory, under its own name; "dir/." puts the contents there', () => {
    assert.deepEqual(planCopy(file(), dest('/tmp', 'dir')), { extractDir: '/tmp', name: 'f' });
    assert.deepEqual(planCopy(dir(), dest('/tmp/', 'dir')), { extractDir: '/tmp', name: 'd' });
    assert.deepEqual(planCopy(dir('d', true), dest('/tmp', 'dir')), { extractDir: '/tmp' });
  });

  test('a new name: the parent must exist', () => {
    assert.deepEqual(planCopy(file(), dest('/tmp/new')), { extractDir: '/tmp', name: 'new' });
    assert.deepEqual(planCopy(dir('d', true), dest('/tmp/new')), { extractDir: '/tmp', name: 'new' });
    assert.throws(() => planCopy(file(), dest('/nope/new', undefined, false)), /\/nope: no such directory/);
  });

  test('over an existing file; never a directory over a file', () => {
    assert.deepEqual(planCopy(file(), dest('/etc/passwd', 'file')), { extractDir: '/etc', name: 'passwd' });
    assert.throws(() => planCopy(dir(), dest('/etc/passwd', 'file')), /cannot copy a directory to a file/);
    assert.throws(() => planCopy(file(), dest('/etc/passwd/', 'file')), /not a directory/);
  });

  test('a DEST ending in / must be a directory; "SRC/." must be one', () => {
    assert.throws(() => planCopy(file(), dest('/tmp/new/')), /no such directory/);
    assert.throws(() => planCopy({ ...file(), contents: true }, dest('/tmp', 'dir')), /not a directory/);
    assert.throws(() => planCopy({ ...file(), trailingSlash: true }, dest('/tmp', 'dir')), /not a directory/);
  });
});

describe('renameTop', () => {
  const base = mkdtempSync(join(tmpdir(), 'rootlet-rename-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  test('is nothing when the name stays', () => {
    assert.deepEqual(renameTop('a', undefined), []);
    assert.deepEqual(renameTop('a', 'a'), []);
  });

  test('renames the top entry and what is under it, with special characters taken literally', () => {
    const src = join(base, 'src');
    mkdirSync(join(src, 'a.b*[x]', 'sub'), { recursive: true });
    writeFileSync(join(src, 'a.b*[x]', 'sub', 'f'), 'x');
    mkdirSync(join(src, 'aXb*[x]'));
    for (const [member, name] of [['a.b*[x]', 'new,&name\\'], ['.', 'fromdot']] as const) {
      const cwd = member === '.' ? join(src, 'a.b*[x]') : src;
      const r = spawnSync('sh', ['-c', 'tar -cf - "$@" | tar --quoting-style=literal -tf -', 'sh', '-C', cwd, ...renameTop(member, name), '--', member], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const names = r.stdout.trim().split('\n');
      assert.ok(names.every((n) => n.startsWith(`${name}/`)), names.join(' '));
      assert.ok(names.includes(`${name}/sub/f`));
    }
  });
});
