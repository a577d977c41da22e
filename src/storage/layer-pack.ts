import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable, type Writable } from 'node:stream';
import * as tar from 'tar-stream';
import { containerChanges, LayerStack, type ChangesInput } from './changes.js';

/**
 * The layers `build` makes, written as OCI layer tars by rootlet's helper
 * inside the user's namespace (where every file is readable and owners
 * are the ids the container sees): the changes of a RUN step's container,
 * and the files of a COPY/ADD. The engine then stores the tar as any
 * layer (storeLayer), so a built layer is extracted and checked by the
 * same code as a pulled one.
 */

export interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  linkname?: string;
  content?: Buffer;
  /** A file's security.capability xattr, byte for byte. */
  capability?: Buffer;
}

/** The ustar header of a PAX extended header ('x') of `size` bytes. */
function paxHeaderBlock(size: number, mtime: Date): Buffer {
  const b = Buffer.alloc(512);
  const octal = (off: number, len: number, n: number) => b.write(`${n.toString(8).padStart(len - 1, '0')}\0`, off, 'latin1');
  b.write('PaxHeader', 0, 'latin1');
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, Math.max(0, Math.floor(mtime.getTime() / 1000)));
  b.write('x', 156, 'latin1');
  b.write('ustar\x0000', 257, 'latin1');
  // The checksum is summed with its own field as spaces.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** One PAX record, `LEN key=value\n`, where LEN counts the record's bytes, itself included. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return Buffer.concat([Buffer.from(String(len)), rest]);
}

/** Writes entries to a tar file; the hash covers names, types, modes, owners, link targets and contents, not times (the build cache's key). */
class TarWriter {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;
  readonly hash: Hash = createHash('sha256');
  entries = 0;

  /** out: a file, or a stream (the helper that extracts while packing, storage/pack-store.ts). */
  constructor(out: string | Writable) {
    const ws = typeof out === 'string' ? createWriteStream(out, { mode: 0o600 }) : out;
    this.done = new Promise((resolve, reject) => {
      ws.on(typeof out === 'string' ? 'close' : 'finish', () => resolve());
      ws.on('error', reject);
      this.pack.on('error', reject);
    });
    this.pack.pipe(ws);
  }

  async add(e: TarEntry): Promise<void> {
    this.entries++;
    this.hash.update(JSON.stringify([e.name, e.type, e.mode & 0o7777, e.uid, e.gid, e.linkname ?? '', e.content?.length ?? 0, e.capability?.toString('hex') ?? '']));
    if (e.content) this.hash.update(e.content);
    let name = e.name;
    if (e.capability) {
      // tar-stream writes PAX values as UTF-8 text, which would change a capability's bytes above 0x7f:
      // the entry's PAX header is written here, byte for byte, with the path in it. The entry's own
      // header then gets a name tar-stream can write without a PAX header of its own, which would
      // replace this one (a reader applies the last).
      const records = Buffer.concat([paxRecord('path', Buffer.from(e.name)), paxRecord('SCHILY.xattr.security.capability', e.capability)]);
      // tar-stream writes no body for a header that is not a file's: the block goes into its output
      // directly, between two entries (the last one's bytes are all out once its callback has run).
      this.pack.push(Buffer.concat([paxHeaderBlock(records.length, e.mtime), records, Buffer.alloc((512 - (records.length % 512)) % 512)]));
      if (!/^[\x20-\x7e]{1,100}$/.test(name)) name = 'PaxHeader/file';
    }
    await new Promise<void>((resolve, reject) => {
      this.pack.entry({
        name, type: e.type, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: e.mtime,
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
        size: e.type === 'file' ? (e.content?.length ?? 0) : 0,
      }, e.type === 'file' ? (e.content ?? Buffer.alloc(0)) : '', (err) => (err ? reject(err) : resolve()));
    });
  }

  async finish(): Promise<{ hash: string; entries: number }> {
    this.pack.finalize();
    await this.done;
    return { hash: `sha256:${this.hash.digest('hex')}`, entries: this.entries };
  }
}

