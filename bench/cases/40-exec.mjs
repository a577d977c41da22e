// Figure: the latency of `exec NAME true` in a running detached container,
// the cost of every `docker exec`-style probe, script step or shell.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { latencyRow, summarize, timeInterleaved, timeOnce } from '../lib/measure.mjs';
import { dirname } from 'node:path';
import { engines, holders, PODMAN_NOTE, removeAll, runDetachedArgv } from '../lib/engines.mjs';
import { describe, reapLeftovers, snapshot } from '../lib/procs.mjs';

export const id = 'exec';

const RUNS = 20;
const NAME = 'bench-exec';
/** A Podman container without seccomp filter, as rootlet's are: an exec'd process gets the container's filter. */
const NAME_NOSEC = 'bench-exec-noseccomp';
const CMD = ['sleep', '100000'];
const EXEC = ['true'];
const TARGET_RATIO = 0.5;

/** Whether this rootlet has `exec`: an unknown command's --help prints the general help and exits 0. */
function rootletExec(sb) {
  const r = spawnSync(sb.rootletArgv(['exec', '--help'])[0], sb.rootletArgv(['exec', '--help']).slice(1), { env: sb.env, cwd: sb.root, encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, why: `\`rootlet exec --help\` exited ${r.status ?? r.signal}` };
  if (!/^Usage: rootlet exec\b/m.test(r.stdout)) return { ok: false, why: 'this rootlet has no exec command' };
  return { ok: true };
}

/** rootlet's full id of a container, by name, from `ps --no-trunc` (no inspect yet). */
function rootletId(sb, name) {
  for (const line of sb.rootlet('ps', '--no-trunc').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[f.length - 1] === name) return f[0];
  }
  throw new Error(`rootlet ps does not list ${name}`);
}

/**
 * The floor: `runc exec` of the same container with no engine around it,
 * in rootlet's user namespace, against rootlet's runc state directory.
 */
function floorArgv(sb) {
  const info = sb.rootletInfo();
  const runcRoot = join(info.storage.runRoot, 'runc');
  return ['nsenter', '-U', '-t', String(sb.holderPid()), '--preserve-credentials', '--',
    'runc', '--root', runcRoot, 'exec', rootletId(sb, NAME), ...EXEC];
}

function tryOnce(sb, argv) {
  try {
    timeOnce(argv, sb.env, sb.root);
    return undefined;
  } catch (err) {
    return err.message.split('\n').pop().slice(0, 300);
  }
}

