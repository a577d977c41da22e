import { createReadStream, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { tmpName, type ImageRecord } from '../../image/store.js';
import { TarFramer } from '../../image/tar-sparse.js';
import { isZstd } from '../../image/zstd.js';
import { DEFAULT_CAPS } from '../../runtime/spec.js';
import { EngineError } from '../../util/errors.js';
import type { Engine } from '../engine.js';
import { auditCachePath } from './audit-cache.js';
import { unprivilegedPortStart } from '../networks/ports.js';

/**
 * `image audit`: what in an image matters for security, and what each
 * thing means for a rootless container.
 *
 * The layers are read from their blobs (the tars as pulled or imported,
 * owned by the user), not from the extracted layer directories: a blob
 * still says who owned each file, also when the owner was outside the
 * user's mapping and extraction gave the file to root; it carries the file
 * capability xattrs; and reading it needs no namespace. Whiteouts and
 * opaque directories of upper layers are applied as overlay applies them,
 * so a file deleted or replaced in a later layer is not reported.
 */

export type FindingKind = 'setuid' | 'setgid' | 'capability' | 'outside-ids' | 'root-user' | 'world-writable' | 'low-port';

export interface AuditFinding {
  kind: FindingKind;
  /** An image path, a port ("80/tcp") or the config's user ("USER root"). */
  subject: string;
  /** What was found, e.g. "owner 0, mode 4755". */
  detail: string;
  /** One sentence: what it means in a rootless container. */
  rootless: string;
  /** It will not work as the image expects in a rootless container: `run` and `create` warn. */
  breaks: boolean;
}

export interface ImageAudit {
  /** The image's id. */
  id: string;
  /** Container ids 0..idLimit-1 are mapped in the user's namespace. */
  idLimit: number;
  /** net.ipv4.ip_unprivileged_port_start here. */
  portStart: number;
  findings: AuditFinding[];
}

/** A file of the merged layers worth reporting, as the cache keeps it. */
export interface FlaggedFile {
  path: string;
  dir: boolean;
  mode: number;
  uid: number;
  gid: number;
  /** File capabilities: the permitted set's names and whether they are effective; `unknown` when the xattr cannot be decoded. */
  caps?: { names: string[]; effective: boolean } | 'unknown';
}

/** The tar header fields the audit looks at. */
export interface AuditHeader {
  name: string;
  type?: string | null;
  mode?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string> | null;
  /** The security.capability xattr byte for byte (tar-stream's `pax` has it decoded as UTF-8). */
  capability?: Buffer;
}

const CAP_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
].map((n) => `CAP_${n}`);

/**
 * Decodes a security.capability value (struct vfs_cap_data, little endian:
 * magic and flags, then permitted/inheritable low words, then high words).
 */
export function decodeCaps(raw: Buffer): FlaggedFile['caps'] {
  if (raw.length < 12) return 'unknown';
  const magic = raw.readUInt32LE(0);
  const version = magic & 0xff000000;
  if (version !== 0x01000000 && version !== 0x02000000 && version !== 0x03000000) return 'unknown';
  const wide = version !== 0x01000000;
  if (wide && raw.length < 20) return 'unknown';
  const lo = raw.readUInt32LE(4);
  const hi = wide ? raw.readUInt32LE(12) : 0;
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    const set = bit < 32 ? (lo >>> bit) & 1 : (hi >>> (bit - 32)) & 1;
    if (set) names.push(CAP_NAMES[bit] ?? `CAP_${bit}`);
  }
  return { names, effective: (magic & 1) === 1 };
}

/**
 * The capability xattr of an entry: GNU tar's (SCHILY) as readLayer's framer read it byte for byte
 * (`capability`), or libarchive's (base64, which tar-stream's UTF-8 decoding leaves whole).
 */
function capsOf(h: AuditHeader): FlaggedFile['caps'] | undefined {
  if (h.capability) return decodeCaps(h.capability);
  const lib = h.pax?.['LIBARCHIVE.xattr.security.capability'];
  if (lib !== undefined) return decodeCaps(Buffer.from(lib, 'base64'));
  return undefined;
}

const WH = '.wh.';
const WH_OPQ = '.wh..wh..opq';

/**
 * The image's layers merged as overlay stacks them, keeping only the files
 * worth reporting: each layer's entries replace what lower layers had at
 * their path (and, for a non-directory, below it); whiteouts and opaque
 * markers delete from lower layers. Feed entries with `entry`, call
 * `endLayer` after each layer, bottom layer first.
 */