function entryOf(name: string, st: Stats, host: string, links: Map<string, string>): TarEntry {
  const base = { name, mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime };
  if (st.isDirectory()) return { ...base, type: 'directory' };
  if (st.isSymbolicLink()) return { ...base, type: 'symlink', linkname: readlinkSync(host) };
  if (!st.isFile()) throw new Error(`${name}: only files, directories and symlinks can be in a built layer`);
  if (st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = links.get(key);
    if (first) return { ...base, type: 'link', linkname: first };
    links.set(key, name);
  }
  return { ...base, type: 'file', content: readFileSync(host) };
}

/**
 * A RUN step's layer: what the container changed (storage/changes.ts, as
 * `diff` reports it), added and changed files as they are in its upper
 * directory, deletions as OCI whiteouts. Directories the runtime made only
 * to mount something on (/run/secrets, a cache mount's target) are left
 * out, as their mount points are.
 */
export async function packChanges(input: ChangesInput & { capped: Map<string, Buffer> }, out: string | Writable): Promise<{ hash: string; entries: number }> {
  const changes = containerChanges(input);
  const keep = changes.filter((c) => {
    if (c.kind !== 'A') return true;
    const ignoredBelow = [...input.ignore].some((i) => i.startsWith(`${c.path}/`));
    if (!ignoredBelow) return true;
    // An added directory that holds nothing but mount points.
    return changes.some((o) => o !== c && o.path.startsWith(`${c.path}/`) && ![...input.ignore].some((i) => i === o.path || i.startsWith(`${o.path}/`)));
  });
  const w = new TarWriter(out);
  const links = new Map<string, string>();
  for (const c of keep) {
    const name = c.path.slice(1);
    if (c.kind === 'D') {
      await w.add({ name: posix.join(posix.dirname(name), `.wh.${posix.basename(name)}`), type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: new Date(0) });
      continue;
    }
    const host = posix.join(input.top, c.path);
    const e = entryOf(name, lstatSync(host), host, links);
    // File capabilities (setcap in a RUN) are kept as Docker keeps them: a SCHILY.xattr PAX record.
    const capability = e.type === 'file' ? input.capped.get(c.path) : undefined;
    await w.add(capability ? { ...e, capability } : e);
  }
  return w.finish();
}

/** A tree that COPY reads from: the build context (a directory) or an image's or stage's layers. */
interface SourceView {
  lstat(path: string): Stats | undefined;
  list(path: string): string[];
  host(path: string): string;
}

function dirView(root: string): SourceView {
  return {
    lstat: (p) => { try { return lstatSync(posix.join(root, p)); } catch { return undefined; } },
    list: (p) => readdirSync(posix.join(root, p)).sort(),
    host: (p) => posix.join(root, p),
  };
}

function layersView(layers: string[]): SourceView {
  const stack = new LayerStack(layers);
  return {
    lstat: (p) => (p === '/' || p === '' ? lstatSync(layers[layers.length - 1]!) : stack.lookup(p)?.st),
    list: (p) => stack.list(p).sort(),
    host: (p) => stack.lookup(p)!.host,
  };
}

/** Follows symlinks of a container path inside the layers (never out of them); the real path. */
export function resolveInLayers(layers: string[], path: string): string {
  if (!layers.length) return posix.normalize(path);
  const stack = new LayerStack(layers);
  let parts = path.split('/').filter(Boolean);
  let done: string[] = [];
  let hops = 0;
  while (parts.length) {
    const p = parts.shift()!;
    if (p === '.') continue;
    if (p === '..') { done.pop(); continue; }
    const cur = `/${[...done, p].join('/')}`;
    const found = stack.lookup(cur);
    if (found?.st.isSymbolicLink() && hops++ < 40) {
      const target = readlinkSync(found.host);
      parts = [...target.split('/').filter(Boolean), ...parts];
      if (target.startsWith('/')) done = [];
      continue;
    }
    done.push(p);
  }
  return `/${done.join('/')}`;
}

