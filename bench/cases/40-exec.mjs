// Figure: the latency of `exec NAME true` in a running detached container,
// the cost of every `docker exec`-style probe, script step or shell.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { LATENCY_COLUMNS, latencyRow, summarize, timeInterleaved, tryOnce } from '../lib/measure.mjs';
import { engines, holders, PODMAN_NOTE, removeAll, runDetachedArgv } from '../lib/engines.mjs';
import { describe, reapLeftovers, snapshot } from '../lib/procs.mjs';

export const id = 'exec';

const RUNS = 20;
const NAME = 'bench-exec';
/** A Podman container without seccomp filter: an exec'd process gets the container's filter, which runc compiles each time. */
const NAME_NOSEC = 'bench-exec-noseccomp';
/** rootlet's container on runc (`--runtime runc`), when its default is another runtime. */
const NAME_RUNC = 'bench-exec-runc';
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

/** rootlet's full id of a container and the runtime it records (inspect's HostConfig.Runtime). */
function rootletContainer(sb, name) {
  const [id, runtime] = sb.rootlet('inspect', '--format', '{{.Id}} {{.HostConfig.Runtime}}', name).trim().split(/\s+/);
  if (!id) throw new Error(`rootlet inspect ${name} gave no id`);
  return { id, runtime };
}

/**
 * A floor: `RUNTIME exec` of one of rootlet's containers with no engine
 * around it, in rootlet's user and mount namespaces (the holder's: on a
 * hybrid cgroup host crun works only where rootlet hid the cgroup v2 tree),
 * with the runtime that created the container and rootlet's state directory
 * (<runRoot>/runc, for either runtime).
 */
function floorArgv(sb, runtime, name) {
  const info = sb.rootletInfo();
  const state = join(info.storage.runRoot, 'runc');
  const c = rootletContainer(sb, name);
  if (c.runtime && c.runtime !== runtime) throw new Error(`rootlet's container ${name} runs on ${c.runtime}, not ${runtime}`);
  return ['nsenter', '-U', '-m', '-t', String(sb.holderPid()), '--preserve-credentials', '--',
    runtime, ...(runtime === 'crun' ? [`--root=${state}`] : ['--root', state]), 'exec', c.id, ...EXEC];
}