export class AuditMerge {
  private lower: Map<string, FlaggedFile>;
  private upper = new Map<string, FlaggedFile>();

  /** `below`: the flagged files of layers already merged (a cached stack this image is built on). */
  constructor(private readonly idLimit: number, below: readonly FlaggedFile[] = []) {
    this.lower = new Map(below.map((f) => [f.path, f]));
  }

  /** Drops what lower layers have at `path` (with `self`) and below it. */
  private dropLower(path: string, self: boolean): void {
    if (!this.lower.size) return;
    if (self) this.lower.delete(path);
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const k of this.lower.keys()) if (k.startsWith(prefix)) this.lower.delete(k);
  }

  entry(h: AuditHeader): void {
    const parts = h.name.split('/').filter((p) => p !== '' && p !== '.');
    // Extraction refuses such a layer: nothing of it is in the store.
    if (parts.includes('..')) return;
    const base = parts[parts.length - 1];
    const parent = `/${parts.slice(0, -1).join('/')}`;
    if (base === WH_OPQ) {
      this.dropLower(parent, false);
      return;
    }
    if (base?.startsWith(WH)) {
      this.dropLower(`${parent === '/' ? '' : parent}/${base.slice(WH.length)}`, true);
      return;
    }
    const path = `/${parts.join('/')}`;
    if (h.type === 'character-device' && !h.devmajor && !h.devminor) {
      this.dropLower(path, true);
      return;
    }
    // The entry's parents are directories of this layer: a lower non-directory there is hidden.
    if (this.lower.size) {
      for (let i = 1; i < parts.length; i++) {
        const p = `/${parts.slice(0, i).join('/')}`;
        const f = this.lower.get(p);
        if (f && !f.dir) this.dropLower(p, true);
      }
    }
    const dir = h.type === 'directory';
    if (dir) this.lower.delete(path);
    else this.dropLower(path, true);
    const mode = (h.mode ?? 0) & 0o7777;
    const uid = Number(h.pax?.uid ?? h.uid ?? 0);
    const gid = Number(h.pax?.gid ?? h.gid ?? 0);
    const caps = dir ? undefined : capsOf(h);
    const flagged = (!dir && (mode & 0o6000) !== 0 && h.type !== 'symlink')
      || caps !== undefined
      || uid >= this.idLimit || gid >= this.idLimit
      || (dir && (mode & 0o002) !== 0 && (mode & 0o1000) === 0);
    if (flagged) this.upper.set(path, { path, dir, mode, uid, gid, ...(caps ? { caps } : {}) });
    else this.upper.delete(path);
  }

  endLayer(): void {
    for (const [k, v] of this.upper) this.lower.set(k, v);
    this.upper.clear();
  }

  files(): FlaggedFile[] {
    this.endLayer();
    return [...this.lower.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

const SETUID_ROOTLESS = 'runs as its owner inside the container, and container ids are your own user and your subordinate ids: it gains nothing beyond your rights on the host (and nothing at all under no-new-privileges)';
const CAPS_ROOTLESS = 'file capabilities are granted only inside the container\'s user namespace and only within its capability set, never beyond your rights on the host';
const OUTSIDE_ROOTLESS = 'your namespace cannot hold these ids, so the file was given to root when the layer was stored (--remap-outside-ids): a program that expects its owner may fail';
const ROOT_ROOTLESS = 'container root is your own user on the host, not host root: a break-out lands with your rights; a USER in the image confines it further';
const WORLD_ROOTLESS = 'any user in the container may delete or replace the others\' files there (no sticky bit); on the host the directory belongs to your ids, not to other users';

/** Turns the merged files into findings; `containerCaps` is the capability set a container gets. */
export function fileFindings(files: FlaggedFile[], idLimit: number, containerCaps: readonly string[] = DEFAULT_CAPS): AuditFinding[] {
  const out: AuditFinding[] = [];
  const owner = (f: FlaggedFile) => `owner ${f.uid}:${f.gid}, mode ${f.mode.toString(8).padStart(4, '0')}`;
  for (const f of files) {
    if (!f.dir && f.mode & 0o4000) out.push({ kind: 'setuid', subject: f.path, detail: owner(f), rootless: SETUID_ROOTLESS, breaks: false });
    if (!f.dir && f.mode & 0o2000) out.push({ kind: 'setgid', subject: f.path, detail: owner(f), rootless: SETUID_ROOTLESS, breaks: false });
    if (f.caps === 'unknown') {
      out.push({ kind: 'capability', subject: f.path, detail: 'security.capability set (not decodable)', rootless: CAPS_ROOTLESS, breaks: false });
    } else if (f.caps) {
      const missing = f.caps.names.filter((c) => !containerCaps.includes(c));
      // execve refuses a file whose effective capabilities the process cannot all have (EPERM): the program does not start.
      const breaks = f.caps.effective && missing.length > 0;
      out.push({
        kind: 'capability', subject: f.path,
        detail: `${f.caps.names.join(',') || '(none)'}${f.caps.effective ? ' (effective)' : ''}`,
        rootless: breaks ? `${CAPS_ROOTLESS}; the container's set lacks ${missing.join(',')}, so running it fails with "Operation not permitted"` : CAPS_ROOTLESS,
        breaks,
      });
    }
    if (f.uid >= idLimit || f.gid >= idLimit) {
      out.push({ kind: 'outside-ids', subject: f.path, detail: `owner ${f.uid}:${f.gid}, outside ids 0-${idLimit - 1}`, rootless: OUTSIDE_ROOTLESS, breaks: true });
    }
    if (f.dir && f.mode & 0o002 && !(f.mode & 0o1000)) {
      out.push({ kind: 'world-writable', subject: f.path, detail: `mode ${f.mode.toString(8).padStart(4, '0')}`, rootless: WORLD_ROOTLESS, breaks: false });
    }
  }
  return out;
}

/** Findings of the image's config: who it runs as, which ports it exposes. */
export function configFindings(img: Pick<ImageRecord, 'config'>, idLimit: number, portStart: number): AuditFinding[] {
  const out: AuditFinding[] = [];
  const c = img.config.config ?? {};
  const user = (c.User ?? '').trim();
  const [u = '', g] = user.split(':');
  if (u === '' || u === '0' || u === 'root') {
    out.push({ kind: 'root-user', subject: user ? `USER ${user}` : 'USER (none)', detail: 'the container runs as root', rootless: ROOT_ROOTLESS, breaks: false });
  }
  const outside = [u, g].filter((x): x is string => x !== undefined && /^\d+$/.test(x) && Number(x) >= idLimit);
  if (outside.length) {
    out.push({
      kind: 'outside-ids', subject: `USER ${user}`, detail: `id ${outside.join(':')}, outside ids 0-${idLimit - 1}`,
      rootless: 'your namespace does not map this id: the container cannot start as it (give --user an id below the limit)', breaks: true,
    });
  }
  for (const p of Object.keys(c.ExposedPorts ?? {})) {
    const [port, proto = 'tcp'] = p.split('/');
    const n = Number(port);
    if (!Number.isInteger(n) || n <= 0 || n >= portStart) continue;
    out.push({
      kind: 'low-port', subject: `${n}/${proto}`, detail: `exposed, below ${portStart}`,
      rootless: `host ports below ${portStart} cannot be published without privileges (-p ${n}:${n} is refused): publish it on a higher host port (-p ${8000 + (n % 1000)}:${n}) or with -P; inside the container it binds as usual`,
      breaks: false,
    });
  }
  return out;
}

/** Reads one layer blob's tar headers (gzip, zstd or plain) into the merge, skipping file data. */
export async function readLayer(input: Readable, merge: AuditMerge): Promise<void> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const onReadable = () => {
      const b = (input.read(4) ?? input.read()) as Buffer | null;
      if (b === null) return;
      cleanup();
      input.unshift(b);
      resolve(b);
    };
    const onEnd = () => { cleanup(); resolve(Buffer.alloc(0)); };
    const onError = (e: Error) => { cleanup(); reject(e); };
    const cleanup = () => { input.off('readable', onReadable); input.off('end', onEnd); input.off('error', onError); };
    input.on('readable', onReadable);
    input.once('end', onEnd);
    input.once('error', onError);
  });
  const extract = tar.extract();
  // The framer reads the PAX records tar-stream decodes, for the capability's bytes.
  const framer = new TarFramer();
  extract.on('entry', (h, stream, next) => {
    const note = framer.noteAt((h as { byteOffset?: number }).byteOffset ?? -1);
    const capability = note?.xattrs?.find(([name]) => name === 'security.capability')?.[1];
    merge.entry(capability ? { ...(h as AuditHeader), capability } : h as AuditHeader);
    stream.on('end', () => next());
    stream.resume();
  });
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  if (gz) await pipeline(input, createGunzip({ chunkSize: 1 << 20 }), framer, extract);
  else if (isZstd(head)) await pipeline(input, (await import('../../image/zstd.js')).zstdDecompressor(), framer, extract);
  else await pipeline(input, framer, extract);
  merge.endLayer();
}

