import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BIN, type Result, type Sandbox } from './helpers.js';
import { sha256 } from './tar-fixtures.js';

/**
 * Registries for the tests: Debian's real `docker-registry` (plain HTTP,
 * TLS with a CA made here plus htpasswd, or token auth with the token
 * server below), and a tiny fake for the registries that lie (the client
 * is what is under test there). Everything listens on 127.0.0.1 on a free
 * port and is stopped by `stop()` or when the test process exits.
 */

const children = new Set<ChildProcess>();

/**
 * Runs rootlet without blocking this process: servers written in the test
 * (token server, fake registries) live in this process and must answer.
 */
export function runAsync(sb: Sandbox, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...sb.env, ...opts.env }, cwd: sb.root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdin!.end(opts.input ?? '');
    child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

export async function okAsync(sb: Sandbox, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await runAsync(sb, args, opts);
  if (r.code !== 0) throw new Error(`rootlet ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function sh(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A CA and a server certificate for 127.0.0.1 signed by it, made with openssl. */
export function makeTls(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=rootlet test CA'], dir);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  sh('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf'], dir);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/** A client certificate signed by makeTls's CA in dir (which holds ca.crt and ca.key): certs.d's `client.cert` and `client.key`. */
export function makeClientCert(dir: string): { cert: string; key: string } {
  sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=rootlet test client'], dir);
  sh('openssl', ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.cert', '-days', '2'], dir);
  return { cert: join(dir, 'client.cert'), key: join(dir, 'client.key') };
}

export interface Registry {
  host: string;
  dir: string;
  stop(): void;
}

export interface RegistryOptions {
  tls?: { cert: string; key: string };
  htpasswd?: Array<{ user: string; password: string }>;
  token?: { realm: string; service: string; issuer: string; bundle: string };
}

async function waitForPort(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`registry exited: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`registry did not listen: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Debian's docker-registry on 127.0.0.1, in a temporary directory of its own. */
export async function startRegistry(o: RegistryOptions = {}): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'rootlet-registry-'));
  const port = await freePort();
  const lines = ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${dir}/data`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`];
  if (o.tls) lines.push('  tls:', `    certificate: ${o.tls.cert}`, `    key: ${o.tls.key}`);
  if (o.htpasswd) {
    const file = join(dir, 'htpasswd');
    writeFileSync(file, o.htpasswd.map((u) => sh('htpasswd', ['-nbB', u.user, u.password]).trim()).join('\n') + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: rootlet-test', `    path: ${file}`);
  }
  if (o.token) {
    lines.push('auth:', '  token:', `    realm: ${o.token.realm}`, `    service: ${o.token.service}`, `    issuer: ${o.token.issuer}`, `    rootcertbundle: ${o.token.bundle}`);
  }
  writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  let log = '';
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  await waitForPort(port, proc, () => log);
  return {
    host: `127.0.0.1:${port}`,
    dir,
    stop() {
      proc.kill('SIGKILL');
      children.delete(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * A token server as distribution 2.8 expects: JWTs signed RS256 with a key
 * whose self-signed certificate is the registry's rootcertbundle, named in
 * the header's x5c; claims iss, sub, aud, exp, nbf, iat, jti and access.
 */
export async function startTokenServer(users: Record<string, string>): Promise<{ realm: string; service: string; issuer: string; bundle: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'rootlet-token-'));
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.crt', '-days', '2', '-subj', '/CN=rootlet test token issuer'], dir);
  const key = createPrivateKey(readFileSync(join(dir, 'token.key')));
  const der = Buffer.from(readFileSync(join(dir, 'token.crt'), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const service = 'rootlet-test-registry';
  const issuer = 'rootlet-test-issuer';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let sub = '';
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (users[u!] !== p.join(':')) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"wrong user name or password"}]}');
        return;
      }
      sub = u!;
    }
    // Anonymous users get no access; known users everything they ask for.
    const access = sub ? url.searchParams.getAll('scope').map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      return { type, name: rest.join(':'), actions };
    }) : [];
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    bundle: join(dir, 'token.crt'),
    stop() {
      server.close();
      server.closeAllConnections();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawImage {
  manifest: Buffer;
  config: Buffer;
  layers: Array<{ blob: Buffer; diffId: string }>;
  digest: string;
}

/** An OCI image from layer tars (gzipped here), with a config that names them. */
export function makeImage(tars: Buffer[], opts: { architecture?: string; cmd?: string[]; compress?: boolean } = {}): RawImage {
  const layers = tars.map((t) => ({ blob: opts.compress === false ? t : gzipSync(t, { level: 1 }), diffId: sha256(t) }));
  const config = Buffer.from(JSON.stringify({
    architecture: opts.architecture ?? 'amd64', os: 'linux',
    config: { Cmd: opts.cmd ?? ['/bin/sh'], Env: ['PATH=/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: opts.compress === false ? 'application/vnd.oci.image.layer.v1.tar' : 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l.blob), size: l.blob.length })),
  }));
  return { manifest, config, layers, digest: sha256(manifest) };
}

async function call(url: string, init: RequestInit): Promise<Response> {
  const r = await fetch(url, init);
  if (r.status >= 300) throw new Error(`${init.method ?? 'GET'} ${url}: ${r.status} ${await r.text()}`);
  return r;
}

/** Pushes raw blobs and a manifest to a plain-HTTP registry without auth (for images rootlet cannot make: several layers, hostile layers). */
export async function pushRaw(host: string, repo: string, tag: string, img: RawImage): Promise<void> {
  for (const blob of [img.config, ...img.layers.map((l) => l.blob)]) {
    const start = await call(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(start.headers.get('location')!, `http://${host}`);
    loc.searchParams.set('digest', sha256(blob));
    await call(loc.href, { method: 'PUT', body: new Uint8Array(blob), headers: { 'Content-Type': 'application/octet-stream' } });
  }
  await putManifest(host, repo, tag, img.manifest, 'application/vnd.oci.image.manifest.v1+json');
}

