// Figure: logs at scale, rootlet and Podman side by side. A container that
// wrote 1 GiB of output: `logs --tail 10` of it (interleaved; also by the
// docker CLI through each engine's API service); and a
// container run with `--log-opt max-size=10m` that writes 200 MiB: how much
// its log files take on disk afterwards (rotation keeps it bounded).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { timeInterleaved } from '../lib/measure.mjs';
import { PODMAN_NOTE } from '../lib/engines.mjs';
import { MB, SIDE_COLUMNS, atMost, scaleEngines, sideBySide } from '../lib/scale.mjs';
import { startService } from '../lib/api-service.mjs';

export const id = 'scale-logs';

const GiB = 1 << 30;
const BIG = Number(process.env.BENCH_SCALE_LOG_BYTES) > 0 ? Number(process.env.BENCH_SCALE_LOG_BYTES) : GiB;
const ROTATED = 200 << 20;
const MAX_SIZE = '10m';
const MAX_SIZE_BYTES = 10 << 20;
/**
 * 1,023 characters and a newline: 1 GiB is exactly 1 Mi whole lines. Short
 * lines (`yes` alone) would make each engine's log ~3× the output, since
 * the k8s-file format adds a ~40-byte time stamp and stream tag per line.
 */
const LINE = '0123456789abcdef'.repeat(64).slice(0, 1023);
const MIN_SAMPLES = 10;

