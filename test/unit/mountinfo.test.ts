import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { lockedFlags, mountOf, readMountInfo } from '../../src/storage/mountinfo.js';

// Paths under a directory that does not exist, so realpath keeps them as given.
const R = '/nonexistent-rootlet-test';
const TEXT = [
  `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw`,
  `23 22 0:5 / ${R}/proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw`,
  `24 22 8:2 / ${R}/mnt/my\\040dir rw,nosuid master:3 shared:9 - xfs /dev/sdb1 rw`,
  `25 22 8:3 / ${R}/tab\\011and\\134slash ro - ext4 /dev/sdc rw`,
  `26 22 0:40 / ${R}/data rw,nodev - tmpfs tmpfs rw`,
  `27 26 0:41 / ${R}/data/deep rw - tmpfs tmpfs rw`,
  // Mounted over again later: the last one is what a lookup sees.
  `28 26 0:42 / ${R}/data rw,noexec - tmpfs tmpfs rw`,
  '',
].join('\n');

describe('readMountInfo', () => {
  const mounts = readMountInfo(TEXT);

  test('one entry per line: mount point, per-mount options and the filesystem type after "-"', () => {
    assert.equal(mounts.length, 7);
    assert.deepEqual(mounts[0], { mountPoint: '/', options: ['rw', 'relatime'], fsType: 'ext4' });
    assert.deepEqual(mounts[1], { mountPoint: `${R}/proc`, options: ['rw', 'nosuid', 'nodev', 'noexec', 'relatime'], fsType: 'proc' });
  });

  test('octal escapes in mount points are undone; several optional fields are skipped', () => {
    assert.equal(mounts[2]!.mountPoint, `${R}/mnt/my dir`);
    assert.equal(mounts[2]!.fsType, 'xfs');
    assert.equal(mounts[3]!.mountPoint, `${R}/tab\tand\\slash`);
  });

  test('the real mountinfo parses, and has the root mount', () => {
    const real = readMountInfo();
    assert.ok(real.some((m) => m.mountPoint === '/'));
    assert.ok(real.every((m) => m.fsType !== ''));
  });
});

describe('mountOf', () => {
  const mounts = readMountInfo(TEXT);

  test('the longest mount point that is a whole-component prefix', () => {
    assert.equal(mountOf(`${R}/proc/1/status`, mounts)?.fsType, 'proc');
    assert.equal(mountOf(`${R}/proc`, mounts)?.fsType, 'proc');
    assert.equal(mountOf(`${R}/procfs`, mounts)?.mountPoint, '/');
    assert.equal(mountOf(`${R}/mnt/my dir/f`, mounts)?.fsType, 'xfs');
    assert.equal(mountOf(`${R}/mnt/my`, mounts)?.mountPoint, '/');
    assert.equal(mountOf(`${R}/data/deep/x`, mounts)?.mountPoint, `${R}/data/deep`);
    assert.equal(mountOf('/', mounts)?.mountPoint, '/');
  });

  test('of two mounts on the same point, the later one wins', () => {
    assert.deepEqual(mountOf(`${R}/data/x`, mounts)?.options, ['rw', 'noexec']);
  });

  test('no mounts, no answer', () => {
    assert.equal(mountOf('/x', []), undefined);
  });
});

describe('lockedFlags', () => {
  test('are the nosuid/nodev/noexec options of the mount that holds the path, here /proc', () => {
    const procMount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .filter((l) => l.split(' ')[4] === '/proc').pop();
    assert.ok(procMount, 'no /proc mount');
    const opts = procMount.split(' ')[5]!.split(',');
    const want = ['nosuid', 'nodev', 'noexec'].filter((f) => opts.includes(f));
    assert.deepEqual(lockedFlags('/proc/self/status'), want);
    assert.deepEqual(lockedFlags('/proc'), want);
  });
});
