import { createHash, type Hash } from 'node:crypto';
import {
  chmodSync, closeSync, createReadStream, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync,
  lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, unlinkSync, writeSync, type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { type Duplex, PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { runCapture } from '../util/proc.js';
import { SparseError, sparsePlanOf, SparseWriter, TarFramer } from './tar-sparse.js';
import { isZstd, zstdDecompressor, ZstdError } from './zstd.js';

/**
 * Extracts one image layer into an empty directory. It runs inside the
 * user's namespace so that ownership lands on subordinate ids.
 *
 * Safety: an entry name with `..` is refused; every parent of an entry
 * must be a real directory of this layer, never a symlink, so nothing is
 * written outside `dest` whatever the tar says. OCI whiteouts become
 * overlay's native ones (a 0/0 character device, the user.overlay.opaque
 * xattr), so the layer can be an overlay lower directory as it is. GNU
 * sparse files (old GNU and PAX 0.0, 0.1, 1.0) get their holes back.
 */

export interface ExtractOptions {
  /** Container ids 0..idLimit-1 exist in the namespace; others cannot own a file. */
  idLimit: number;
  /** What to do with an owner id at or above idLimit. */
  outsideIds: 'fail' | 'root';
  /** Copy the raw input (as read, compressed or not) to this file while extracting. */
  blobOut?: string;
}

export interface ExtractResult {
  /** sha256 of the input as read: the blob digest. */
  digest: string;
  /** sha256 of the uncompressed tar: the layer's diff id. */
  diffId: string;
  blobSize: number;
  tarSize: number;
  entries: number;
  /** Entries whose owner was outside the mapping and became root. */
  remapped: number;
  /** Device nodes that a user namespace cannot create, left out. */
  skippedDevices: number;
}

/** One-line error naming the offending entry; the caller deletes the partial directory. */
export class LayerError extends Error {
  constructor(message: string, readonly code: 'unsafe' | 'ids' | 'corrupt' | 'io' = 'corrupt') {
    super(message);
  }
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/** Splits an entry name into safe components, or throws for names that climb out. */
export function entryComponents(name: string): string[] {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new LayerError(`layer entry "${name}" points outside the layer (contains ..): refusing the layer`, 'unsafe');
  return parts;
}

class Hasher extends Transform {
  readonly hash: Hash = createHash('sha256');
  size = 0;
  private sinceGc = 0;
  constructor(private readonly collect?: () => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.collect && (this.sinceGc += chunk.length) >= GC_EVERY) {
      this.sinceGc = 0;
      this.collect();
    }
    cb(null, chunk);
  }
}

/**
 * Every buffer a layer passes through (socket or file reads, gunzip's
 * output) is a new allocation, freed only when V8 collects its small
 * JavaScript handle, which a stream of large buffers makes rarely: so
 * every byte landed in freshly faulted memory (~13,000 page faults per
 * 50 MB layer, a sixth of the helper's CPU on this VM). A minor
 * collection every 8 MiB of input (~0.5 ms) hands them back for reuse;
 * with malloc told to keep what is freed (the helper's environment,
 * layers.ts), a 50 MB layer takes half the page faults and ~20 % less
 * CPU. undefined where gc cannot be had (then nothing changes).
 */
const GC_EVERY = 8 << 20;
let minorGc: (() => void) | undefined | null = null;
function minorCollector(): (() => void) | undefined {
  if (minorGc !== null) return minorGc;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (o: { type: 'minor' }) => void;
    minorGc = () => gc({ type: 'minor' });
  } catch {
    minorGc = undefined;
  }
  return minorGc;
}

/** Reads at least n bytes (fewer at end of stream) and puts them back, so the caller can sniff a format. */
function peek(stream: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const finish = (ended: boolean) => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      const head = Buffer.concat(chunks);
      if (ended) resolve({ head, stream: Readable.from(head.length ? [head] : []) });
      else {
        stream.unshift(head);
        resolve({ head, stream });
      }
    };
    const onReadable = () => {
      let c: Buffer | null;
      while (len < n && (c = stream.read() as Buffer | null) !== null) {
        chunks.push(c);
        len += c.length;
      }
      if (len >= n) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = (e: Error) => reject(e);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

function decompressorFor(head: Buffer): Transform | Duplex {
  if (isZstd(head)) return zstdDecompressor();
  // Not tars either: saying which compression it is points at the way out.
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    throw new LayerError('xz-compressed layers are not supported: give the tar uncompressed or gzip-compressed', 'corrupt');
  }
  if (head.length >= 10 && head.toString('latin1', 0, 3) === 'BZh' && head.subarray(4, 10).equals(Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]))) {
    throw new LayerError('bzip2-compressed layers are not supported: give the tar uncompressed or gzip-compressed', 'corrupt');
  }
  // Large output chunks: each chunk is a round trip to zlib's thread; 16 KB (the default) made gunzip the bottleneck.
  // 256 KiB rather than 1 MiB: with the minor collections (Hasher) those are reused, where 1 MiB ones were not.
  if (head[0] === 0x1f && head[1] === 0x8b) return createGunzip({ chunkSize: 1 << 18 });
  return new PassThrough();
}

