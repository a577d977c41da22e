import { lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { RootfsView } from './rootfs-lookup.js';

export type EntryType = 'dir' | 'file' | 'symlink' | 'other';

/** A container path with its parent directories' symlinks resolved inside the root. */
export interface RootEntry {
  /** The path in the container, free of symlinks except (without `follow`) its last component. */
  path: string;
  /** undefined: it does not exist. */
  type?: EntryType;
  /** Whether the directory that would hold it exists. */
  parentExists: boolean;
  /** What the API's archive endpoints report of an entry that exists: st_mode, bytes, mtime, and a symlink's target. */
  mode?: number;
  size?: number;
  mtimeMs?: number;
  linkTarget?: string;
}

function found(path: string, host: string, st: Stats): RootEntry {
  const e: RootEntry = { path, type: typeOf(st), parentExists: true, mode: st.mode, size: st.size, mtimeMs: st.mtimeMs };
  if (st.isSymbolicLink()) {
    try { e.linkTarget = readlinkSync(host); } catch { /* gone meanwhile */ }
  }
  return e;
}

function typeOf(st: Stats): EntryType {
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return st.isFile() ? 'file' : 'other';
}

/**
 * Looks a path up in a container's root directory (`root`, a directory of
 * the host) as the container would: symlinks resolve inside the root, never
 * to the host's files. The last component is followed only with `follow`
 * (a link is copied as a link, as `docker cp` does without -L).
 */
export function statInRoot(root: string, path: string, follow: boolean): RootEntry {
  const view = new RootfsView([root]);
  const clean = posix.normalize(`/${path}`);
  const inside = (host: string) => host.slice(root.length).replace(/^\/*/, '/');
  if (clean === '/') return found('/', root, statSync(root));
  const name = posix.basename(clean);
  if (follow || name === '..') {
    const host = view.resolve(clean);
    if (host) {
      try { return found(inside(host), host, statSync(host)); } catch { /* dangling */ }
    }
  }
  const parent = view.resolve(posix.dirname(clean));
  let parentIsDir = false;
  try { parentIsDir = !!parent && statSync(parent).isDirectory(); } catch { /* missing */ }
  if (!parent || !parentIsDir) return { path: clean, parentExists: false };
  const host = posix.join(parent, name);
  try {
    return found(inside(host), host, lstatSync(host));
  } catch {
    return { path: inside(host), parentExists: true };
  }
}