export async function run(sb, { warmup, progress }) {
  const E = engines(sb);
  const runs = Number(process.env.BENCH_RUNS) > 0 ? Number(process.env.BENCH_RUNS) : RUNS;
  const available = rootletExec(sb);
  const notes = [PODMAN_NOTE];
  const keep = holders(sb);
  const before = snapshot();
  let fig;
  try {
    for (const e of [E.rootlet, E.podman]) sb.exec(runDetachedArgv(e, NAME, CMD), `${e.label}: run -d ${NAME}`);
    sb.exec(runDetachedArgv(E.podmanNoSeccomp, NAME_NOSEC, CMD), `${E.podmanNoSeccomp.label}: run -d ${NAME_NOSEC}`);
    const commands = [
      { tool: 'podman', argv: E.podman.argv(['exec', NAME, ...EXEC]) },
      { tool: 'podmanNoSeccomp', argv: E.podman.argv(['exec', NAME_NOSEC, ...EXEC]) },
    ];
    const missing = {};
    if (available.ok) {
      const argv = E.rootlet.argv(['exec', NAME, ...EXEC]);
      const why = tryOnce(sb, argv);
      if (why) missing.rootlet = `failed: ${why}`;
      else commands.unshift({ tool: 'rootlet', argv });
    } else {
      missing.rootlet = `not available (${available.why})`;
    }
    const floor = floorArgv(sb);
    const floorWhy = tryOnce(sb, floor);
    if (floorWhy) missing.runc = `failed: ${floorWhy}`;
    else commands.push({ tool: 'runc', argv: floor });
    commands.push({ tool: 'node', argv: [process.execPath, '-e', '0'] });

    const samples = await timeInterleaved(commands, { env: sb.env, cwd: sb.root, runs, warmup, onRound: progress });
    const stats = Object.fromEntries(Object.entries(samples).map(([t, s]) => [t, summarize(s)]));
    const what = {
      rootlet: 'rootlet exec',
      podman: 'podman exec (overlay, runc)',
      podmanNoSeccomp: 'podman exec, container without seccomp filter',
      runc: 'bare runc exec (the floor)',
    };
    const rows = ['rootlet', 'podman', 'podmanNoSeccomp', 'runc'].map((tool) => (stats[tool]
      ? { ...latencyRow(what[tool], stats[tool], samples[tool], commands.find((c) => c.tool === tool).argv), status: '' }
      : { tool: what[tool], status: missing[tool] }));
    const summary = [];
    if (stats.rootlet) {
      const ratio = stats.rootlet.median / stats.podman.median;
      summary.push(
        { label: 'rootlet / Podman (medians)', value: ratio, text: `${ratio.toFixed(2)}× (Podman takes ${(1 / ratio).toFixed(2)}× as long)` },
        { label: `rootlet's target (≤ ${TARGET_RATIO}× Podman)`, value: ratio, text: `${ratio <= TARGET_RATIO ? 'met' : 'not met'}: ${ratio.toFixed(3)}×` },
      );
      const r2 = stats.rootlet.median / stats.podmanNoSeccomp.median;
      summary.push({ label: 'rootlet / Podman without seccomp filter', value: r2, text: `${r2.toFixed(2)}×` });
      if (stats.runc) summary.push({ label: 'rootlet − runc (medians)', value: stats.rootlet.median - stats.runc.median, text: `${(stats.rootlet.median - stats.runc.median).toFixed(1)} ms of engine overhead` });
    } else {
      summary.push({ label: 'rootlet / Podman', value: null, text: `not measured: rootlet exec ${missing.rootlet}` });
    }
    notes.push(
      'rootlet starts containers without a seccomp filter; Podman loads its default profile, and `runc exec` ' +
        'compiles it again for each exec\'d process: the "without seccomp filter" row (`--security-opt seccomp=unconfined`) ' +
        'compares like with like.',
    );
    notes.push(`\`node -e 0\` takes ${stats.node.median.toFixed(1)} ms (median, same rounds): with runc exec, the least a node CLI that execs through runc can take.`);
    fig = {
      id,
      title: `exec ${NAME} ${EXEC.join(' ')} (running detached busybox)`,
      description:
        `Wall time of \`exec\` of \`${EXEC.join(' ')}\` in a running detached container (\`${CMD.join(' ')}\`), from fork to exit. ` +
        `${runs} runs per tool after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, interleaved round-robin. The runc row is ` +
        `\`runc exec\` of rootlet's container, in rootlet's user namespace, with rootlet's runc state: what any engine on runc pays at least.`,
      runs,
      warmup,
      columns: [
        { key: 'tool', label: 'tool' },
        { key: 'median_ms', label: 'median ms' },
        { key: 'p90_ms', label: 'p90 ms' },
        { key: 'min_ms', label: 'min ms' },
        { key: 'status', label: 'status' },
      ],
      rows,
      summary,
      notes,
    };
    return fig;
  } finally {
    for (const [e, names] of [[E.rootlet, [NAME]], [E.podman, [NAME, NAME_NOSEC]]]) {
      for (const p of removeAll(sb, e, names)) process.stderr.write(`\nbench: cleanup: ${p}\n`);
    }
    const left = await reapLeftovers(before, [sb.root, dirname(sb.bin)], { keep });
    if (left.length) fig?.notes.push(`Still running 5 s after \`rm -f\`, and killed by the bench: ${describe(left)}.`);
  }
}
