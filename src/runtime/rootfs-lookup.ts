import { lstatSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { EngineError, EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND } from '../util/errors.js';
import type { MountRequest, ProcessUser } from './spec.js';

/**
 * Reads files of a container's root filesystem from the host side, as the
 * container would see them, without mounting it: layer directories are
 * searched top first as overlay stacks them (a whiteout hides what is
 * below), bind mounts are followed, and symlinks resolve inside the root
 * (an absolute target is relative to the root), never to the host's files.
 * Opaque directories are not honoured: a lookup may find a file overlay
 * would hide, never miss one it shows.
 */
export class RootfsView {
  /** `layers`: directories top first (a mounted root filesystem is one). */
  constructor(private readonly layers: string[], private readonly mounts: MountRequest[] = []) {}

  /** Host path for a container path, following symlinks inside the root; undefined if a component is missing. */
  resolve(path: string): string | undefined {
    let pending = path.split('/').filter(Boolean);
    let done: string[] = [];
    let links = 0;
    while (pending.length) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') { done.pop(); continue; }
      const hostPath = this.hostPath(done.concat(part));
      if (!hostPath) return undefined;
      let st: Stats;
      try { st = lstatSync(hostPath); } catch { return undefined; }
      if (st.isSymbolicLink()) {
        if (++links > 40) return undefined;
        const target = readlinkSync(hostPath);
        if (target.startsWith('/')) done = [];
        pending = target.split('/').filter(Boolean).concat(pending);
        continue;
      }
      done.push(part);
    }
    return this.hostPath(done);
  }

  /** Where container path components are on the host: in a bind mount's source, or the top layer that has them. */
  private hostPath(parts: string[]): string | undefined {
    const cpath = '/' + parts.join('/');
    let best: MountRequest | undefined;
    for (const m of this.mounts) {
      if (m.type !== 'bind') continue;
      if ((cpath === m.destination || cpath.startsWith(m.destination.replace(/\/$/, '') + '/')) &&
          (!best || m.destination.length > best.destination.length)) best = m;
    }
    if (best) return posix.join(best.source, cpath.slice(best.destination.length));
    if (this.layers.length === 1) return posix.join(this.layers[0]!, cpath);
    for (const layer of this.layers) {
      // Parents first, without following anything: a whiteout, file or
      // symlink there hides the lower layers (overlay shows the upper
      // directory), and lstat of the full path must never pass a symlink.
      let missing = false;
      for (let i = 1; i < parts.length; i++) {
        let st: Stats;
        try { st = lstatSync(posix.join(layer, ...parts.slice(0, i))); } catch { missing = true; break; }
        if (!st.isDirectory()) return undefined;
      }
      if (missing) continue;
      const p = posix.join(layer, cpath);
      let st: Stats;
      try { st = lstatSync(p); } catch { continue; }
      return isWhiteout(st) ? undefined : p;
    }
    return undefined;
  }

  readText(path: string): string | undefined {
    const p = this.resolve(path);
    if (!p) return undefined;
    try { return readFileSync(p, 'utf8'); } catch { return undefined; }
  }

  stat(path: string): Stats | undefined {
    const p = this.resolve(path);
    if (!p) return undefined;
    try { return statSync(p); } catch { return undefined; }
  }

  /** True when the path is covered by a tmpfs the container mounts: we cannot look inside it from here. */
  underTmpfs(path: string): boolean {
    return this.mounts.some((m) => m.type === 'tmpfs' && (path === m.destination || path.startsWith(m.destination + '/')));
  }
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

function parsePasswd(text: string | undefined): PasswdEntry[] {
  if (!text) return [];
  return text.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 7)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

function parseGroup(text: string | undefined): GroupEntry[] {
  if (!text) return [];
  return text.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').filter(Boolean) }));
}

const NUMERIC = /^\d+$/;

/**
 * Resolves `-u`/USER ("name", "uid", "name:group", "uid:gid") against the
 * image's /etc/passwd and /etc/group, as Docker does.
 */
export function resolveUser(spec: string, view: RootfsView, idLimit: number): ProcessUser {
  const [userPart = '', groupPart] = (spec || '0').split(':', 2);
  const passwd = parsePasswd(view.readText('/etc/passwd'));
  const groups = parseGroup(view.readText('/etc/group'));

  let uid: number;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  const byUid = NUMERIC.test(userPart) ? passwd.find((p) => p.uid === Number(userPart)) : passwd.find((p) => p.name === userPart);
  if (byUid) {
    ({ uid, gid, home, name } = byUid);
  } else if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    if (uid === 0) home = '/root';
  } else {
    throw new EngineError(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new EngineError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  for (const [what, id] of [['uid', uid], ['gid', gid]] as const) {
    if (id >= idLimit) {
      throw new EngineError(`${what} ${id} is outside the ${idLimit} ids your user namespace maps: use a smaller id, or ask an admin for a larger range in /etc/subuid and /etc/subgid`);
    }
  }
  const additionalGids = name
    ? groups.filter((g) => g.members.includes(name!) && g.gid !== gid && g.gid < idLimit).map((g) => g.gid)
    : [];
  return { uid, gid, additionalGids, home };
}

export interface ExecCheck {
  code: number;
  message: string;
}

/**
 * Looks the command up as execve would in the container, so a missing or
 * non-executable command gets Docker's exit code (127 or 126) and one line,
 * not the runtime's error. Returns undefined when it is (or may be) fine.
 */
export function checkExecutable(cmd: string, env: string[], cwd: string, view: RootfsView): ExecCheck | undefined {
  const notFound = (what: string): ExecCheck => ({ code: EXIT_NOT_FOUND, message: what });
  const candidates: string[] = [];
  if (cmd.includes('/')) {
    candidates.push(posix.resolve(cwd, cmd));
  } else {
    const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '';
    for (const dir of pathVar.split(':')) if (dir) candidates.push(posix.resolve(cwd, dir, cmd));
  }
  let sawNonExecutable: string | undefined;
  for (const c of candidates) {
    if (view.underTmpfs(c)) return undefined;
    const st = view.stat(c);
    if (!st) continue;
    if (st.isDirectory()) {
      if (cmd.includes('/')) return { code: EXIT_CANNOT_EXECUTE, message: `exec: "${cmd}": is a directory: permission denied` };
      continue;
    }
    if (st.isFile() && (st.mode & 0o111) !== 0) return undefined;
    sawNonExecutable ??= c;
  }
  if (sawNonExecutable) return { code: EXIT_CANNOT_EXECUTE, message: `exec: "${cmd}": permission denied` };
  if (cmd.includes('/')) return notFound(`exec: "${cmd}": stat ${cmd}: no such file or directory`);
  return notFound(`exec: "${cmd}": executable file not found in $PATH`);
}
