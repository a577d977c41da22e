// Figure: pulling from a local registry (Debian's docker-registry on
// 127.0.0.1): a ~200 MB image in 4 layers of incompressible data, and an
// image of 2,000 small files. rootlet pull, podman pull and skopeo copy
// to an OCI directory (which does not extract), the store emptied between
// runs; plus two references: a raw HTTP fetch of the blobs (curl, the
// network's ceiling) and GNU tar extracting the same layers from local files
// (the file system's floor for writing those files). The big image again
// over HTTPS, from a second docker-registry serving the same storage with a
// certificate of a CA both engines are given with --cert-dir (curl beside
// them with --cacert): most registries speak HTTPS.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, timeOnce } from '../lib/measure.mjs';
import { PODMAN_NOTE } from '../lib/engines.mjs';
import { layer, makeTls, push, startRegistry } from '../lib/registry.mjs';

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

function quiet(sb, argv) {
  spawnSync(argv[0], argv.slice(1), { env: sb.env, cwd: sb.root, stdio: 'ignore' });
}

export async function run(sb, { warmup, progress }) {
  const runs = Number(process.env.BENCH_PULL_RUNS) > 0 ? Number(process.env.BENCH_PULL_RUNS) : RUNS;
  const reg = await startRegistry(sb.path('registry'));
  let tlsReg;
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
    const tls = makeTls(sb.path('registry-tls-certs'));
    tlsReg = await startRegistry(sb.path('registry-tls'), { tls, storage: sb.path('registry', 'data') });
    // The CA alone in a directory of its own, for --cert-dir (Podman's certs.d of the user is under HOME, rootlet's under XDG_CONFIG_HOME).
    const certDir = sb.path('registry-tls-ca');
    mkdirSync(certDir, { recursive: true });
    copyFileSync(tls.ca, join(certDir, 'ca.crt'));
    images.https = { repo: 'bench/big', bytes: images.big.bytes, digests: images.big.digests, host: tlsReg.host };
    const oci = sb.path('skopeo-oci');
    const untar = sb.path('untar');
    const rows = [];
    const medians = {};
    let done = 0;
    const total = Object.keys(images).length * (runs + warmup);
    for (const [key, img] of Object.entries(images)) {
      const ref = `${img.host ?? reg.host}/${img.repo}`;
      const files = (img.blobs ?? []).map((b, i) => {
        const f = sb.path(`${key}-layer${i}.tgz`);
        writeFileSync(f, b);
        return f;
      });
      delete img.blobs;
      const overTls = [
        { tool: 'rootlet', argv: sb.rootletArgv(['pull', '-q', '--cert-dir', certDir, ref]), reset: () => quiet(sb, sb.rootletArgv(['rmi', ref])) },
        { tool: 'podman', argv: sb.podmanArgv(['pull', '-q', '--cert-dir', certDir, ref]), reset: () => quiet(sb, sb.podmanArgv(['rmi', '-f', ref])) },
        {
          tool: 'curl',
          argv: ['sh', '-c', `${img.digests.map((d) => `curl -sf --cacert ${tls.ca} -o /dev/null https://${img.host}/v2/${img.repo}/blobs/${d} &`).join(' ')} wait`],
          reset: () => {},
        },
      ];
      const tools = key === 'https' ? overTls : [
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
      const label = key === 'small' ? `${SMALL_FILES} small files` : `~${Math.round(img.bytes / 1e6)} MB in ${BIG_LAYERS} layers${key === 'https' ? ', over HTTPS' : ''}`;
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
    const h = medians.https;
    // Issue 16's targets: the big image at least 1.5× Podman's speed and at most 1.3× the extraction floor
    // (GNU tar of the same layers from local files); the small-file image within 1.2× of GNU tar alone.
    const summary = [
      { label: 'big image: rootlet / Podman speed', value: b.podman / b.rootlet, text: `${(b.podman / b.rootlet).toFixed(2)}× (target ≥ 1.5×: ${b.podman / b.rootlet >= 1.5 ? 'met' : 'not met'})` },
      { label: 'big image: rootlet / extraction floor (GNU tar)', value: b.rootlet / b.tar, text: `${(b.rootlet / b.tar).toFixed(2)}× the floor's time (target ≤ 1.3×: ${b.rootlet / b.tar <= 1.3 ? 'met' : 'not met'}); skopeo ${(b.skopeo / b.rootlet).toFixed(2)}× rootlet's speed` },
      { label: 'big image over HTTPS: rootlet / Podman speed', value: h.podman / h.rootlet, text: `${(h.podman / h.rootlet).toFixed(2)}×; rootlet ${(h.rootlet / b.rootlet).toFixed(2)}× its plain-HTTP time, Podman ${(h.podman / b.podman).toFixed(2)}×` },
      { label: 'small-file image: rootlet / GNU tar alone', value: s.rootlet / s.tar, text: `${(s.rootlet / s.tar).toFixed(2)}× (target ≤ 1.2×: ${s.rootlet / s.tar <= 1.2 ? 'met' : 'not met'}); rootlet ${(s.rootlet / 1000).toFixed(2)} s, Podman ${(s.podman / 1000).toFixed(2)} s, skopeo ${(s.skopeo / 1000).toFixed(2)} s, GNU tar alone ${(s.tar / 1000).toFixed(2)} s` },
    ];
    return {
      id,
      title: 'pull from a local docker-registry',
      description:
        `Wall time of a pull over loopback from Debian's docker-registry, median of ${runs} runs per tool after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, ` +
        'tools interleaved; the image is removed (rootlet rmi, podman rmi, rm -rf of the OCI directory) before every run, outside the timed span. ' +
        'MB/s counts the compressed blob bytes. rootlet and Podman download, verify and extract; skopeo downloads and verifies; curl only downloads. ' +
        'Over HTTPS: a second docker-registry on the same storage, its CA given to both engines with --cert-dir (curl: --cacert).',
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
    tlsReg?.proc.kill('SIGKILL');
    for (const d of ['registry', 'registry-tls', 'registry-tls-certs', 'registry-tls-ca']) rmSync(sb.path(d), { recursive: true, force: true });
  }
}
