import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

/** One tar entry as a test writes it; owner defaults to the given defaults (the test's own ids). */
export interface TarEntry {
  name: string;
  type?: tar.Header['type'];
  body?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/**
 * Builds a tar in memory. tar-stream writes names verbatim (`../x`, `/abs`),
 * which is what the malicious cases need: GNU tar would sanitize them.
 */
export async function makeTar(entries: TarEntry[], owner: { uid: number; gid: number } = { uid: 0, gid: 0 }): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (c: unknown) => { chunks.push(c as Buffer); });
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header: Partial<tar.Header> & { name: string; pax?: Record<string, string> } = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: e.uid ?? owner.uid,
      gid: e.gid ?? owner.gid,
      mtime: e.mtime ?? new Date(1_000_000_000_000),
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax) header.pax = e.pax;
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file' || type === 'contiguous-file') pack.entry(header, e.body ?? '', cb);
      else pack.entry(header, cb).end(undefined);
    });
  }
  pack.finalize();
  return done;
}

export function gzip(buf: Buffer): Buffer {
  return gzipSync(buf);
}

export function sha256(buf: Buffer): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

function octal(block: Buffer, off: number, len: number): number {
  const s = block.subarray(off, off + len).toString('ascii').replace(/\0.*$/s, '').trim();
  return s ? parseInt(s, 8) : 0;
}

/** Calls fn with the offset of each header of a tar (until its end blocks); returns where the end blocks start. */
function walkHeaders(buf: Buffer, fn: (off: number, block: Buffer) => void = () => {}): number {
  let off = 0;
  while (off + 512 <= buf.length) {
    const block = buf.subarray(off, off + 512);
    if (block.every((b) => b === 0)) break;
    fn(off, block);
    let next = off + 512;
    // Old GNU sparse: extension blocks follow the header, outside its size.
    if (block[156] === 0x53 && block[482]) {
      do next += 512; while (buf[next - 512 + 504]);
    }
    off = next + Math.ceil(octal(block, 124, 12) / 512) * 512;
  }
  return off;
}

/**
 * The entries of a tar without its end-of-archive blocks, so more entries
 * can be appended (a tar is a concatenation of entries).
 */
export function tarBody(buf: Buffer): Buffer {
  return buf.subarray(0, walkHeaders(buf));
}

/** Every path under dir (relative, with type and size), to prove a directory was left untouched. */
export function snapshot(dir: string, skip: string[] = []): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try { names = readdirSync(d); } catch { out.push(`${relative(dir, d)} <unreadable>`); return; }
    for (const n of names.sort()) {
      const p = join(d, n);
      if (skip.includes(p)) continue;
      const st = lstatSync(p);
      out.push(`${relative(dir, p)} ${st.mode.toString(8)} ${st.isDirectory() ? '' : st.size} ${st.nlink}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** The ways GNU tar stores a sparse file: the old GNU format, and the three PAX ones. */
export const SPARSE_FORMATS = {
  gnu: ['--format=gnu', '--sparse'],
  'pax-0.0': ['--format=posix', '--sparse', '--sparse-version=0.0'],
  'pax-0.1': ['--format=posix', '--sparse', '--sparse-version=0.1'],
  'pax-1.0': ['--format=posix', '--sparse', '--sparse-version=1.0'],
} as const;
export type SparseFormat = keyof typeof SPARSE_FORMATS;

function run(cmd: string, args: string[], cwd?: string): Buffer {
  const r = spawnSync(cmd, args, { cwd, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString().trim()}`);
  return r.stdout;
}

/**
 * A sparse file as a user makes one: `truncate` to its size, then random
 * data written with `dd seek=` at each of `data` ([offset, length] in KiB);
 * everything else is a hole (where the file system has holes).
 */
export function makeSparseFile(path: string, sizeKiB: number, data: Array<[number, number]>): void {
  mkdirSync(dirname(path), { recursive: true });
  run('truncate', ['-s', `${sizeKiB}K`, path]);
  for (const [at, len] of data) {
    run('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1K', `seek=${at}`, `count=${len}`, 'conv=notrunc', 'status=none']);
  }
}

/** A tar of `names` (relative to `cwd`) written by GNU tar in one of its sparse formats. */
export function gnuTar(cwd: string, names: string[], format: SparseFormat, extra: string[] = []): Buffer {
  return run('tar', [...SPARSE_FORMATS[format], ...extra, '-cf', '-', ...names], cwd);
}

/** Sets bytes of the 512-byte header at `off` and fixes its checksum, to make a malformed archive from a good one. */
export function patchHeader(tarBuf: Buffer, off: number, at: number, bytes: Buffer | string): Buffer {
  const out = Buffer.from(tarBuf);
  const b = out.subarray(off, off + 512);
  (typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes).copy(b, at);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return out;
}

/** Offsets of the tar headers whose type flag is `flag`, in order. */
export function headersOfType(tarBuf: Buffer, flag: string): number[] {
  const found: number[] = [];
  walkHeaders(tarBuf, (off, block) => { if (String.fromCharCode(block[156]!) === flag) found.push(off); });
  return found;
}
