import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Result, Sandbox } from './helpers.js';
import type { RawImage } from './registry-helpers.js';
import { sha256 } from './tar-fixtures.js';

/**
 * For test/integration/pull-native.test.ts: layers compressed every way a
 * registry may serve them, tar entries tar-stream cannot write (GNU long
 * names, base-256 numbers), a listing of a stored layer as its namespace
 * sees it, and a registry that answers blobs other than with a plain 200.
 */

export const MEDIA = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  tar: 'application/vnd.oci.image.layer.v1.tar',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  // Not OCI types: what a registry would be given by someone who compressed a tar with these.
  xz: 'application/vnd.oci.image.layer.v1.tar+xz',
  bzip2: 'application/vnd.oci.image.layer.v1.tar+bzip2',
} as const;

export interface Layer { blob: Buffer; diffId: string; mediaType: string }

function filter(cmd: string, args: string[], input: Buffer): Buffer {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr?.toString().trim() ?? r.error}`);
  return r.stdout;
}

/** Whether a compressor is installed (the zstd case is skipped without it). */
export function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A layer from a tar, compressed as asked; `blob` replaces the bytes served (the diff id stays the tar's). */
export function layer(tar: Buffer, how: keyof typeof MEDIA = 'gzip', blob?: Buffer): Layer {
  const bytes = blob ?? (how === 'gzip' ? gzipSync(tar, { level: 1 })
    : how === 'tar' ? tar
      : how === 'zstd' ? filter('zstd', ['-q', '-c', '-3'], tar)
        : how === 'xz' ? filter('xz', ['-c', '-1'], tar)
          : filter('bzip2', ['-c', '-1'], tar));
  return { blob: bytes, diffId: sha256(tar), mediaType: MEDIA[how] };
}

/** An OCI image of these layers (each with its own media type), as pushRaw takes it. */
export function image(layers: Layer[]): RawImage {
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux',
    config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: sha256(l.blob), size: l.blob.length })),
  }));
  return { manifest, config, layers: layers.map((l) => ({ blob: l.blob, diffId: l.diffId })), digest: sha256(manifest) };
}

/** A raw tar header (GNU magic), for what tar-stream does not write. Numbers are octal unless given in `base256` (field name → value). */
export interface RawHeader {
  name: string;
  type: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  base256?: Partial<Record<'uid' | 'gid' | 'size' | 'mtime', bigint>>;
  /** GNU's "ustar  \0" (the default), POSIX's "ustar\0" "00", or none (a v7 header). */
  magic?: 'gnu' | 'posix' | 'none';
}

const FIELDS = { mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12] } as const;

export function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name.slice(0, 100), 0, 'latin1');
  const put = (field: keyof typeof FIELDS, v: number) => {
    const [off, len] = FIELDS[field];
    b.write(`${v.toString(8).padStart(len - 1, '0')}\0`, off, 'latin1');
  };
  put('mode', h.mode ?? 0o644);
  put('uid', h.uid ?? 0);
  put('gid', h.gid ?? 0);
  put('size', h.size ?? 0);
  put('mtime', h.mtime ?? 1_000_000_000);
  for (const [field, v] of Object.entries(h.base256 ?? {}) as Array<[keyof typeof FIELDS, bigint]>) {
    const [off, len] = FIELDS[field];
    // Positive: 0x80 then the value; negative: two's complement over the whole field (first byte 0xff).
    let x = v < 0n ? (1n << BigInt(8 * len)) + v : v;
    for (let i = off + len - 1; i > off; i--) { b[i] = Number(x & 0xffn); x >>= 8n; }
    b[off] = v < 0n ? 0xff : 0x80;
  }
  b.write(h.type, 156, 'latin1');
  if (h.linkname) b.write(h.linkname.slice(0, 100), 157, 'latin1');
  if ((h.magic ?? 'gnu') === 'gnu') b.write('ustar  \0', 257, 'latin1');
  else if (h.magic === 'posix') b.write('ustar\x0000', 257, 'latin1');
  if (h.magic !== 'none') {
    b.write('root', 265, 'latin1');
    b.write('root', 297, 'latin1');
  }
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

function padded(body: Buffer): Buffer {
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

/**
 * One entry as GNU tar writes a long name: a `././@LongLink` entry of type
 * 'L' (the name) and/or 'K' (the link target), each NUL-terminated, before
 * the entry itself with both cut to 100 bytes. No end blocks.
 */
export function gnuEntry(h: RawHeader, body: Buffer = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [];
  const long = (type: 'L' | 'K', text: string) => {
    const data = Buffer.from(`${text}\0`, 'latin1');
    parts.push(rawHeader({ name: '././@LongLink', type, size: data.length }), padded(data));
  };
  if (h.linkname && h.linkname.length > 100) long('K', h.linkname);
  if (h.name.length > 100) long('L', h.name);
  parts.push(rawHeader({ ...h, size: h.size ?? body.length }), padded(body));
  return Buffer.concat(parts);
}

/** A PAX extended header ('x', or 'g' for a global one) whose records are written byte for byte (tar-stream writes values as UTF-8). No end blocks. */
export function paxHeader(records: Array<[string, Buffer | string]>, type: 'x' | 'g' = 'x'): Buffer {
  const recs = records.map(([k, v]) => {
    const rest = Buffer.concat([Buffer.from(` ${k}=`, 'latin1'), typeof v === 'string' ? Buffer.from(v, 'latin1') : v, Buffer.from('\n')]);
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    return Buffer.concat([Buffer.from(String(len)), rest]);
  });
  const body = Buffer.concat(recs);
  return Buffer.concat([rawHeader({ name: 'PaxHeaders/x', type, size: body.length, magic: 'posix' }), padded(body)]);
}

/** stderr without the trace lines. */
export function plainLines(r: Result): string[] {
  return r.stderr.split('\n').filter((l) => l && !l.startsWith('[trace]'));
}

/** What the trace says stored each layer: the first 12 hex digits of its digest → "rootlet-layer-fetch" or "the node helper". */
export function extractors(r: Result): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of r.stderr.matchAll(/^\[trace\].*layer ([0-9a-f]{12}) extracted by (rootlet-layer-fetch|the node helper)\s*$/gm)) out[m[1]!] = m[2]!;
  return out;
}

/** The key `extractors` files a layer's blob under. */
export function short(blob: Buffer): string {
  return sha256(blob).slice(7, 19);
}

/**
 * Every path of a stored layer as the namespace sees it, one line each:
 * type, mode (with setuid/setgid/sticky), owner, mtime in seconds (a time
 * the extractor made itself, i.e. after 2023, as "new"), size (not for
 * directories: that depends on the file system's history), symlink
 * target, hard-link group (the paths sharing the inode), sha256 of
 * regular files, device numbers, and every xattr the namespace can read.
 */
export function listLayer(sb: Sandbox, dir: string): string[] {
  const script = [
    'cd "$1" || exit 1',
    'find . -printf "E\\t%p\\t%y\\t%m\\t%U:%G\\t%T@\\t%s\\t%n\\t%i\\t%l\\n"',
    'find . -type f -exec sha256sum {} + | sed "s/^/S\\t/"',
    'find . \\( -type c -o -type b \\) -exec stat --printf "R\\t%n\\t%t:%T\\n" {} +',
    'find . ! -type l -exec getfattr -h -d -m - -e hex {} + 2>/dev/null | sed "s/^/X\\t/"',
    'exit 0',
  ].join('\n');
  const r = sb.run(['unshare', 'sh', '-c', script, 'sh', dir]);
  if (r.code !== 0) throw new Error(`listing ${dir}: ${r.stderr}`);
  const norm = (p: string) => p.replace(/^\.\//, '') || '.';
  const recs = new Map<string, { line: string; nlink: number; inode: string; sha: string; rdev: string; xattrs: string[] }>();
  const inodes = new Map<string, string[]>();
  let xfile = '';
  for (const l of r.stdout.split('\n')) {
    const [tag, ...f] = l.split('\t');
    if (tag === 'E') {
      const [p, type, mode, owner, mtime, size, nlink, inode, target] = f as [string, string, string, string, string, string, string, string, string];
      const sec = Math.floor(Number(mtime));
      const path = norm(p);
      recs.set(path, {
        line: `${path} ${type} ${mode} ${owner} ${sec >= 1_700_000_000 ? 'new' : sec} ${type === 'd' ? '-' : size}${type === 'l' ? ` -> ${target}` : ''}`,
        nlink: Number(nlink), inode, sha: '', rdev: '', xattrs: [],
      });
      if (type !== 'd') inodes.set(inode, [...(inodes.get(inode) ?? []), path]);
    } else if (tag === 'S') {
      const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(f.join('\t'));
      if (m) recs.get(norm(m[2]!))!.sha = m[1]!.slice(0, 16);
    } else if (tag === 'R') {
      recs.get(norm(f[0]!))!.rdev = f[1]!;
    } else if (tag === 'X') {
      const x = f.join('\t');
      if (x.startsWith('# file: ')) xfile = norm(x.slice(8));
      else if (x) recs.get(xfile)?.xattrs.push(x);
    }
  }
  return [...recs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => {
    const group = v.nlink > 1 && inodes.has(v.inode) ? ` links=${inodes.get(v.inode)!.sort().join(',')}` : '';
    return `${v.line} n=${v.nlink}${group}${v.sha ? ` sha=${v.sha}` : ''}${v.rdev ? ` dev=${v.rdev}` : ''}${v.xattrs.length ? ` ${v.xattrs.sort().join(' ')}` : ''}`;
  });
}

/**
 * A registry that serves fixed manifests and blobs and answers blob GETs
 * other than with a plain 200 + Content-Length: `redirect` sends a 307 to
 * another path of its own (as registries on S3 do), `redirect-host` a 307
 * to the same storage under the host name localhost (another host to a
 * client: the Authorization stays behind), `chunked` sends the body
 * without a Content-Length. Only the layers named in `odd` are served
 * that way; the rest (the config) plainly. With `tls` (makeTls's files),
 * it speaks HTTPS, and with `tls.clientCa` it serves only a client that
 * presents a certificate that CA signed. With `basicAuth`, a request under
 * /v2/ without an Authorization is answered 401 with a Basic challenge
 * (any credentials pass); /storage/ stays open, as a presigned URL is.
 * `requests` records each request, with " auth" when it carried an
 * Authorization.
 */
export async function startOddRegistry(
  repo: string, manifests: Record<string, Buffer>, blobs: Buffer[], odd: Record<string, 'redirect' | 'redirect-host' | 'chunked'>,
  opts: { tls?: { cert: string; key: string; clientCa?: string }; basicAuth?: boolean } = {},
): Promise<{ host: string; requests: string[]; stop(): void }> {
  const byDigest = new Map(blobs.map((b) => [sha256(b), b]));
  const requests: string[] = [];
  const tls = opts.tls;
  let port = 0;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '';
    requests.push(`${req.method} ${url}${req.headers.authorization ? ' auth' : ''}`);
    if (opts.basicAuth && url.startsWith('/v2/') && !req.headers.authorization) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="odd"', 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    if (url === '/v2/') { res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'); return; }
    const man = new RegExp(`^/v2/${repo}/manifests/(.+)$`).exec(url);
    if (man && manifests[man[1]!]) {
      const body = manifests[man[1]!]!;
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': body.length, 'Docker-Content-Digest': sha256(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const real = /^\/storage\/(sha256:[0-9a-f]{64})$/.exec(url);
    if (real && byDigest.has(real[1]!)) {
      const b = byDigest.get(real[1]!)!;
      res.writeHead(200, { 'Content-Length': b.length, 'Content-Type': 'application/octet-stream' }).end(req.method === 'HEAD' ? undefined : b);
      return;
    }
    const blob = new RegExp(`^/v2/${repo}/blobs/(sha256:[0-9a-f]{64})$`).exec(url);
    const b = blob ? byDigest.get(blob[1]!) : undefined;
    if (blob && b) {
      const how = odd[blob[1]!];
      if (how === 'redirect') { res.writeHead(307, { Location: `/storage/${blob[1]}`, 'Content-Length': 0 }).end(); return; }
      if (how === 'redirect-host') {
        res.writeHead(307, { Location: `${tls ? 'https' : 'http'}://localhost:${port}/storage/${blob[1]}`, 'Content-Length': 0 }).end();
        return;
      }
      if (how === 'chunked') { res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' }).end(req.method === 'HEAD' ? undefined : b); return; }
      res.writeHead(200, { 'Content-Length': b.length, 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': blob[1] }).end(req.method === 'HEAD' ? undefined : b);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
  };
  const mutual = tls?.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(tls.clientCa) } : {};
  const server = tls ? https.createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key), ...mutual }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop() {
      server.close();
      server.closeAllConnections();
    },
  };
}
