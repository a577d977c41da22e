import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';

export type ChangeKind = 'A' | 'C' | 'D';

/** One line of `diff`: a path of the container, added, changed or deleted against its image. */
export interface Change {
  kind: ChangeKind;
  path: string;
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';

/**
 * The image's layers as overlay stacks them, top first, looked up by
 * container path without following symlinks: a whiteout or a non-directory
 * hides what lower layers have there. Opaque directories of the image's own
 * layers are not honoured (their xattrs would have to be read for every
 * directory): a file they hide may be reported changed rather than added.
 */
export class LayerStack {
  constructor(private readonly layers: string[]) {}

  lookup(path: string): { st: Stats; host: string } | undefined {
    const parts = path.split('/').filter(Boolean);
    for (const layer of this.layers) {
      let hidden = false;
      let missing = false;
      for (let i = 1; i < parts.length; i++) {
        let st: Stats;
        try { st = lstatSync(posix.join(layer, ...parts.slice(0, i))); } catch { missing = true; break; }
        if (!st.isDirectory()) { hidden = true; break; }
      }
      if (hidden) return undefined;
      if (missing) continue;
      const host = posix.join(layer, ...parts);
      let st: Stats;
      try { st = lstatSync(host); } catch { continue; }
      return isWhiteout(st) ? undefined : { st, host };
    }
    return undefined;
  }

  /** Names in a directory of the merged layers. */
  list(path: string): string[] {
    const seen = new Set<string>();
    const names: string[] = [];
    for (const layer of this.layers) {
      const dir = posix.join(layer, path);
      let st: Stats;
      try { st = lstatSync(dir); } catch { continue; }
      if (isWhiteout(st) || !st.isDirectory()) break;
      for (const name of readdirSync(dir)) {
        if (seen.has(name)) continue;
        seen.add(name);
        let e: Stats;
        try { e = lstatSync(posix.join(dir, name)); } catch { continue; }
        if (!isWhiteout(e)) names.push(name);
      }
    }
    return names;
  }
}

export interface ChangesInput {
  /** The container's own directory: an overlay upper directory, or (vfs) a full copy of the root filesystem. */
  top: string;
  /** overlay: `top` holds only what changed; copy: `top` is the whole root filesystem. */
  mode: 'overlay' | 'copy';
  /** The image's layer directories, top first. */
  layers: string[];
  /** Directories of `top` (container paths) that overlay marked opaque. */
  opaque: Set<string>;
  /** Container paths never reported, e.g. mount points the runtime made. */
  ignore: Set<string>;
  /** Files of `top` that are the storage driver's, not the container's (names at its root). */
  skipAtRoot?: string[];
  /** fuse-overlayfs: `.wh.NAME` files are whiteouts too, where it could not make a whiteout device. */
  whiteoutFiles?: boolean;
}

/** Whether a file of the container is the image's as it was: type, mode, owner, and (not for directories) size, time and link target. */
function sameEntry(a: Stats, b: Stats, aPath: string, bPath: string): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.isDirectory()) return true;
  if (a.size !== b.size || Math.floor(a.mtimeMs) !== Math.floor(b.mtimeMs)) return false;
  if (!a.isSymbolicLink()) return true;
  try { return readlinkSync(aPath) === readlinkSync(bPath); } catch { return false; }
}

/**
 * The changes of a container's file system against its image, as `docker
 * diff` reports them: A for added, C for changed, D for deleted. A
 * directory is C when something below it is reported or its mode or owner
 * changed (not for its modification time alone, which copy-up and mount
 * points change). Sorted by path.
 */
export function containerChanges(input: ChangesInput): Change[] {
  const lower = new LayerStack(input.layers);
  const out: Change[] = [];

  const addTree = (path: string) => {
    out.push({ kind: 'A', path });
    let st: Stats;
    try { st = lstatSync(posix.join(input.top, path)); } catch { return; }
    if (!st.isDirectory()) return;
    for (const name of readdirSync(posix.join(input.top, path))) {
      const p = posix.join(path, name);
      if (!input.ignore.has(p)) addTree(p);
    }
  };

  /** Reports what changed below `dir`; returns whether anything did. */
  const walk = (dir: string): boolean => {
    const before = out.length;
    let names = readdirSync(posix.join(input.top, dir));
    if (dir === '/' && input.skipAtRoot) names = names.filter((n) => !input.skipAtRoot!.includes(n));
    const present = new Set<string>();
    let opaque = input.opaque.has(dir);
    for (const name of names) {
      const whFile = !!input.whiteoutFiles && name.startsWith(WH_PREFIX);
      if (whFile && name === WH_OPAQUE) { opaque = true; continue; }
      const st = lstatSync(posix.join(input.top, dir, name));
      const whiteout = whFile || isWhiteout(st);
      const target = posix.join(dir, whFile ? name.slice(WH_PREFIX.length) : name);
      present.add(posix.basename(target));
      if (input.ignore.has(target)) continue;
      if (whiteout) {
        if (input.mode === 'overlay' && lower.lookup(target)) out.push({ kind: 'D', path: target });
        continue;
      }
      const below = lower.lookup(target);
      if (!below) { addTree(target); continue; }
      if (st.isDirectory()) {
        const inner = walk(target);
        if (inner || !sameEntry(st, below.st, '', '')) out.push({ kind: 'C', path: target });
        continue;
      }
      if (input.mode === 'overlay' || !sameEntry(st, below.st, posix.join(input.top, target), below.host)) out.push({ kind: 'C', path: target });
    }
    // What the image has here and the container no longer shows: every absence in a
    // full copy, and in an opaque directory (its lower contents are hidden as a whole).
    if (input.mode === 'copy' || opaque) {
      for (const name of lower.list(dir)) {
        const p = posix.join(dir, name);
        if (!present.has(name) && !input.ignore.has(p)) out.push({ kind: 'D', path: p });
      }
    }
    return out.length > before;
  };

  walk('/');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