interface PendingDir { path: string; mode: number; mtime: Date }

export async function extractLayer(input: Readable, dest: string, opts: ExtractOptions): Promise<ExtractResult> {
  const raw = new Hasher(minorCollector());
  const plain = new Hasher();
  const framer = new TarFramer();
  const extract = tar.extract();
  // One item per directory (a later entry for the same path wins), in creation order.
  const dirs = new Map<string, PendingDir>();
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  const xattrs: Array<{ path: string; name: string; value: Buffer }> = [];
  let entries = 0;
  let remapped = 0;
  let skippedDevices = 0;
  let blobFd: number | undefined;
  if (opts.blobOut) blobFd = openSync(opts.blobOut, 'wx', 0o600);

  const mapId = (id: number, name: string): number => {
    if (id < opts.idLimit) return id;
    if (opts.outsideIds === 'root') { remapped++; return 0; }
    throw new LayerError(
      `file "${name}" in the layer is owned by id ${id}, outside the ${opts.idLimit} ids your namespace maps: ` +
      'ask an admin for a larger range in /etc/subuid and /etc/subgid, or run again with --remap-outside-ids to make such files root\'s',
      'ids',
    );
  };

  // Directories this extraction made or checked, so that each of the (many)
  // entries below one is not checked again. Emptied whenever a directory is
  // removed: nothing else can turn one into something else.
  const knownDirs = new Set<string>([dest]);

  /** Creates missing parents as root-owned 0755 directories; refuses a parent that is not a real directory. */
  const parentOf = (parts: string[], what: string): string => {
    let cur = dest;
    for (let i = 0; i < parts.length - 1; i++) {
      // Components are checked (no "", ".", ".."): plain concatenation is join's result, at less cost.
      cur = `${cur}/${parts[i]!}`;
      if (knownDirs.has(cur)) continue;
      const st = lstatSync(cur, { throwIfNoEntry: false });
      if (!st) {
        mkdirSync(cur, { mode: 0o755 });
      } else if (!st.isDirectory()) {
        const kind = st.isSymbolicLink() ? 'a symlink' : 'not a directory';
        throw new LayerError(`${what} is written through "${parts.slice(0, i + 1).join('/')}", which is ${kind}: refusing the layer`, 'unsafe');
      }
      knownDirs.add(cur);
    }
    return cur;
  };

  /** Removes whatever is at path unless it is a directory and the new entry is one too. */
  const clearFor = (path: string, keepDir: boolean): boolean => {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) return false;
    if (st.isDirectory()) {
      if (keepDir) return true;
      rmSync(path, { recursive: true, force: true });
      knownDirs.clear();
      knownDirs.add(dest);
    } else {
      unlinkSync(path);
    }
    return false;
  };

  // Files are created by root of the namespace: owner 0:0 needs no chown.
  const creatorIsRoot = process.geteuid?.() === 0 && process.getegid?.() === 0;
  const needsChown = (uid: number, gid: number) => !creatorIsRoot || uid !== 0 || gid !== 0;

  extract.on('entry', (header: tar.Header, stream: tar.ExtractEvents['entry'][1], next: (err?: Error | null) => void) => {
    entries++;
    const fail = (err: unknown) => {
      // The extractor re-emits its error on this stream when it stops: without a listener that crashes the helper.
      stream.on('error', () => {});
      stream.resume();
      next(err instanceof LayerError ? err
        : err instanceof SparseError ? new LayerError(err.message, 'corrupt')
        : new LayerError(`cannot extract "${header.name}": ${(err as Error).message}`, 'io'));
    };
    try {
      const pax = (header.pax ?? {}) as Record<string, string>;
      const note = framer.noteAt((header as { byteOffset?: number }).byteOffset ?? -1);
      // A regular file's header whose own name ends in "/" is a directory, as old tars wrote them (GNU
      // tar and rootlet-layer-fetch read it so; not a PAX path's); tar-stream sees it but still reports a file.
      if (header.type === 'file' && header.name.endsWith('/') && pax.path === undefined) header.type = 'directory';
      // tar-stream reports a type it does not know (old GNU sparse 'S' among them) as null.
      const type = header.type as tar.Header['type'] | null;
      const regular = type === 'file' || type === 'contiguous-file' || (type === null && !!note?.gnu);
      const sparse = regular ? sparsePlanOf(header.name, note, pax) : undefined;
      // PAX 0.1 and 1.0 store the entry as GNUSparseFile.PID/NAME and the real name in a record.
      if (sparse?.name) header.name = sparse.name;
      const parts = entryComponents(header.name);
      const uid = mapId(pax.uid !== undefined ? Number(pax.uid) : header.uid ?? 0, header.name);
      const gid = mapId(pax.gid !== undefined ? Number(pax.gid) : header.gid ?? 0, header.name);
      const mode = (header.mode ?? 0o644) & 0o7777;
      const mtime = header.mtime ?? new Date(0);
      if (parts.length === 0) {
        // "./": the layer's root directory itself.
        if (header.type === 'directory') {
          lchownSync(dest, uid, gid);
          dirs.set(dest, { path: dest, mode, mtime });
        }
        stream.resume();
        next();
        return;
      }
      const base = parts[parts.length - 1]!;
      const parent = parentOf(parts, `layer entry "${header.name}"`);
      const path = `${parent}/${base}`;

      if (base === OPAQUE_MARKER) {
        opaque.push(parent);
        stream.resume();
        next();
        return;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const name = base.slice(WHITEOUT_PREFIX.length);
        // ".wh.." would delete the layer directory, ".wh..." its parent: the store.
        if (name === '' || name === '.' || name === '..') {
          throw new LayerError(`layer entry "${header.name}" is a whiteout of "${name}", which points outside its directory: refusing the layer`, 'unsafe');
        }
        const target = join(parent, name);
        clearFor(target, false);
        whiteouts.push(target);
        stream.resume();
        next();
        return;
      }

      // Byte for byte from the framer: tar-stream's own PAX values are decoded as UTF-8.
      for (const [name, value] of note?.xattrs ?? []) xattrs.push({ path, name, value });

      switch ((regular ? 'file' : type) as string | null) {
        case 'directory': {
          if (!clearFor(path, true)) mkdirSync(path, { mode: 0o700 });
          if (needsChown(uid, gid)) lchownSync(path, uid, gid);
          knownDirs.add(path);
          dirs.set(path, { path, mode, mtime });
          stream.resume();
          next();
          return;
        }
        case 'file':
        case 'contiguous-file': {
          // Created with its permission bits (umask is 0 here): most files need no chmod.
          // O_EXCL never follows a symlink; only when something is in the way
          // (rare: a layer naming a path twice) is it looked at and removed.
          let fd: number;
          try {
            fd = openSync(path, 'wx', mode & 0o777);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
            clearFor(path, false);
            fd = openSync(path, 'wx', mode & 0o777);
          }
          let sparseOut: SparseWriter | undefined;
          // A bad map is reported once the entry's data has passed (the extractor cannot stop mid-entry cleanly).
          let sparseErr: unknown;
          try {
            if (sparse) sparseOut = new SparseWriter(fd, header.name, sparse, header.size ?? 0);
          } catch (e) { sparseErr = e; }
          stream.on('data', (data: unknown) => {
            const chunk = data as Buffer;
            if (sparse) {
              if (sparseErr === undefined) {
                try { sparseOut!.write(chunk); } catch (e) { sparseErr = e; }
              }
              return;
            }
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off);
          });
          stream.on('error', (e: unknown) => { closeSync(fd); fail(e); });
          stream.on('end', () => {
            let err: unknown = sparseErr;
            if (err === undefined) {
              try {
                sparseOut?.finish();
                const chown = needsChown(uid, gid);
                if (chown) fchownSync(fd, uid, gid);
                // chmod after chown: chown clears setuid and setgid bits, which open cannot set anyway.
                if (chown || mode & 0o7000) fchmodSync(fd, mode);
                futimesSync(fd, mtime, mtime);
              } catch (e) { err = e; }
            }
            try { closeSync(fd); } catch (e) { err ??= e; }
            if (err) fail(err);
            else next();
          });
          return;
        }
        case 'symlink': {
          clearFor(path, false);
          symlinkSync(header.linkname ?? '', path);
          lchownSync(path, uid, gid);
          lutimesSync(path, mtime, mtime);
          stream.resume();
          next();
          return;
        }
        case 'link': {
          const targetParts = entryComponents(header.linkname ?? '');
          if (!targetParts.length) throw new LayerError(`hard link "${header.name}" has no target`, 'corrupt');
          const target = join(parentOf(targetParts, `hard link "${header.name}" to "${header.linkname}"`), targetParts[targetParts.length - 1]!);
          let tst: Stats;
          try { tst = lstatSync(target); } catch {
            throw new LayerError(`hard link "${header.name}" points to "${header.linkname}", which is not in the layer`, 'corrupt');
          }
          if (tst.isDirectory()) throw new LayerError(`hard link "${header.name}" points to a directory`, 'unsafe');
          if (target !== path) {
            clearFor(path, false);
            linkSync(target, path);
          }
          stream.resume();
          next();
          return;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          if (header.type === 'character-device' && header.devmajor === 0 && header.devminor === 0) {
            // Already an overlay whiteout (some tools write them).
            clearFor(path, false);
            whiteouts.push(path);
          } else if (header.type === 'fifo') {
            clearFor(path, false);
            const r = runCapture('mkfifo', ['-m', (mode & 0o777).toString(8), path]);
            if (r.code !== 0) throw new LayerError(`cannot create fifo "${header.name}": ${r.stderr.trim()}`, 'io');
            lchownSync(path, uid, gid);
          } else {
            // A user namespace cannot create device nodes; the runtime provides /dev.
            skippedDevices++;
          }
          stream.resume();
          next();
          return;
        }
        default: {
          // A volume label names the archive, not a file; any other type would be a file silently left out.
          if (note?.typeflag !== 'V') {
            throw new LayerError(`layer entry "${header.name}" has tar type '${note?.typeflag ?? '?'}', which rootlet cannot extract: refusing the layer`, 'corrupt');
          }
          stream.resume();
          next();
        }
      }
    } catch (err) {
      fail(err);
    }
  });

  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (blobFd !== undefined) {
        let off = 0;
        while (off < chunk.length) off += writeSync(blobFd, chunk, off);
      }
      cb(null, chunk);
    },
  });

  // Files are created with their own permission bits, not the helper's umask.
  const umask = process.umask(0);
  let gzipError: (Error & { code?: string }) | undefined;
  try {
    const peeked = await peek(input, 10);
    const decompress = decompressorFor(peeked.head);
    // Told apart from the tar's own errors (which pipeline also hands to this stream): zlib's have Z_ codes.
    decompress.on('error', (e: Error & { code?: string }) => { if (e.code?.startsWith('Z_') || e instanceof ZstdError) gzipError ??= e; });
    await pipeline(peeked.stream, raw, tee, decompress, plain, framer, extract);
  } catch (err) {
    throw streamError(err, gzipError, plain.size);
  } finally {
    process.umask(umask);
    if (blobFd !== undefined) closeSync(blobFd);
  }

  // A later entry may have replaced a directory with a symlink: what was recorded below it left the layer with
  // it, and acting on the old path would follow the symlink out of the layer.
  const inLayer = (path: string) => underRealDirs(dest, path);
  applyNative(whiteouts.filter(inLayer), opaque.filter((p) => inLayer(p) && isDir(p)), xattrs.filter((x) => inLayer(x.path)));
  // Directory modes and times last: writing children changed them.
  for (const d of [...dirs.values()].reverse()) {
    if (!inLayer(d.path) || !isDir(d.path)) continue;
    chmodSync(d.path, d.mode);
    lutimesSync(d.path, d.mtime, d.mtime);
  }
  return {
    digest: `sha256:${raw.hash.digest('hex')}`,
    diffId: `sha256:${plain.hash.digest('hex')}`,
    blobSize: raw.size,
    tarSize: plain.size,
    entries,
    remapped,
    skippedDevices,
  };
}