export interface CopyInput {
  /** The tar to write (a file, or the stream of storage/pack-store.ts). */
  out: string | Writable;
  /** Where sources are read: the context directory, or layers (top first) of a stage or image. */
  from: { dir: string } | { layers: string[] };
  /** Source patterns relative to the context (or the image's root), after variable expansion. */
  sources: string[];
  /** Here-document files: name (the destination's base name when it names a file) and body. */
  inline?: Array<{ name: string; body: string }>;
  /** The destination as written (absolute, WORKDIR applied), a trailing / kept. */
  dest: string;
  /** The layers of the image being built, top first (the destination's parents and /etc/passwd). */
  destLayers: string[];
  chown?: string;
  chmod?: string;
  /** .dockerignore/.containerignore patterns (context only). */
  ignore: string[];
  /** ADD: a local tar archive (plain or gzip) is extracted at the destination. */
  extractArchives: boolean;
}

/** Go's filepath.Match, plus `**` for any number of directories (.dockerignore). */
export function globRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') { i++; re += '(?:.*/)?'; } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new Error(`bad pattern "${pattern}": unclosed [`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Docker's .dockerignore: the last matching pattern wins; `!` re-includes; a match of a parent excludes what is below. */
export function ignoreMatcher(patterns: string[]): (path: string) => boolean {
  const rules = patterns
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const p = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, re: globRegex(p) };
    });
  if (!rules.length) return () => false;
  return (path: string) => {
    const parts = path.split('/').filter(Boolean);
    let excluded = false;
    for (const r of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (r.re.test(parts.slice(0, n).join('/'))) { excluded = !r.negate; break; }
      }
    }
    return excluded;
  };
}

function lookupIds(layers: string[], file: string, name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  const found = layers.length ? new LayerStack(layers).lookup(file) : undefined;
  if (!found) return undefined;
  for (const line of readFileSync(found.host, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined) return Number(f[2]);
  }
  return undefined;
}

/** --chown=user[:group], names looked up in the image's /etc/passwd and /etc/group, as Docker does. */
export function chownIds(layers: string[], spec: string): { uid: number; gid: number } {
  const [u, g] = spec.split(':') as [string, string | undefined];
  const uid = lookupIds(layers, '/etc/passwd', u);
  if (uid === undefined) throw new Error(`--chown: no user "${u}" in the image's /etc/passwd`);
  let gid: number | undefined;
  if (g !== undefined) {
    gid = lookupIds(layers, '/etc/group', g);
    if (gid === undefined) throw new Error(`--chown: no group "${g}" in the image's /etc/group`);
  } else if (/^\d+$/.test(u)) gid = uid;
  else {
    // A user name alone: the user's primary group.
    const found = new LayerStack(layers).lookup('/etc/passwd');
    const line = found && readFileSync(found.host, 'utf8').split('\n').find((l) => l.split(':')[0] === u);
    gid = Number(line?.split(':')[3] ?? uid);
  }
  return { uid, gid };
}

function isArchive(head: Buffer): 'gzip' | 'tar' | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

