import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { lastLine } from '../../rootless/userns.js';
import type { EntryType, RootEntry } from '../../runtime/stat-in-root.js';
import { runCaptureAsync } from '../../util/proc.js';
import { spawnCollecting, spawnJoined, type CallerEnd } from '../../util/spawn-wait.js';
import type { CallerContext } from '../context.js';
import { openRootfs, type RootfsAccess } from './rootfs.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { planCopy, renameTop, type CopySource } from './copy-plan.js';
import { tarFailure } from './tar-status.js';

export interface CopyOptions {
  /** -L: follow a symlink given as SRC. */
  follow: boolean;
  /** -a: keep numeric owners when copying into the container (else container root owns the copies). */
  archive: boolean;
}

/** Where a path given as SRC or DEST points: "dir/." and "/" mean a directory's contents. */
function parsePath(p: string): { path: string; contents: boolean; trailingSlash: boolean; name: string } {
  const contents = p === '/' || p.endsWith('/.') || p === '.';
  const trailingSlash = p.endsWith('/');
  const path = posix.normalize(p);
  return { path, contents, trailingSlash, name: posix.basename(path) };
}

function typeOf(st: Stats): EntryType {
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return st.isFile() ? 'file' : 'other';
}

function hostType(path: string, follow: boolean): EntryType | undefined {
  try { return typeOf(follow ? statSync(path) : lstatSync(path)); } catch { /* missing, or a dangling link */ }
  try { return typeOf(lstatSync(path)); } catch { return undefined; }
}

async function statInContainer(engine: Engine, access: RootfsAccess, path: string, follow: boolean): Promise<RootEntry> {
  const r = await runCaptureAsync('nsenter', access.nsenter(engine.helperCommand('__stat-in-root', [access.root, path, follow ? '1' : '0'])), { env: engine.helperEnv() });
  if (r.code !== 0) throw new EngineError(`cannot look up ${path} in the container: ${lastLine(r.stderr) || `exit status ${r.code}`}`, 1);
  return JSON.parse(r.stdout) as RootEntry;
}

interface Cmd { cmd: string; args: string[] }

/**
 * Runs `first | second` (without `second`, first writes to `out`; with
 * `stdin`, first reads it) and turns a failure of either into one line.
 */
async function pipeTar(first: Cmd & { stdin?: CallerEnd | 'ignore' }, second: Cmd | undefined, what: string, out?: CallerEnd): Promise<void> {
  const a = spawnJoined(first.cmd, first.args, first.stdin ?? 'ignore', second ? 'pipe' : out ?? 'ignore');
  // The pipe's own descriptor is handed to `second` as is.
  const b = second && spawnCollecting(second.cmd, second.args, a.child.stdout!, 'ignore');
  // The pipe is the children's now: our end would keep `first` from closing.
  if (b) a.child.stdout!.destroy();
  const [ra, rb] = await Promise.all([a.done, b?.done]);
  // The reader's error says why; the writer then only saw a broken pipe.
  const err = (rb && tarFailure(rb, what)) ?? tarFailure(ra, what);
  if (err) throw err;
}

/** The caller's output and input as a child's: its descriptor when it has one. */
function callerOut(ctx: CallerContext): CallerEnd {
  return ctx.streams.fds?.stdout ?? ctx.streams.stdout;
}

function callerIn(ctx: CallerContext): CallerEnd | 'ignore' {
  return ctx.streams.fds?.stdin ?? ctx.streams.stdin ?? 'ignore';
}

function tarCreate(dir: string, member: string, rename: string | undefined): string[] {
  return ['tar', '-C', dir, '-cf', '-', '--numeric-owner', ...renameTop(member, rename), '--', member];
}

/**
 * `cp CONTAINER:SRC DEST`: the host's tar reads the container's files from
 * inside the user's namespace (so it may read every container user's files
 * and records owners as the container knows them), and a tar of the user
 * writes them on the host, owned by the user. DEST "-" writes the archive
 * to the caller's output; a relative DEST is the caller's.
 *
 * SRC is resolved inside the container's root, and read from there
 * without following a symlink the container swaps in while the copy runs:
 * tar starts in a directory opened inside the root and walks below it
 * relative to directory descriptors (runtime/in-root.ts). Nothing of the
 * host outside the destination is ever read or written.
 */