/** Whether every directory between dest and path is still a real directory (not a symlink, not gone). */
function underRealDirs(dest: string, path: string): boolean {
  const parts = path.slice(dest.length + 1).split('/');
  let cur = dest;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = `${cur}/${parts[i]!}`;
    if (!isDir(cur)) return false;
  }
  return true;
}

function isDir(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** One line for why the layer stream could not be read. */
function streamError(err: unknown, gzipError: (Error & { code?: string }) | undefined, tarBytes: number): LayerError {
  if (err instanceof LayerError) return err;
  if (err instanceof SparseError) return new LayerError(err.message, 'corrupt');
  if (gzipError instanceof ZstdError) {
    return new LayerError(gzipError.missing ? gzipError.message : `corrupt zstd stream: ${gzipError.message}`, gzipError.missing ? 'io' : 'corrupt');
  }
  if (gzipError) {
    // zlib says "unexpected end of file" when the input stops before the gzip trailer.
    if (gzipError.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(gzipError.message)) {
      return new LayerError('truncated gzip stream: it ends before its compressed data does', 'corrupt');
    }
    return new LayerError(`corrupt gzip stream: ${gzipError.message}`, 'corrupt');
  }
  const msg = (err as Error).message || String(err);
  if (tarBytes < 512) return new LayerError(`layer is not a valid tar stream: ${tarBytes} bytes, less than one tar header`, 'corrupt');
  if (/unexpected end|premature|truncated/i.test(msg)) return new LayerError('layer is truncated: the stream ends in the middle of an entry', 'corrupt');
  // tar-stream's own words suggest gunzip, which was tried: say what is wrong instead.
  const why = /^Invalid tar header\. Maybe/.test(msg) ? 'a header\'s checksum does not match (is it a tar archive?)'
    : /unknown format/.test(msg) ? 'a header has neither the ustar nor the GNU magic (is it a tar archive?)'
    : msg;
  return new LayerError(`layer is not a valid tar stream: ${why}`, 'corrupt');
}

/** Whiteouts, opaque markers and xattrs need mknod(2) and setxattr(2), which Node lacks: batch them into two commands. */
function applyNative(whiteouts: string[], opaque: string[], xattrs: Array<{ path: string; name: string; value: Buffer }>): void {
  if (whiteouts.length) {
    const r = runCapture('sh', ['-c', 'for p do mknod "$p" c 0 0 || exit 1; done', 'sh', ...whiteouts]);
    if (r.code !== 0) throw new LayerError(`cannot create overlay whiteouts: ${r.stderr.trim()}`, 'io');
  }
  if (opaque.length) setXattr(opaque, 'user.overlay.opaque', Buffer.from('y'));
  for (const x of xattrs) {
    // Only security.capability and user.* are settable in a user namespace; others (e.g. trusted.*) are dropped.
    if (x.name !== 'security.capability' && !x.name.startsWith('user.')) continue;
    setXattr([x.path], x.name, x.value);
  }
}

function setXattr(paths: string[], name: string, value: Buffer): void {
  const r = runCapture('setfattr', ['-h', '-n', name, '-v', `0x${value.toString('hex')}`, ...paths]);
  if (r.code === 127) throw new LayerError('setfattr is not installed (Debian package attr): it is needed to extract this layer', 'io');
  if (r.code !== 0) {
    // setfattr says "setfattr: PATH: REASON": the reason alone, in rootlet-layer-fetch's words.
    const said = r.stderr.trim().split('\n')[0] ?? '';
    const at = said.lastIndexOf(': ');
    throw new LayerError(`cannot set ${name} on ${paths[0]}: ${at >= 0 ? said.slice(at + 2) : said}`, 'io');
  }
}

/** Reads a layer from a file path ("-" for stdin). */
export function openLayerInput(path: string): Readable {
  return path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
}