export async function putManifest(host: string, repo: string, tag: string, body: Buffer, type: string): Promise<void> {
  await call(`http://${host}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': type } });
}

/**
 * A fake registry serving fixed manifests and blobs, for what the real one
 * would never serve: a blob that is not its digest, a missing blob, a cut
 * connection. `blobs` maps a digest to the bytes sent, or to
 * `{ truncate: n }` to send the right Content-Length and stop after n bytes.
 */
/** A blob served cut short (`truncate`: bytes sent before the connection is closed) or without a Content-Length (`chunked`). */
export type FakeBlob = Buffer | { body: Buffer; truncate: number } | { body: Buffer; chunked: true };

export async function startFakeRegistry(repo: string, manifests: Record<string, Buffer>, blobs: Record<string, FakeBlob>): Promise<{ host: string; stop(): void }> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/') { res.writeHead(200).end('{}'); return; }
    const m = new RegExp(`^/v2/${repo}/(manifests|blobs)/(.+)$`).exec(url);
    if (m?.[1] === 'manifests' && manifests[m[2]!]) {
      const body = manifests[m[2]!]!;
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': body.length, 'Docker-Content-Digest': sha256(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const b = m?.[1] === 'blobs' ? blobs[m[2]!] : undefined;
    if (b) {
      if (Buffer.isBuffer(b)) { res.writeHead(200, { 'Content-Length': b.length }).end(b); return; }
      if ('chunked' in b) { res.writeHead(200).end(b.body); return; }
      res.writeHead(200, { 'Content-Length': b.body.length });
      res.write(b.body.subarray(0, b.truncate), () => res.destroy());
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end(`{"errors":[{"code":"${m?.[1] === 'manifests' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN'}","message":"${m?.[1] === 'manifests' ? 'manifest unknown' : 'blob unknown to registry'}"}]}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stop() {
      server.close();
      server.closeAllConnections();
    },
  };
}