export async function run(sb, { warmup, progress }) {
  const E = engines(sb);
  const rt = sb.defaultRuntime();
  const runs = Number(process.env.BENCH_RUNS) > 0 ? Number(process.env.BENCH_RUNS) : RUNS;
  const available = rootletExec(sb);
  const notes = [PODMAN_NOTE];
  const keep = holders(sb);
  const before = snapshot();
  // rootlet's containers: one on its default runtime, one on runc (when that is not the default).
  const rootletCtrs = [[E.rootlet, NAME], ...(E.rootletRunc ? [[E.rootletRunc, NAME_RUNC]] : [])];
  const onRuntime = { [rt]: NAME, ...(E.rootletRunc ? { runc: NAME_RUNC } : {}) };
  let fig;
  try {
    for (const [e, name] of [...rootletCtrs, [E.podman, NAME]]) sb.exec(runDetachedArgv(e, name, CMD), `${e.label}: run -d ${name}`);
    sb.exec(runDetachedArgv(E.podmanNoSeccomp, NAME_NOSEC, CMD), `${E.podmanNoSeccomp.label}: run -d ${NAME_NOSEC}`);
    const commands = [
      { tool: 'podman', argv: E.podman.argv(['exec', NAME, ...EXEC]) },
      { tool: 'podmanNoSeccomp', argv: E.podman.argv(['exec', NAME_NOSEC, ...EXEC]) },
    ];
    const missing = {};
    if (available.ok) {
      const mine = [];
      for (const [e, name] of rootletCtrs) {
        const argv = e.argv(['exec', name, ...EXEC]);
        const why = tryOnce(sb, argv);
        if (why) missing[e.key] = `failed: ${why}`;
        else mine.push({ tool: e.key, argv });
      }
      commands.unshift(...mine);
    } else {
      for (const [e] of rootletCtrs) missing[e.key] = `not available (${available.why})`;
    }
    // The floors: each runtime execs in the container it created.
    for (const [runtime, name] of Object.entries(onRuntime)) {
      let why;
      try {
        const floor = floorArgv(sb, runtime, name);
        why = tryOnce(sb, floor);
        if (!why) commands.push({ tool: runtime, argv: floor });
      } catch (err) {
        why = err.message.split('\n').pop().slice(0, 300);
      }
      if (why) missing[runtime] = `failed: ${why}`;
    }
    commands.push({ tool: 'node', argv: [process.execPath, '-e', '0'] });

    const samples = await timeInterleaved(commands, { env: sb.env, cwd: sb.root, runs, warmup, onRound: progress });
    const stats = Object.fromEntries(Object.entries(samples).map(([t, s]) => [t, summarize(s)]));
    const what = {
      rootlet: `rootlet exec (${rt})`,
      ...(E.rootletRunc ? { rootletRunc: 'rootlet exec, container run with --runtime runc' } : {}),
      podman: 'podman exec (overlay, runc)',
      podmanNoSeccomp: 'podman exec (overlay, runc), container without seccomp filter',
      [rt]: `bare ${rt} exec (the floor on ${rt})`,
      ...(E.rootletRunc ? { runc: 'bare runc exec (the floor on runc)' } : {}),
    };
    const rows = Object.keys(what).map((tool) => (stats[tool]
      ? { ...latencyRow(what[tool], stats[tool], samples[tool], commands.find((c) => c.tool === tool).argv), status: '' }
      : { tool: what[tool], status: missing[tool] ?? 'not measured' }));
    const summary = [];
    if (stats.rootlet) {
      const ratio = stats.rootlet.median / stats.podman.median;
      summary.push(
        { label: `rootlet (${rt}) / Podman (medians)`, value: ratio, text: `${ratio.toFixed(2)}× (Podman takes ${(1 / ratio).toFixed(2)}× as long)` },
        { label: `rootlet's target (≤ ${TARGET_RATIO}× Podman)`, value: ratio, text: `${ratio <= TARGET_RATIO ? 'met' : 'not met'}: ${ratio.toFixed(3)}×` },
      );
      const r2 = stats.rootlet.median / stats.podmanNoSeccomp.median;
      summary.push({ label: `rootlet (${rt}) / Podman without seccomp filter`, value: r2, text: `${r2.toFixed(2)}×` });
    } else {
      summary.push({ label: 'rootlet / Podman', value: null, text: `not measured: rootlet exec ${missing.rootlet}` });
    }
    if (stats.rootletRunc) {
      const rr = stats.rootletRunc.median;
      summary.push({
        label: 'rootlet --runtime runc / Podman (medians)', value: rr / stats.podman.median,
        text: `${(rr / stats.podman.median).toFixed(2)}× (without seccomp filter: ${(rr / stats.podmanNoSeccomp.median).toFixed(2)}×)`,
      });
      if (stats.rootlet) summary.push({ label: `rootlet (${rt}) − rootlet --runtime runc (medians)`, value: stats.rootlet.median - rr, text: `${(stats.rootlet.median - rr).toFixed(1)} ms (${(stats.rootlet.median / rr).toFixed(2)}× the time on runc)` });
    }
    if (stats.rootlet && stats[rt]) summary.push({ label: `rootlet (${rt}) − bare ${rt} (medians)`, value: stats.rootlet.median - stats[rt].median, text: `${(stats.rootlet.median - stats[rt].median).toFixed(1)} ms of engine overhead` });
    if (stats.rootletRunc && stats.runc) summary.push({ label: 'rootlet --runtime runc − bare runc (medians)', value: stats.rootletRunc.median - stats.runc.median, text: `${(stats.rootletRunc.median - stats.runc.median).toFixed(1)} ms of engine overhead` });
    notes.push(
      'Both engines\' containers have the default seccomp profile; Podman\'s `runc exec` compiles it again for each ' +
        'exec\'d process; the "without seccomp filter" row (`--security-opt seccomp=unconfined`) shows what that costs Podman.',
    );
    notes.push(`\`node -e 0\` takes ${stats.node.median.toFixed(1)} ms (median, same rounds): with a bare runtime exec, the least a node CLI that execs through that runtime can take.`);
    fig = {
      id,
      title: `exec ${NAME} ${EXEC.join(' ')} (running detached busybox)`,
      description:
        `Wall time of \`exec\` of \`${EXEC.join(' ')}\` in a running detached container (\`${CMD.join(' ')}\`), from fork to exit. ` +
        `${runs} runs per tool after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, interleaved round-robin. ` +
        `rootlet runs its containers with ${rt} by default` +
        (E.rootletRunc ? `; the \`--runtime runc\` row execs in a second container started with \`--runtime runc\` (Podman's runtime here)` : '') +
        `. The bare rows are \`${rt} exec\`${E.rootletRunc ? ' and `runc exec`' : ''} of rootlet's container on that runtime, ` +
        `in rootlet's user and mount namespaces, with rootlet's runtime state: what any engine on that runtime pays at least.`,
      runs,
      warmup,
      columns: [...LATENCY_COLUMNS, { key: 'status', label: 'status' }],
      rows,
      summary,
      notes,
    };
    return fig;
  } finally {
    for (const [e, names] of [[E.rootlet, rootletCtrs.map(([, n]) => n)], [E.podman, [NAME, NAME_NOSEC]]]) {
      for (const p of removeAll(sb, e, names)) process.stderr.write(`\nbench: cleanup: ${p}\n`);
    }
    const left = await reapLeftovers(before, [sb.root, dirname(sb.bin)], { keep });
    if (left.length) fig?.notes.push(`Still running 5 s after \`rm -f\`, and killed by the bench: ${describe(left)}.`);
  }
}
