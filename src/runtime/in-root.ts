import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, chownSync, closeSync, constants as fsc, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync,
  lstatSync, lutimesSync, mkdirSync, openSync, readlinkSync, rmdirSync, symlinkSync, unlinkSync, utimesSync, writeSync, type Stats,
} from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

/**
 * Files of a container's root reached without ever leaving it, also while
 * a process of the container swaps a directory for a symlink (`cp` into or
 * out of a running container).
 *
 * The way: every path is walked one component at a time from a descriptor
 * of the container's root, each component opened relative to the
 * descriptor of its parent (as `/proc/self/fd/PARENT/NAME`, which is
 * openat(2) for node: the kernel resolves the magic link to that very
 * directory, whatever was renamed since) with O_NOFOLLOW. A symlink met on
 * the way is read and resolved again from the root's descriptor, as the
 * container resolves it (what openat2's RESOLVE_IN_ROOT does; node has no
 * openat2). Nothing is looked up by a full path string, so a swap between
 * two steps redirects at most to another place inside the container.
 *
 * Reading (`cp` out of a container): GNU tar is started with its working
 * directory on such a descriptor and one member name; tar itself walks
 * below it with openat(..., O_NOFOLLOW) relative to the directories it
 * opened, so it never follows a swapped-in symlink either. Writing (`cp`
 * into a container): GNU tar resolves each member's whole relative path
 * (it would follow a swapped-in symlink), so the archive is extracted here,
 * each entry created relative to its parent's descriptor.
 */

const O_PATH = 0o10000000;
const MAX_LINKS = 40;

