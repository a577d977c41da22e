// A local registry for the figures that pull: Debian's docker-registry on a
// free loopback port, in a directory of the sandbox, and images pushed to it
// made of given layers (GNU tar of files written here, gzip level 1). Shared
// by cases/50-pull.mjs and cases/94-scale-layers.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * A CA and a certificate for 127.0.0.1 signed by it, made with openssl in
 * dir: what a registry of one's own over HTTPS uses, its CA then trusted
 * through certs.d.
 * @returns {{ ca: string, cert: string, key: string }}
 */
export function makeTls(dir) {
  mkdirSync(dir, { recursive: true });
  const sh = (args) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=rootlet bench CA']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  sh(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  sh(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf']);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/**
 * Starts docker-registry with its storage under dir and waits until it
 * accepts connections. The caller kills `proc` (SIGKILL) and removes dir.
 * `tls` (makeTls's files): it speaks HTTPS; `storage`: it serves the
 * storage of another (already pushed to) instead of one of its own.
 * @returns {Promise<{ host: string, proc: import('node:child_process').ChildProcess }>}
 */
export async function startRegistry(dir, { tls, storage } = {}) {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yml'), [
    'version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
    'storage:', '  filesystem:', `    rootdirectory: ${storage ?? `${dir}/data`}`, 'http:', `  addr: 127.0.0.1:${port}`,
    ...(tls ? ['  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`] : []), '',
  ].join('\n'));
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (up) return { host: `127.0.0.1:${port}`, proc };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error('docker-registry did not start');
}

/** A layer from a tar that exists already (e.g. a root file system): { tar, blob }. */
export function layerFromTar(tar) {
  return { tar, blob: gzipSync(tar, { level: 1 }) };
}

/**
 * A layer tar made by GNU tar from files written here, gzipped at level 1
 * (incompressible data stays its size). `dir` is a scratch directory,
 * removed before and after.
 * @param {Array<[string, Buffer|string]>} files path in the layer → content
 */
export function layer(dir, files) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of files) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  const tar = spawnSync('tar', ['-C', dir, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
  rmSync(dir, { recursive: true, force: true });
  return layerFromTar(tar.stdout);
}

/**
 * Pushes an image of these layers (bottom first) as repo:latest, with an
 * OCI manifest and a config whose diff_ids match.
 * @returns {Promise<{ bytes: number, digests: string[], blobs: Buffer[] }>} compressed bytes and blobs, bottom first
 */
export async function push(host, repo, layers, { cmd = ['/bin/sh'] } = {}) {
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: cmd },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.tar)) },
  }));
  for (const blob of [config, ...layers.map((l) => l.blob)]) {
    const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(start.headers.get('location'), `http://${host}`);
    loc.searchParams.set('digest', sha256(blob));
    const put = await fetch(loc, { method: 'PUT', body: blob, headers: { 'Content-Type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`upload to ${repo}: ${put.status}`);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l.blob), size: l.blob.length })),
  });
  const r = await fetch(`http://${host}/v2/${repo}/manifests/latest`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  if (r.status !== 201) throw new Error(`manifest of ${repo}: ${r.status}`);
  return { bytes: layers.reduce((n, l) => n + l.blob.length, 0), digests: layers.map((l) => sha256(l.blob)), blobs: layers.map((l) => l.blob) };
}
