import { posix } from 'node:path';
import type { EntryType } from '../../runtime/stat-in-root.js';
import { EngineError } from '../../util/errors.js';

/** What is copied: a file or directory, or (`contents`, SRC ending in "/." ) what a directory holds. */
export interface CopySource {
  /** As the user wrote it, for messages. */
  given: string;
  type: EntryType;
  contents: boolean;
  /** SRC ended in "/": it must be a directory. */
  trailingSlash: boolean;
  /** The name the copy gets when it keeps its own: SRC's last component as given. */
  name: string;
}

/** Where it goes, looked up with symlinks followed. */
export interface CopyDest {
  given: string;
  /** The destination path, absolute (in the container or on the host). */
  path: string;
  type?: EntryType;
  parentExists: boolean;
  trailingSlash: boolean;
}

export interface CopyPlan {
  /** The directory the archive is extracted in. */
  extractDir: string;
  /** The name of the archive's top entry there; undefined: a directory's contents land in extractDir itself. */
  name?: string;
}

/**
 * `docker cp`'s rules for where a copy lands: into an existing directory
 * under its own name (or, for "SRC/.", its contents into it); over an
 * existing file (never a directory over a file); else as a new DEST whose
 * parent must exist. A DEST ending in "/" must be a directory.
 */
export function planCopy(src: CopySource, dest: CopyDest): CopyPlan {
  const srcIsDir = src.type === 'dir';
  if ((src.contents || src.trailingSlash) && !srcIsDir) throw new EngineError(`${src.given}: not a directory`, 1);
  if (dest.type === 'dir') return src.contents ? { extractDir: dest.path } : { extractDir: dest.path, name: src.name };
  if (dest.type) {
    if (dest.trailingSlash) throw new EngineError(`${dest.given}: not a directory`, 1);
    if (srcIsDir) throw new EngineError(`cannot copy a directory to a file: ${dest.given} exists and is not a directory`, 1);
    return { extractDir: posix.dirname(dest.path), name: posix.basename(dest.path) };
  }
  if (!dest.parentExists) throw new EngineError(`${posix.dirname(dest.given) || '.'}: no such directory`, 1);
  if (dest.trailingSlash && !srcIsDir) throw new EngineError(`${dest.given}: no such directory (a destination ending in / must be an existing directory)`, 1);
  return { extractDir: posix.dirname(dest.path), name: posix.basename(dest.path) };
}

/** A literal for a basic regular expression of tar's --transform, with "," as its delimiter. */
function bre(s: string): string {
  return s.replace(/[\\.*[\]^$,]/g, '\\$&');
}

function replacement(s: string): string {
  return s.replace(/[\\&,]/g, '\\$&');
}

/**
 * tar options that rename an archive's top entry `member` (and everything
 * under it) to `name`; symlink targets are left alone, hard link targets
 * follow (they name entries of the archive).
 */
export function renameTop(member: string, name: string | undefined): string[] {
  if (name === undefined || name === member) return [];
  return [`--transform=s,^${bre(member)}/,${replacement(name)}/,S`, `--transform=s,^${bre(member)}$,${replacement(name)},S`];
}
