import { createHash } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
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

/**
 * The entries of a tar without its end-of-archive blocks, so more entries
 * can be appended (a tar is a concatenation of entries).
 */
export function tarBody(buf: Buffer): Buffer {
  let off = 0;
  while (off + 512 <= buf.length) {
    const block = buf.subarray(off, off + 512);
    if (block.every((b) => b === 0)) break;
    const size = octal(block, 124, 12);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return buf.subarray(0, off);
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