function execOut(sb, argv, what) {
  const r = spawnSync(argv[0], argv.slice(1), { env: sb.env, cwd: sb.root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').pop()}`);
  return r.stdout;
}

/** The engine's flags that give the container a log file (Podman's default may be journald). */
const logFlags = (e) => (e.key === 'podman' ? ['--log-driver', 'k8s-file'] : []);

/** Runs a detached writer of `bytes` and waits for it to exit; the wall time in ms. */
function writeLog(sb, e, name, bytes, extra = []) {
  const t0 = process.hrtime.bigint();
  execOut(sb, e.argv(['run', '-d', '--net', 'none', '--name', name, ...logFlags(e), ...extra, e.image,
    'sh', '-c', `yes '${LINE}' | head -c ${bytes}`]), `${e.label} run -d ${name}`);
  const code = execOut(sb, e.argv(['wait', name]), `${e.label} wait ${name}`).trim();
  if (code !== '0') throw new Error(`${e.label}: the log writer ${name} exited ${code}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The container's log file (inspect's LogPath) and the files beside it of its name (rotated parts): their bytes. */
function logFiles(sb, e, name) {
  const rec = JSON.parse(execOut(sb, e.argv(['inspect', name]), `${e.label} inspect ${name}`))[0];
  // Podman 4.3 names it only in HostConfig.LogConfig.Path.
  const path = rec?.LogPath || rec?.HostConfig?.LogConfig?.Path;
  if (!path) throw new Error(`${e.label} inspect ${name}: no LogPath`);
  const dir = dirname(path);
  const files = readdirSync(dir).filter((f) => f.startsWith(basename(path))).map((f) => join(dir, f));
  return { path, files: files.map((f) => basename(f)), bytes: files.reduce((n, f) => n + statSync(f).size, 0) };
}

/** Whether `logs --tail 10` prints 10 whole lines of what was written. */
function tailIsRight(sb, e, name) {
  const out = execOut(sb, e.argv(['logs', '--tail', '10', name]), `${e.label} logs --tail 10`);
  const got = out.split('\n').filter(Boolean);
  return got.length === 10 && got.every((l) => l === LINE) ? 'right' : `wrong: ${got.length} lines, first ${JSON.stringify((got[0] ?? '').slice(0, 40))}`;
}

export async function run(sb, { runs, warmup }) {
  const E = scaleEngines(sb);
  const engines = Object.values(E);
  const notes = [PODMAN_NOTE];
  const problems = [];
  const big = 'scale-biglog';
  const rot = 'scale-rotlog';
  try {
    const writeMs = {};
    const files = {};
    const check = {};
    process.stderr.write(`writing ${BIG} bytes of log each… `);
    // One engine after the other: both write to the same disk.
    for (const e of engines) {
      writeMs[e.key] = writeLog(sb, e, big, BIG);
      files[e.key] = logFiles(sb, e, big);
      check[e.key] = tailIsRight(sb, e, big);
      if (check[e.key] !== 'right') problems.push(`${e.label} logs --tail 10 ${big}: ${check[e.key]}`);
    }
    const n = Math.max(runs, MIN_SAMPLES);
    process.stderr.write('logs --tail 10… ');
    // Also by the docker CLI through each engine's API service (started for this, stopped after), interleaved with the engines' own.
    const svc = {};
    let s;
    try {
      for (const e of engines) svc[e.key] = await startService(sb, e.argv(['system', 'service']), sb.path(`logs-${e.key}.sock`));
      s = await timeInterleaved(engines.flatMap((e) => [
        { tool: e.key, argv: e.argv(['logs', '--tail', '10', big]) },
        { tool: `${e.key}-api`, argv: svc[e.key].docker(['logs', '--tail', '10', big]) },
      ]), { env: sb.env, cwd: sb.root, runs: n, warmup });
    } finally {
      for (const v of Object.values(svc)) await v.stop();
    }
    // The big logs go before the rotation part, to keep the disk's use down.
    for (const e of engines) execOut(sb, e.argv(e.key === 'podman' ? ['rm', '-f', '-t', '0', big] : ['rm', '-f', big]), `${e.label} rm ${big}`);

    process.stderr.write(`writing ${ROTATED} bytes with max-size=${MAX_SIZE}…\n`);
    const rotMs = {};
    const rotFiles = {};
    const rotCheck = {};
    for (const e of engines) {
      rotMs[e.key] = writeLog(sb, e, rot, ROTATED, ['--log-opt', `max-size=${MAX_SIZE}`]);
      rotFiles[e.key] = logFiles(sb, e, rot);
      rotCheck[e.key] = tailIsRight(sb, e, rot);
      if (rotCheck[e.key] !== 'right') problems.push(`${e.label} logs --tail 10 ${rot} (rotated): ${rotCheck[e.key]}`);
    }
    const bounded = (b) => `≤ 2 × max-size (${(2 * MAX_SIZE_BYTES / MB).toFixed(1)} MB): ${b <= 2 * MAX_SIZE_BYTES ? 'met' : '**not met**'}`;
    const gib = (BIG / GiB).toFixed(BIG % GiB ? 2 : 0);
    const rows = [
      sideBySide(`writing ${gib} GiB of output (run -d … until wait returns), s`, writeMs.rootlet / 1000, writeMs.podman / 1000),
      sideBySide(`its log file on disk, MB`, files.rootlet.bytes / MB, files.podman.bytes / MB),
      sideBySide(`logs --tail 10 of it, median ms`, s.rootlet, s.podman, { target: atMost(100) }),
      sideBySide(`the same by the docker CLI through the engine's API service, median ms`, s['rootlet-api'], s['podman-api'], { target: atMost(100) }),
      sideBySide(`writing ${ROTATED / (1 << 20)} MiB with --log-opt max-size=${MAX_SIZE}, s`, rotMs.rootlet / 1000, rotMs.podman / 1000),
      sideBySide(`its log files on disk afterwards, MB`, rotFiles.rootlet.bytes / MB, rotFiles.podman.bytes / MB, { target: (r) => bounded(r * MB) }),
    ];
    notes.push(
      `The writer is \`sh -c "yes LINE | head -c BYTES"\` in busybox, LINE 1,023 characters (so whole lines: the k8s-file format adds a time stamp and stream tag of ~40 bytes per line, which short lines would multiply). ` +
      `Podman runs with \`--log-driver k8s-file\`: its default here may be journald, which keeps no log file; k8s-file is rootlet's default and only file driver.`,
      `logs --tail 10: median of ${n} runs per tool after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, interleaved; output thrown away. ` +
      `Checked once beforehand that it prints 10 whole lines of what was written: rootlet ${check.rootlet}, Podman ${check.podman}; after rotation: rootlet ${rotCheck.rootlet}, Podman ${rotCheck.podman}. ` +
      `The docker CLI row: \`docker logs --tail 10\` on each engine's \`system service --time 0\`, started before these runs (a process already running, so the row is the client's start and one request), interleaved with the engines' own commands.`,
      `Log files: the file inspect's LogPath names and the files beside it that start with its name. Big log: rootlet ${files.rootlet.files.join(', ')}, Podman ${files.podman.files.join(', ')}. ` +
      `With max-size: rootlet ${rotFiles.rootlet.files.join(', ')} (${rotFiles.rootlet.bytes} bytes), Podman ${rotFiles.podman.files.join(', ')} (${rotFiles.podman.bytes} bytes).`,
    );
    return {
      id,
      title: `logs at scale: logs --tail 10 of a ${gib} GiB log, and --log-opt max-size=${MAX_SIZE}`,
      description: 'rootlet and Podman side by side, on the sandbox\'s stores; each writer runs detached and alone. Ratio: rootlet over Podman.',
      runs: n,
      warmup,
      columns: SIDE_COLUMNS,
      rows,
      summary: [],
      notes: [...notes, ...problems.map((p) => `Problem: ${p}`)],
    };
  } finally {
    // One name per call: with a missing name in the list, Podman 4.3's rm -f removes none of the others.
    for (const e of engines) {
      for (const name of [big, rot]) {
        const argv = e.argv(e.key === 'podman' ? ['rm', '-f', '-t', '0', name] : ['rm', '-f', name]);
        spawnSync(argv[0], argv.slice(1), { env: sb.env, cwd: sb.root, stdio: 'ignore' });
      }
    }
  }
}
