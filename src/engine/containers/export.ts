import { spawnJoined, type CallerEnd } from '../../util/spawn-wait.js';
import { openRootfs } from './rootfs.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { tarFailure } from './tar-status.js';

/**
 * `export`: a tar of the container's root file system to `out` (a file
 * descriptor), owners as the container knows them, entry names relative
 * to its root and file capabilities as `docker export` writes them.
 * Volumes, tmpfs and the kernel's file systems (/proc, /sys, /dev) are not
 * in it: only their mount points. Works whether the container runs or not.
 */
export async function exportContainer(engine: Engine, rec: ContainerRecord, out: CallerEnd): Promise<void> {
  const access = openRootfs(engine, rec);
  try {
    // --one-file-system leaves out what is mounted on other file systems; a
    // volume on the store's own file system (the vfs driver) needs its own exclude.
    const excludes = rec.spec.mounts.map((m) => `--exclude=.${m.destination}/*`);
    // File capabilities go along as docker export writes them (a SCHILY.xattr PAX record); the PAX
    // format's per-file times are left out, so that only files with capabilities get a PAX header.
    const xattrs = ['--xattrs', '--xattrs-include=security.capability', '--pax-option=delete=atime,delete=ctime,delete=mtime'];
    const tar = ['tar', '-C', access.root, '-cf', '-', '--numeric-owner', ...xattrs, '--one-file-system', '--anchored', ...excludes, '--transform=s,^\\./,,S', '.'];
    const err = tarFailure(await spawnJoined('nsenter', access.nsenter(tar), 'ignore', out).done, `cannot export container ${rec.name}`);
    if (err) throw err;
  } finally {
    access.close();
  }
}
