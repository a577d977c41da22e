// Figure: many layers and many files, rootlet and Podman side by side.
// An image of 100 layers (busybox's root file system, then 99 layers of one
// small file each) pushed to a local registry: pull, run --rm and rmi of
// it, timed per round, and the pull's time per layer; and a container that
// wrote 20,000 files in its own layer: `diff` of it and `cp` of the
// directory out to the host.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { timeOnce } from '../lib/measure.mjs';
import { PODMAN_NOTE } from '../lib/engines.mjs';
import { layer, layerFromTar, push, startRegistry } from '../lib/registry.mjs';
import { SIDE_COLUMNS, ratioAtMost, scaleEngines, sideBySide } from '../lib/scale.mjs';

export const id = 'scale-layers';

const LAYERS = Number(process.env.BENCH_SCALE_LAYERS) > 0 ? Number(process.env.BENCH_SCALE_LAYERS) : 100;
const FILES = Number(process.env.BENCH_SCALE_FILES) > 0 ? Number(process.env.BENCH_SCALE_FILES) : 20000;
const FILES_PER_DIR = 1000;

function execOut(sb, argv, what) {
  const r = spawnSync(argv[0], argv.slice(1), { env: sb.env, cwd: sb.root, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').pop()}`);
  return r.stdout;
}

function quiet(sb, argv) {
  spawnSync(argv[0], argv.slice(1), { env: sb.env, cwd: sb.root, stdio: 'ignore' });
}

/** Files (not directories) under dir, recursively. */
function countFiles(dir) {
  let n = 0;
  for (const d of readdirSync(dir, { withFileTypes: true })) n += d.isDirectory() ? countFiles(join(dir, d.name)) : 1;
  return n;
}

/** Times fn's commands in rounds, the engines' order rotated each round; samples per engine and step. */
function rounds(engines, n, warmup, stepsOf, { before, progress } = {}) {
  const samples = {};
  for (let round = 0; round < warmup + n; round++) {
    for (let i = 0; i < engines.length; i++) {
      const e = engines[(round + i) % engines.length];
      before?.(e);
      for (const [step, fn] of Object.entries(stepsOf(e))) {
        const ms = fn();
        if (round >= warmup) ((samples[e.key] ??= {})[step] ??= []).push(ms);
      }
    }
    progress?.(round + 1);
  }
  return samples;
}

export async function run(sb, { runs, warmup }) {
  const E = scaleEngines(sb);
  const engines = Object.values(E);
  const notes = [PODMAN_NOTE];
  const problems = [];
  const reg = await startRegistry(sb.path('registry-layers'));
  const files = 'scale-files';
  const out = sb.path('cp-out');
  const repo = 'bench/layers';
  const ref = `${reg.host}/${repo}`;
  try {
    process.stderr.write(`pushing an image of ${LAYERS} layers… `);
    const layers = [layerFromTar(readFileSync(sb.path('busybox.tar')))];
    for (let i = 1; i < LAYERS; i++) layers.push(layer(sb.path('layer'), [[`layers/l${i}`, randomBytes(1024 + (i % 8) * 512)]]));
    const pushed = await push(reg.host, repo, layers, { cmd: ['/bin/sh'] });
    layers.length = 0;

    // Untimed: does each engine end up with all the layers?
    const layerCount = {};
    for (const e of engines) {
      quiet(sb, e.argv(['rmi', '-f', ref]));
      execOut(sb, e.argv(['pull', '-q', '--tls-verify=false', ref]), `${e.label} pull`);
      const img = JSON.parse(execOut(sb, e.argv(['image', 'inspect', ref]), `${e.label} image inspect`))[0];
      layerCount[e.key] = img?.RootFS?.Layers?.length;
      if (layerCount[e.key] !== LAYERS) problems.push(`${e.label} image inspect ${ref}: RootFS.Layers has ${layerCount[e.key]} layers, pushed ${LAYERS}`);
      const r = spawnSync(e.argv(['run', '--rm', '--net', 'none', ref, 'cat', `/layers/l${LAYERS - 1}`])[0], e.argv(['run', '--rm', '--net', 'none', ref, 'cat', `/layers/l${LAYERS - 1}`]).slice(1), { env: sb.env, cwd: sb.root });
      if (r.status !== 0 || r.stdout.length !== 1024 + ((LAYERS - 1) % 8) * 512) problems.push(`${e.label} run --rm ${ref} cat /layers/l${LAYERS - 1}: exit ${r.status}, ${r.stdout.length} bytes: ${r.stderr.toString().trim().split('\n').pop()}`);
      quiet(sb, e.argv(['rmi', '-f', ref]));
    }

    process.stderr.write('pull, run --rm, rmi… ');
    const pullSamples = rounds(engines, runs, warmup, (e) => ({
      pull: () => timeOnce(e.argv(['pull', '-q', '--tls-verify=false', ref]), sb.env, sb.root),
      run: () => timeOnce(e.argv(['run', '--rm', '--net', 'none', ref, 'true']), sb.env, sb.root),
      rmi: () => timeOnce(e.argv(['rmi', ref]), sb.env, sb.root),
    }), { before: (e) => quiet(sb, e.argv(['rmi', '-f', ref])) });

    process.stderr.write(`a container of ${FILES} files… `);
    const dirs = Math.ceil(FILES / FILES_PER_DIR);
    // Each file holds its own name, written by the shell's builtin echo.
    const script = `set -e; for d in $(seq 1 ${dirs}); do mkdir -p /data/d$d; cd /data/d$d; for f in $(seq 1 ${Math.min(FILES, FILES_PER_DIR)}); do echo $d-$f > f$f; done; done`;
    const diffLines = {};
    for (const e of engines) {
      execOut(sb, e.argv(['run', '--net', 'none', '--name', files, e.image, 'sh', '-c', script]), `${e.label} run (writing ${FILES} files)`);
      const diff = execOut(sb, e.argv(['diff', files]), `${e.label} diff`);
      diffLines[e.key] = diff.split('\n').filter((l) => /\/data\/d\d+\/f\d+$/.test(l)).length;
      if (diffLines[e.key] !== dirs * Math.min(FILES, FILES_PER_DIR)) problems.push(`${e.label} diff ${files}: ${diffLines[e.key]} lines name a written file, wrote ${dirs * Math.min(FILES, FILES_PER_DIR)}`);
    }
    const copied = {};
    process.stderr.write('diff, cp…\n');
    const fileSamples = rounds(engines, runs, warmup, (e) => ({
      diff: () => timeOnce(e.argv(['diff', files]), sb.env, sb.root),
      cp: () => {
        rmSync(out, { recursive: true, force: true });
        const ms = timeOnce(e.argv(['cp', `${files}:/data`, out]), sb.env, sb.root);
        copied[e.key] = countFiles(out);
        return ms;
      },
    }));
    rmSync(out, { recursive: true, force: true });
    for (const e of engines) {
      if (copied[e.key] !== dirs * Math.min(FILES, FILES_PER_DIR)) problems.push(`${e.label} cp ${files}:/data: ${copied[e.key]} files on the host, wrote ${dirs * Math.min(FILES, FILES_PER_DIR)}`);
    }

    const p = (k, step) => pullSamples[k][step];
    const f = (k, step) => fileSamples[k][step];
    const perLayer = (k) => p(k, 'pull').map((ms) => ms / LAYERS);
    const rows = [
      sideBySide(`pull of ${LAYERS} layers (${(pushed.bytes / 1e6).toFixed(1)} MB compressed), median ms`, p('rootlet', 'pull'), p('podman', 'pull')),
      sideBySide('  the same per layer, ms', perLayer('rootlet'), perLayer('podman')),
      sideBySide(`run --rm --net none of it, median ms`, p('rootlet', 'run'), p('podman', 'run')),
      sideBySide(`rmi of it, median ms`, p('rootlet', 'rmi'), p('podman', 'rmi')),
      sideBySide(`diff of a container that wrote ${FILES} files, median ms`, f('rootlet', 'diff'), f('podman', 'diff'), { target: ratioAtMost(2) }),
      sideBySide(`cp of its ${FILES}-file directory to the host, median ms`, f('rootlet', 'cp'), f('podman', 'cp'), { target: ratioAtMost(2) }),
    ];
    notes.push(
      `The image: busybox's root file system as its first layer, then ${LAYERS - 1} layers of one file each (1–4.5 KiB of random data), pushed to Debian's docker-registry on 127.0.0.1 (gzip level 1). ` +
      `Each round, per engine (order rotated): the image removed untimed, then pull, run --rm … true and rmi, each timed; median of ${runs} rounds after ${warmup} warm-up. ` +
      `Checked once, untimed: image inspect lists ${layerCount.rootlet} layers (rootlet) and ${layerCount.podman} (Podman); a file of the top layer reads back whole in both.`,
      `The ${FILES} files: \`run\` (foreground, not removed) of busybox \`sh\` writing ${dirs} directories of ${Math.min(FILES, FILES_PER_DIR)} files under /data, each holding a few bytes; the container has exited when diff and cp run. ` +
      `diff prints every path (rootlet ${diffLines.rootlet}, Podman ${diffLines.podman} file lines, output thrown away); cp writes to a fresh host directory each time (removed untimed), files copied: rootlet ${copied.rootlet}, Podman ${copied.podman}. ` +
      `Median of ${runs} rounds after ${warmup} warm-up, engines' order rotated.`,
    );
    return {
      id,
      title: `many layers, many files: an image of ${LAYERS} layers; diff and cp of ${FILES} files`,
      description: 'rootlet and Podman side by side, on the sandbox\'s stores, wall times fork to exit. Ratio: rootlet over Podman.',
      runs,
      warmup,
      columns: SIDE_COLUMNS,
      rows,
      summary: [],
      notes: [...notes, ...problems.map((x) => `Problem: ${x}`)],
    };
  } finally {
    for (const e of engines) {
      quiet(sb, e.argv(e.key === 'podman' ? ['rm', '-f', '-t', '0', files] : ['rm', '-f', files]));
      quiet(sb, e.argv(['rmi', '-f', ref]));
    }
    rmSync(out, { recursive: true, force: true });
    reg.proc.kill('SIGKILL');
    rmSync(sb.path('registry-layers'), { recursive: true, force: true });
  }
}