const at = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`;
const self = (fd: number) => `/proc/self/fd/${fd}`;

export class InRootError extends Error {}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/**
 * An O_PATH descriptor of `path` inside the directory `root`, every
 * symlink resolved inside it (`..` stops at the root). The last component
 * is followed only with `follow`. Throws ENOENT/ENOTDIR errors as node does.
 */
export function openInRoot(root: string, path: string, follow = true): number {
  const rootFd = openSync(root, O_PATH | fsc.O_DIRECTORY);
  const stack = [rootFd];
  const queue = path.split('/');
  let links = 0;
  try {
    while (queue.length) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length > 1) closeSync(stack.pop()!);
        continue;
      }
      const last = !queue.some((q) => q !== '' && q !== '.');
      const fd = openSync(at(stack[stack.length - 1]!, c), O_PATH | fsc.O_NOFOLLOW);
      const st = fstatSync(fd);
      if (st.isSymbolicLink() && (!last || follow)) {
        // Read through the parent's descriptor; whatever it says now is resolved inside the root.
        const target = readlinkSync(at(stack[stack.length - 1]!, c));
        closeSync(fd);
        if (++links > MAX_LINKS) throw Object.assign(new Error(`${path}: too many levels of symbolic links`), { code: 'ELOOP' });
        if (target.startsWith('/')) while (stack.length > 1) closeSync(stack.pop()!);
        queue.unshift(...target.split('/'));
        continue;
      }
      if (!last && !st.isDirectory()) {
        closeSync(fd);
        throw Object.assign(new Error(`${path}: not a directory`), { code: 'ENOTDIR' });
      }
      stack.push(fd);
    }
    const out = stack.pop()!;
    for (const fd of stack) closeSync(fd);
    stack.length = 0;
    return out;
  } finally {
    for (const fd of stack) closeSync(fd);
  }
}

/** A readable descriptor of the directory `path` in the root (for a child's working directory). */
export function openDirInRoot(root: string, path: string): number {
  const p = openInRoot(root, path, true);
  try {
    return openSync(self(p), fsc.O_RDONLY | fsc.O_DIRECTORY);
  } finally {
    closeSync(p);
  }
}

/**
 * Runs `tar ARGS` (which must name single members relative to its working
 * directory) in the directory `dir` of the root, its archive on our stdout.
 * Resolves with tar's exit status.
 */
export async function tarInRoot(root: string, dir: string, args: string[]): Promise<number> {
  const fd = openDirInRoot(root, dir);
  try {
    const child = spawn('tar', ['-C', '/proc/self/fd/3', ...args], { stdio: ['ignore', 'inherit', 'inherit', fd] });
    return await new Promise<number>((resolve) => {
      child.on('error', () => resolve(127));
      // Killed by SIGPIPE (the reader of the archive went away): the shell's 141, which the caller ends quietly on.
      child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGPIPE' ? 141 : 2)));
    });
  } finally {
    closeSync(fd);
  }
}

export interface ExtractInRootOptions {
  /** Give entries their numeric owners from the archive (else they belong to whoever extracts: container root). */
  sameOwner: boolean;
}

/** Components of an archive member's name; a leading "/" is dropped (as GNU tar does), ".." refused. */
function memberParts(name: string): string[] {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new InRootError(`archive member "${name}" points outside the destination (contains ..): refusing it`);
  return parts;
}

/**
 * Extracts a tar stream into the directory `dir` of the root: modes as
 * archived (setuid bits too), times, and with `sameOwner` the numeric
 * owners. Every entry is created relative to its parent's descriptor,
 * walked from `dir` without following any symlink: a parent that is not a
 * directory (a symlink swapped in meanwhile) refuses the copy.
 */
export async function extractInRoot(input: Readable, root: string, dir: string, o: ExtractInRootOptions): Promise<void> {
  const top = openInRoot(root, dir, true);
  if (!fstatSync(top).isDirectory()) {
    closeSync(top);
    throw new InRootError(`${dir}: not a directory`);
  }
  // Directories the archive names get their mode and times after their contents are written.
  const dirs: Array<{ parts: string[]; mode: number; mtime: Date }> = [];

  /** O_PATH descriptor of the directory that holds `parts`' last component; missing parents are made 0755. */
  const parentOf = (parts: string[], make: boolean): number => {
    let cur = openSync(self(top), O_PATH | fsc.O_DIRECTORY);
    try {
      for (const p of parts.slice(0, -1)) {
        let next: number;
        try {
          next = openSync(at(cur, p), O_PATH | fsc.O_NOFOLLOW);
        } catch (e) {
          if (errno(e) !== 'ENOENT' || !make) throw e;
          mkdirSync(at(cur, p), 0o755);
          next = openSync(at(cur, p), O_PATH | fsc.O_NOFOLLOW);
        }
        if (!fstatSync(next).isDirectory()) {
          closeSync(next);
          throw new InRootError(`cannot write "${parts.join('/')}": "${p}" is not a directory (it changed during the copy?): refusing to follow it`);
        }
        closeSync(cur);
        cur = next;
      }
      return cur;
    } catch (e) {
      closeSync(cur);
      throw e;
    }
  };

  const lstatAt = (pfd: number, name: string): Stats | undefined => {
    try { return lstatSync(at(pfd, name)); } catch { return undefined; }
  };
  /** Clears the way for a non-directory: an existing file or link goes (GNU tar's default); a directory stays and refuses. */
  const clear = (pfd: number, name: string, member: string) => {
    const st = lstatAt(pfd, name);
    if (!st) return;
    if (st.isDirectory()) {
      try { rmdirSync(at(pfd, name)); } catch {
        throw new InRootError(`cannot write "${member}": a directory of that name is in the way`);
      }
      return;
    }
    unlinkSync(at(pfd, name));
  };

  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    const fail = (e: unknown) => {
      stream.on('error', () => {});
      stream.resume();
      next(e instanceof InRootError ? e : new InRootError(`cannot write "${h.name}": ${(e as Error).message}`));
    };
    let pfd: number | undefined;
    try {
      const parts = memberParts(h.name);
      const mode = (h.mode ?? 0o644) & 0o7777;
      const mtime = h.mtime ?? new Date();
      const owner = (fn: (uid: number, gid: number) => void) => { if (o.sameOwner) fn(h.uid ?? 0, h.gid ?? 0); };
      if (!parts.length) {
        // "./": the destination directory itself.
        if (h.type === 'directory') dirs.push({ parts, mode, mtime });
        owner((u, g) => chownSync(self(top), u, g));
        stream.resume();
        next();
        return;
      }
      pfd = parentOf(parts, true);
      const name = parts[parts.length - 1]!;
      const path = at(pfd, name);
      switch (h.type) {
        case 'directory': {
          const st = lstatAt(pfd, name);
          if (!st?.isDirectory()) {
            if (st) unlinkSync(path);
            mkdirSync(path, 0o700);
          }
          owner((u, g) => lchownSync(path, u, g));
          dirs.push({ parts, mode, mtime });
          break;
        }
        case 'file':
        case 'contiguous-file': {
          clear(pfd, name, h.name);
          const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
          const parent = pfd;
          pfd = undefined;
          stream.on('data', (data: unknown) => {
            const chunk = data as Buffer;
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off);
          });
          stream.on('error', (e: Error) => { closeSync(fd); closeSync(parent); fail(e); });
          stream.on('end', () => {
            try {
              owner((u, g) => fchownSync(fd, u, g));
              // After chown, which clears setuid bits.
              fchmodSync(fd, mode);
              futimesSync(fd, mtime, mtime);
              closeSync(fd);
              closeSync(parent);
              next();
            } catch (e) {
              try { closeSync(fd); } catch { /* closed */ }
              closeSync(parent);
              fail(e);
            }
          });
          return;
        }
        case 'symlink':
          clear(pfd, name, h.name);
          symlinkSync(h.linkname ?? '', path);
          owner((u, g) => lchownSync(path, u, g));
          lutimesSync(path, mtime, mtime);
          break;
        case 'link': {
          const tparts = memberParts(h.linkname ?? '');
          if (!tparts.length) throw new InRootError(`hard link "${h.name}" has no target`);
          const tfd = parentOf(tparts, false);
          try {
            clear(pfd, name, h.name);
            linkSync(at(tfd, tparts[tparts.length - 1]!), path);
          } finally {
            closeSync(tfd);
          }
          break;
        }
        case 'fifo': {
          clear(pfd, name, h.name);
          const r = spawnFifo(pfd, name, mode);
          if (r) throw new InRootError(`cannot create fifo "${h.name}": ${r}`);
          owner((u, g) => lchownSync(path, u, g));
          break;
        }
        default:
          throw new InRootError(`cannot copy "${h.name}": ${h.type ?? 'an unknown entry type'} cannot be created in a container by an unprivileged user`);
      }
      closeSync(pfd);
      pfd = undefined;
      stream.resume();
      stream.on('end', () => next());
    } catch (e) {
      if (pfd !== undefined) closeSync(pfd);
      fail(e);
    }
  });
  try {
    await pipeline(input, extract);
    for (const d of dirs.reverse()) {
      const fd = d.parts.length ? openDirEntry(d.parts) : openSync(self(top), O_PATH | fsc.O_DIRECTORY);
      try {
        chmodSync(self(fd), d.mode);
        utimesSync(self(fd), d.mtime, d.mtime);
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    closeSync(top);
  }

  function openDirEntry(parts: string[]): number {
    const p = parentOf(parts, false);
    try {
      const fd = openSync(at(p, parts[parts.length - 1]!), O_PATH | fsc.O_NOFOLLOW);
      if (!fstatSync(fd).isDirectory()) {
        closeSync(fd);
        throw new InRootError(`"${parts.join('/')}" is no longer a directory (it changed during the copy?)`);
      }
      return fd;
    } finally {
      closeSync(p);
    }
  }
}

/** mkfifo relative to a descriptor: the child gets it as its fd 3. Returns why it failed, or undefined. */
function spawnFifo(pfd: number, name: string, mode: number): string | undefined {
  const r = spawnSync('mkfifo', ['-m', (mode & 0o777).toString(8), `/proc/self/fd/3/${name}`], { stdio: ['ignore', 'ignore', 'pipe', pfd], encoding: 'utf8' });
  return r.status === 0 ? undefined : (r.stderr || `exit status ${r.status}`).trim();
}