export async function copyFromContainer(engine: Engine, rec: ContainerRecord, src: string, dest: string, o: CopyOptions, ctx: CallerContext): Promise<void> {
  const s = parsePath(src);
  const access = openRootfs(engine, rec);
  try {
    const found = await statInContainer(engine, access, s.path, o.follow);
    if (!found.type) throw new EngineError(`Could not find the file ${src} in container ${rec.name}`, 1);
    const member = s.contents ? '.' : posix.basename(found.path);
    const sourceDir = s.contents ? found.path : posix.dirname(found.path);
    // tar runs in the source directory, opened inside the root (see runtime/in-root.ts), and walks below it without following symlinks.
    const from = (rename?: string) => ({ cmd: 'nsenter', args: access.nsenter(engine.helperCommand('__tar-in-root', [access.root, sourceDir, ...tarCreate('.', member, rename).slice(3)])) });
    if (dest === '-') {
      await pipeTar(from(s.contents ? undefined : s.name), undefined, `cannot copy ${src} from container ${rec.name}`, callerOut(ctx));
      return;
    }
    const d = parsePath(dest);
    const abs = posix.resolve(ctx.cwd, d.path);
    const plan = planCopy({ given: src, type: found.type, contents: s.contents, trailingSlash: s.trailingSlash, name: s.name } satisfies CopySource, {
      given: dest, path: abs, type: hostType(abs, true), parentExists: hostType(posix.dirname(abs), true) === 'dir', trailingSlash: d.trailingSlash,
    });
    // Modes as they were (-p); owners are the user's: the host side never chowns.
    await pipeTar(from(plan.name), { cmd: 'tar', args: ['-x', '-f', '-', '-p', '--no-same-owner', '-C', plan.extractDir] }, `cannot copy ${src} from container ${rec.name}`);
  } finally {
    access.close();
  }
}

/** A path in the container as the API's archive endpoints report it (the last component not followed); undefined when it does not exist. */
export async function statContainerPath(engine: Engine, rec: ContainerRecord, path: string): Promise<RootEntry | undefined> {
  const access = openRootfs(engine, rec);
  try {
    const e = await statInContainer(engine, access, path, false);
    return e.type ? e : undefined;
  } finally {
    access.close();
  }
}

/**
 * `cp SRC CONTAINER:DEST`: the user's tar reads SRC, rootlet's helper
 * writes it into the container from inside the user's namespace, as
 * container root: the copies belong to root in the container (with
 * `archive`, to the numeric owners SRC has). Each entry is created relative
 * to its parent directory's descriptor, walked inside the root without
 * following symlinks, so a container that swaps a directory for a symlink
 * mid-copy cannot redirect a write to the host (runtime/in-root.ts).
 * SRC "-" reads an archive from the caller's input into DEST, which must
 * be a directory.
 */
export async function copyToContainer(engine: Engine, rec: ContainerRecord, src: string, dest: string, o: CopyOptions, ctx: CallerContext): Promise<void> {
  const d = parsePath(dest);
  const access = openRootfs(engine, rec);
  try {
    if (!access.running && rec.spec.readOnly) {
      throw new EngineError(`container ${rec.name}'s root file system is read-only (--read-only): copy into a volume of the running container instead`, 1);
    }
    const target = await statInContainer(engine, access, d.path, true);
    // Extracted by rootlet's helper, each entry relative to its parent's descriptor inside the root (runtime/in-root.ts): GNU tar would follow a swapped-in symlink.
    const to = (dir: string) => ({ cmd: 'nsenter', args: access.nsenter(engine.helperCommand('__extract-in-root', [access.root, dir, o.archive ? '1' : '0'])) });
    const what = `cannot copy ${src} into container ${rec.name}`;
    if (src === '-') {
      if (target.type !== 'dir') throw new EngineError(`${dest}: ${target.type ? 'not a directory' : 'no such directory'} (an archive from stdin is extracted into a directory)`, 1);
      await pipeTar({ ...to(target.path), stdin: callerIn(ctx) }, undefined, what);
      return;
    }
    const s = parsePath(src);
    const abs = posix.resolve(ctx.cwd, s.path);
    const type = hostType(abs, o.follow);
    if (!type) throw new EngineError(`lstat ${src}: no such file or directory`, 1);
    // -L copies what a symlink points to, under the link's name.
    const real = o.follow && type !== 'symlink' ? realpathSync(abs) : abs;
    const member = s.contents ? '.' : posix.basename(real);
    const sourceDir = s.contents ? real : posix.dirname(real);
    const plan = planCopy({ given: src, type, contents: s.contents, trailingSlash: s.trailingSlash, name: s.name }, {
      given: dest, path: target.path, type: target.type, parentExists: target.parentExists, trailingSlash: d.trailingSlash,
    });
    await pipeTar({ cmd: 'tar', args: tarCreate(sourceDir, member, plan.name).slice(1) }, to(plan.extractDir), what);
  } finally {
    access.close();
  }
}
