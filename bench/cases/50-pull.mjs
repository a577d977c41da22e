// Figure: pulling from a local registry (Debian's docker-registry on
// 127.0.0.1): a ~200 MB image in 4 layers of incompressible data, and an
// image of 2,000 small files. rootlet pull, podman pull and skopeo copy
// to an OCI directory (which does not extract), the store emptied between
// runs; plus two references: a raw HTTP fetch of the blobs (curl, the
// network's ceiling) and GNU tar extracting the same layers from local files
// (the file system's floor for writing those files).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { median, timeOnce } from '../lib/measure.mjs';
import { PODMAN_NOTE } from '../lib/engines.mjs';

export const id = 'pull';

const RUNS = 5;
const BIG_LAYERS = 4;
const BIG_LAYER_MB = 50;
const SMALL_FILES = 2000;

const TOOL_LABELS = {
  curl: 'raw HTTP fetch of the blobs (curl, no extraction)',
  skopeo: 'skopeo copy to oci: (no extraction)',
  tar: 'GNU tar -xz of the same layers from local files (no network)',
};

const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRegistry(dir) {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yml'), [
    'version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
    'storage:', '  filesystem:', `    rootdirectory: ${dir}/data`, 'http:', `  addr: 127.0.0.1:${port}`, '',
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

/** A layer tar made by GNU tar from files written here, gzipped at level 1 (incompressible data stays its size). */
function layer(dir, files) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of files) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  const tar = spawnSync('tar', ['-C', dir, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
  rmSync(dir, { recursive: true, force: true });
  return { tar: tar.stdout, blob: gzipSync(tar.stdout, { level: 1 }) };
}

async function push(host, repo, layers) {
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] },
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

function quiet(sb, argv) {
  spawnSync(argv[0], argv.slice(1), { env: sb.env, cwd: sb.root, stdio: 'ignore' });
}

export async function run(sb, { warmup, progress }) {
  const runs = Number(process.env.BENCH_PULL_RUNS) > 0 ? Number(process.env.BENCH_PULL_RUNS) : RUNS;
  const reg = await startRegistry(sb.path('registry'));
  try {
    process.stderr.write('building images… ');
    const big = [];
    for (let i = 0; i < BIG_LAYERS; i++) {
      big.push(layer(sb.path('layer'), Array.from({ length: 10 }, (_, j) => [`l${i}/f${j}`, randomBytes((BIG_LAYER_MB << 20) / 10)])));
    }
    const images = {
      big: { repo: 'bench/big', ...(await push(reg.host, 'bench/big', big)) },
      small: { repo: 'bench/small', ...(await push(reg.host, 'bench/small', [layer(sb.path('layer'), Array.from({ length: SMALL_FILES }, (_, j) => [`d${j % 40}/f${j}`, randomBytes(64 + (j % 16) * 64)]))])) },
    };
    big.length = 0;
    const oci = sb.path('skopeo-oci');
    const untar = sb.path('untar');
    const rows = [];
    const medians = {};
    let done = 0;
    const total = 2 * (runs + warmup);
    for (const [key, img] of Object.entries(images)) {
      const ref = `${reg.host}/${img.repo}`;
      const files = img.blobs.map((b, i) => {
        const f = sb.path(`${key}-layer${i}.tgz`);
        writeFileSync(f, b);
        return f;
      });
      delete img.blobs;
      const tools = [
        { tool: 'rootlet', argv: sb.rootletArgv(['pull', '-q', '--tls-verify=false', ref]), reset: () => quiet(sb, sb.rootletArgv(['rmi', ref])) },
        { tool: 'podman', argv: sb.podmanArgv(['pull', '-q', '--tls-verify=false', ref]), reset: () => quiet(sb, sb.podmanArgv(['rmi', '-f', ref])) },
        { tool: 'skopeo', argv: ['skopeo', 'copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}`], reset: () => rmSync(oci, { recursive: true, force: true }) },
        {
          tool: 'curl',
          argv: ['sh', '-c', `${img.digests.map((d) => `curl -sf -o /dev/null http://${reg.host}/v2/${img.repo}/blobs/${d} &`).join(' ')} wait`],
          reset: () => {},
        },
        {
          tool: 'tar',
          argv: ['sh', '-c', files.map((f, i) => `mkdir -p ${untar}/${i} && tar -xzf ${f} -C ${untar}/${i} &`).join(' ') + ' wait'],
          reset: () => rmSync(untar, { recursive: true, force: true }),
        },
      ];
      const samples = Object.fromEntries(tools.map((t) => [t.tool, []]));
      for (let round = 0; round < warmup + runs; round++) {
        for (let i = 0; i < tools.length; i++) {
          const t = tools[(round + i) % tools.length];
          t.reset();
          const ms = timeOnce(t.argv, sb.env, sb.root);
          if (round >= warmup) samples[t.tool].push(ms);
        }
        progress(++done, total);
      }
      for (const t of tools) t.reset();
      for (const f of files) rmSync(f, { force: true });
      medians[key] = Object.fromEntries(Object.entries(samples).map(([t, s]) => [t, median(s)]));
      const label = key === 'big' ? `~${Math.round(img.bytes / 1e6)} MB in ${BIG_LAYERS} layers` : `${SMALL_FILES} small files`;
      for (const t of tools) {
        const ms = medians[key][t.tool];
        rows.push({
          image: label, tool: TOOL_LABELS[t.tool] ?? t.tool,
          median_ms: ms, mb_s: img.bytes / 1e6 / (ms / 1000), samples_ms: samples[t.tool].map((v) => Math.round(v)),
        });
      }
    }
    const b = medians.big;
    const s = medians.small;
    const summary = [
      { label: 'big image: rootlet / Podman speed', value: b.podman / b.rootlet, text: `${(b.podman / b.rootlet).toFixed(2)}× (target ≥ 2×: ${b.podman / b.rootlet >= 2 ? 'met' : 'not met'})` },
      { label: 'big image: rootlet / skopeo speed', value: b.skopeo / b.rootlet, text: `${(b.skopeo / b.rootlet).toFixed(2)}× (target ≥ 1×: ${b.skopeo / b.rootlet >= 1 ? 'met' : 'not met'})` },
      { label: 'small-file image: rootlet', value: s.rootlet, text: `${(s.rootlet / 1000).toFixed(2)} s (target ≤ 0.3 s: ${s.rootlet <= 300 ? 'met' : 'not met'}); Podman ${(s.podman / 1000).toFixed(2)} s, skopeo ${(s.skopeo / 1000).toFixed(2)} s, GNU tar alone ${(s.tar / 1000).toFixed(2)} s` },
    ];
    return {
      id,
      title: 'pull from a local docker-registry',
      description:
        `Wall time of a pull over loopback from Debian's docker-registry, median of ${runs} runs per tool after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, ` +
        'tools interleaved; the image is removed (rootlet rmi, podman rmi, rm -rf of the OCI directory) before every run, outside the timed span. ' +
        'MB/s counts the compressed blob bytes. rootlet and Podman download, verify and extract; skopeo downloads and verifies; curl only downloads.',
      runs,
      warmup,
      columns: [
        { key: 'image', label: 'image' },
        { key: 'tool', label: 'tool' },
        { key: 'median_ms', label: 'median ms', digits: 0 },
        { key: 'mb_s', label: 'MB/s', digits: 0 },
      ],
      rows,
      summary,
      notes: [PODMAN_NOTE],
    };
  } finally {
    reg.proc.kill('SIGKILL');
    rmSync(sb.path('registry'), { recursive: true, force: true });
  }
}