/** COPY's sources: each pattern expanded against the tree (the ignore file applied); a missing one is an error. */
function expandSources(view: SourceView, sources: string[], ignored: (p: string) => boolean, where: string): string[] {
  const found: string[] = [];
  for (const src of sources) {
    const clean = posix.normalize(`/${src}`);
    if (!/[*?[]/.test(src)) {
      if (!view.lstat(clean) || (clean !== '/' && ignored(clean.slice(1)))) throw new Error(`${src}: no such file or directory in the ${where}`);
      found.push(clean);
      continue;
    }
    const parts = clean.split('/').filter(Boolean);
    let cur = ['/'];
    for (const part of parts) {
      const re = globRegex(part);
      const next: string[] = [];
      for (const dir of cur) {
        const st = view.lstat(dir);
        if (!st?.isDirectory()) continue;
        for (const n of view.list(dir)) if (re.test(n)) next.push(posix.join(dir, n));
      }
      cur = next;
    }
    const hits = cur.filter((p) => !ignored(p.slice(1)));
    if (!hits.length) throw new Error(`${src}: no source files were specified (the pattern matches nothing in the ${where})`);
    found.push(...hits);
  }
  return found;
}

/**
 * The build cache's hash of what a COPY from the context would copy (names,
 * types, modes, sizes, contents, link targets; not times), read in the
 * caller's own process: the context is the user's, so a cache hit needs no
 * helper in the namespace. Errors are those packCopy would give.
 */
export function hashContextSources(dir: string, sources: string[], ignore: string[]): string {
  const view = dirView(dir);
  const ignored = ignoreMatcher(ignore);
  const h = createHash('sha256');
  const walk = (p: string) => {
    const st = view.lstat(p)!;
    h.update(JSON.stringify([p, st.mode, st.isFile() ? st.size : 0]));
    if (st.isSymbolicLink()) h.update(readlinkSync(view.host(p)));
    else if (st.isFile()) h.update(readFileSync(view.host(p)));
    else if (st.isDirectory()) {
      for (const n of view.list(p)) {
        const child = posix.join(p, n);
        if (!ignored(child.slice(1))) walk(child);
      }
    }
  };
  for (const p of expandSources(view, sources, ignored, 'build context')) walk(p);
  return `sha256:${h.digest('hex')}`;
}

/**
 * A COPY or ADD step's layer: the sources (globs expanded, the ignore file
 * applied; a directory's contents, not itself), at the destination by
 * Docker's rules, owned by root or --chown, with --chmod's mode; the
 * destination's parents as the image has them (made 0755 root when
 * missing). ADD extracts a local tar archive, keeping its owners.
 */
export async function packCopy(input: CopyInput): Promise<{ hash: string; entries: number }> {
  const view = 'dir' in input.from ? dirView(input.from.dir) : layersView(input.from.layers);
  const ignored = 'dir' in input.from ? ignoreMatcher(input.ignore) : () => false;
  const owner = input.chown ? chownIds(input.destLayers, input.chown) : { uid: 0, gid: 0 };
  const chmod = input.chmod === undefined ? undefined : parseInt(input.chmod, 8);
  if (input.chmod !== undefined && (!/^[0-7]{3,4}$/.test(input.chmod))) throw new Error(`--chmod=${input.chmod}: give an octal mode such as 755`);

  const found = expandSources(view, input.sources, ignored, 'dir' in input.from ? 'build context' : 'source image');

  const many = found.length + (input.inline?.length ?? 0) > 1;
  const destDirForm = input.dest.endsWith('/') || input.dest.endsWith('/.');
  const destReal = resolveInLayers(input.destLayers, input.dest);
  const stack = input.destLayers.length ? new LayerStack(input.destLayers) : undefined;
  const destExisting = stack?.lookup(destReal);
  if (many && !destDirForm && !destExisting?.st.isDirectory()) throw new Error(`When using COPY with more than one source file, the destination must be a directory and end with a /`);

  const w = new TarWriter(input.out);
  const written = new Set<string>();
  const links = new Map<string, string>();
  const now = new Date();

  /** The parents of a container path, as the image has them or new. */
  const parents = async (path: string) => {
    const parts = path.split('/').filter(Boolean);
    for (let n = 1; n < parts.length; n++) {
      const p = `/${parts.slice(0, n).join('/')}`;
      if (written.has(p)) continue;
      written.add(p);
      const have = stack?.lookup(p);
      if (have && have.st.isDirectory()) await w.add({ name: p.slice(1), type: 'directory', mode: have.st.mode, uid: have.st.uid, gid: have.st.gid, mtime: have.st.mtime });
      // Made new: owned by --chown's user, as Podman makes them.
      else await w.add({ name: p.slice(1), type: 'directory', mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: now });
    }
  };

  const addOne = async (target: string, e: Omit<TarEntry, 'name'>) => {
    await parents(target);
    written.add(target);
    const mode = chmod !== undefined ? chmod : e.mode;
    await w.add({ ...e, name: target.slice(1), mode, uid: input.chown ? owner.uid : e.uid, gid: input.chown ? owner.gid : e.gid });
  };

  /** The destination directory: as the image has it, or new (then owned by --chown's user, as Podman makes it). */
  const addDestDir = async () => {
    if (written.has(destReal)) return;
    if (destExisting?.st.isDirectory()) {
      await parents(destReal);
      written.add(destReal);
      await w.add({ name: destReal.slice(1), type: 'directory', mode: destExisting.st.mode, uid: destExisting.st.uid, gid: destExisting.st.gid, mtime: destExisting.st.mtime });
      return;
    }
    await addOne(destReal, { type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: now });
  };

  const copyTree = async (srcPath: string, target: string) => {
    const st = view.lstat(srcPath)!;
    const e = entryOf(target.slice(1), st, view.host(srcPath), links);
    // COPY gives new files to root unless --chown (the source's owner is the user's, not the image's).
    await addOne(target, { ...e, uid: 0, gid: 0 });
    if (!st.isDirectory()) return;
    for (const n of view.list(srcPath)) {
      const child = posix.join(srcPath, n);
      if (ignored(child.slice(1))) continue;
      await copyTree(child, posix.join(target, n));
    }
  };

  const extractArchive = async (host: string, target: string) => {
    let data = readFileSync(host);
    const input2 = isArchive(data) === 'gzip' ? Readable.from(data).pipe(createGunzip()) : Readable.from(data);
    const ex = tar.extract();
    const done = new Promise<void>((resolve, reject) => { ex.on('finish', resolve); ex.on('error', reject); input2.on('error', reject); });
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => { chunks.push(c as Buffer); });
      stream.on('end', () => {
        const parts = (h.name ?? '').split('/').filter((p) => p && p !== '.');
        if (parts.includes('..')) { next(); return; }
        if (!parts.length) {
          // The archive's own root: the destination directory takes its owner and mode (unless it exists).
          if (h.type !== 'directory' || destExisting?.st.isDirectory() || written.has(target)) { next(); return; }
          addOne(target, { type: 'directory', mode: h.mode ?? 0o755, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime ?? now }).then(() => next(), (err) => ex.destroy(err as Error));
          return;
        }
        const t = posix.join(target, ...parts);
        const type = h.type === 'directory' ? 'directory' : h.type === 'symlink' ? 'symlink' : h.type === 'link' ? 'link' : 'file';
        const linkname = type === 'link' ? posix.join(target, h.linkname ?? '').slice(1) : h.linkname ?? undefined;
        addOne(t, { type, mode: h.mode ?? 0o644, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime ?? now, ...(linkname !== undefined ? { linkname } : {}), ...(type === 'file' ? { content: Buffer.concat(chunks) } : {}) })
          .then(() => next(), (err) => ex.destroy(err as Error));
      });
      stream.resume();
    });
    input2.pipe(ex);
    await done;
    data = Buffer.alloc(0);
  };

  for (const src of found) {
    const st = view.lstat(src)!;
    if (st.isDirectory()) {
      // A directory's contents go into the destination, which becomes a directory.
      if (destReal !== '/') await addDestDir();
      for (const n of view.list(src)) {
        const child = posix.join(src, n);
        if (ignored(child.slice(1))) continue;
        await copyTree(child, posix.join(destReal, n));
      }
      continue;
    }
    if (input.extractArchives && st.isFile()) {
      const kind = isArchive(readFileSync(view.host(src)).subarray(0, 512));
      if (kind) {
        await extractArchive(view.host(src), destReal);
        continue;
      }
    }
    const target = many || destDirForm || destExisting?.st.isDirectory() ? posix.join(destReal, posix.basename(src)) : destReal;
    await copyTree(src, target);
  }
  for (const f of input.inline ?? []) {
    const target = many || destDirForm || destExisting?.st.isDirectory() ? posix.join(destReal, f.name) : destReal;
    await addOne(target, { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: now, content: Buffer.from(f.body) });
  }
  return w.finish();
}