interface CachedAudit {
  version: 2;
  idLimit: number;
  files: FlaggedFile[];
}

function cachedFiles(path: string, idLimit: number): FlaggedFile[] | undefined {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as CachedAudit;
    if (c.version === 2 && c.idLimit === idLimit) return c.files;
  } catch { /* not audited yet */ }
  return undefined;
}

/**
 * The image's flagged files: from the cache beside the store, or read from
 * its blobs once and cached. Only the layers above the longest cached stack
 * below it are read (a build step's image reads its one new layer).
 */
async function imageFiles(engine: Engine, img: ImageRecord, idLimit: number): Promise<FlaggedFile[]> {
  const path = auditCachePath(engine, img.layers);
  const whole = cachedFiles(path, idLimit);
  if (whole) return whole;
  const manifest = engine.images.readManifest(img);
  if (!manifest || manifest.layers.length !== img.layers.length) {
    throw new EngineError(`cannot audit image ${img.id.slice(7, 19)}: its manifest is missing or does not match its layers (rootlet image check)`);
  }
  let from = 0;
  let below: FlaggedFile[] = [];
  for (let n = img.layers.length - 1; n > 0; n--) {
    const c = cachedFiles(auditCachePath(engine, img.layers.slice(0, n)), idLimit);
    if (c) { from = n; below = c; break; }
  }
  const merge = new AuditMerge(idLimit, below);
  for (const l of manifest.layers.slice(from)) {
    const blob = engine.images.blobPath(l.digest);
    try {
      await readLayer(createReadStream(blob, { highWaterMark: 1 << 20 }), merge);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing (rootlet image check)' : `cannot be read: ${(err as Error).message}`;
      throw new EngineError(`cannot audit image ${img.id.slice(7, 19)}: layer ${l.digest} ${why}`);
    }
  }
  const files = merge.files();
  // Kept under a temporary name first: a reader never sees half a file. Not kept is no error: the next audit reads again.
  try {
    mkdirSync(join(engine.paths.dataDir, 'audit'), { recursive: true, mode: 0o700 });
    const tmp = join(engine.paths.tmp, tmpName('audit'));
    writeFileSync(tmp, JSON.stringify({ version: 2, idLimit, files } satisfies CachedAudit), { mode: 0o600 });
    renameSync(tmp, path);
  } catch { /* read-only or full store */ }
  return files;
}

/** `image audit`: every finding of the image. */
export async function auditImage(engine: Engine, img: ImageRecord, containerCaps: readonly string[] = DEFAULT_CAPS): Promise<ImageAudit> {
  const idLimit = engine.ns().size;
  const portStart = unprivilegedPortStart();
  const files = await imageFiles(engine, img, idLimit);
  return { id: img.id, idLimit, portStart, findings: [...configFindings(img, idLimit, portStart), ...fileFindings(files, idLimit, containerCaps)] };
}

/**
 * The one line `run` and `create` print for what will not work rootless,
 * or undefined when nothing will fail.
 */
export function auditWarning(name: string, a: ImageAudit): string | undefined {
  const bad = a.findings.filter((f) => f.breaks);
  if (!bad.length) return undefined;
  const parts: string[] = [];
  const outsideFiles = bad.filter((f) => f.kind === 'outside-ids' && f.subject.startsWith('/'));
  if (outsideFiles.length) parts.push(`${outsideFiles.length} file(s) owned by ids outside your namespace were given to root`);
  const user = bad.find((f) => f.kind === 'outside-ids' && !f.subject.startsWith('/'));
  if (user) parts.push(`its ${user.subject} is outside your namespace`);
  const caps = bad.filter((f) => f.kind === 'capability');
  if (caps.length) parts.push(`${caps.map((f) => f.subject).slice(0, 3).join(', ')}${caps.length > 3 ? ` and ${caps.length - 3} more` : ''} need capabilities the container lacks and fail with "Operation not permitted"`);
  return `WARNING: image ${name}: ${parts.join('; ')} (rootlet image audit ${name})`;
}
