// Figure: how long it takes to start many detached containers at once —
// 20 concurrent `run -d`, as a compose-like tool or a script with `&` does.
// Engines without a daemon serialize on their own store's locks here.
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { median, interruptedBy, summarize } from '../lib/measure.mjs';
import { engines, existing, holders, PODMAN_NOTE, removeAll, runDetachedArgv, spawnAsync } from '../lib/engines.mjs';
import { childrenCpuMs, describe, newProcesses, reapLeftovers, snapshot } from '../lib/procs.mjs';

export const id = 'parallel-start';

const N = 20;
const ROUNDS = 3;
const CMD = ['sleep', '100000'];
const TARGET_THROUGHPUT = 2;

function names(prefix) {
  return Array.from({ length: N }, (_, i) => `${prefix}-${i + 1}`);
}

/** N commands at once; ms from the first spawn until the last has exited, and each one's own ms. */
async function burst(argvs, env, cwd) {
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(argvs.map((argv) => spawnAsync(argv, { env, cwd })));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const failed = results.find((r) => r.code !== 0);
  if (failed) {
    const n = results.filter((r) => r.code !== 0).length;
    throw new Error(`${n} of ${argvs.length} failed; one exited ${failed.code ?? failed.signal}: ${failed.stderr.trim().split('\n').pop()}`);
  }
  return { ms, each: results.map((r) => r.ms) };
}

/**
 * One round of one engine: start N at once, check all run, remove them
 * (untimed). Also the CPU time the starts took, from the processes' own
 * accounting rather than the host's (which other tenants share): the run -d
 * processes and all they waited for, plus what the processes they left
 * behind (conmon and the children it reaped, the container's first
 * process, slirp4netns) have used so far.
 */
async function round(sb, e, keep, leftovers) {
  const list = names('bench-par');
  const marks = [sb.root, dirname(sb.bin)];
  const before = snapshot();
  const timing = {};
  let r;
  try {
    const cpu0 = childrenCpuMs();
    r = await burst(list.map((n) => runDetachedArgv(e, n, CMD)), sb.env, sb.root);
    const cpu1 = childrenCpuMs();
    const left = newProcesses(before, snapshot(), marks);
    r.cpuMs = cpu1 - cpu0 + left.reduce((sum, p) => sum + p.cpu.own + p.cpu.children, 0);
    const up = existing(sb, e, list, false);
    if (up.length !== N) throw new Error(`${e.label}: ${N - up.length} of ${N} containers are not running after run -d returned`);
    return r;
  } catch (err) {
    throw new Error(`${e.label}: ${N} parallel run -d: ${err.message}`);
  } finally {
    for (const p of removeAll(sb, e, list, timing)) process.stderr.write(`\nbench: cleanup: ${p}\n`);
    if (r) r.rmMs = timing.rmMs;
    // Also waits for the exit hooks that rm set off, which would otherwise share the CPU with the next round.
    const left = await reapLeftovers(before, marks, { keep });
    if (left.length) leftovers.push(`${e.label}: ${describe(left)}`);
  }
}

/** rootlet's phase marks (ROOTLET_TRACE) for `run -d`: alone, and as one of N at once. Untimed runs. */
async function traceRootlet(sb, e) {
  const env = { ...sb.env, ROOTLET_TRACE: '1' };
  const collect = (stderrs) => {
    const marks = new Map();
    for (const s of stderrs) {
      for (const m of s.matchAll(/^\[trace\] ([\d.]+)ms (.+)$/gm)) {
        if (!marks.has(m[2])) marks.set(m[2], []);
        marks.get(m[2]).push(Number(m[1]));
      }
    }
    return [...marks].map(([phase, v]) => ({ phase, ms: median(v) }));
  };
  const alone = [];
  const single = names('bench-trace');
  try {
    for (const n of single.slice(0, 5)) {
      const r = await spawnAsync(runDetachedArgv(e, n, CMD), { env, cwd: sb.root });
      if (r.code !== 0) throw new Error(`traced rootlet run -d exited ${r.code}: ${r.stderr.trim()}`);
      alone.push(r.stderr);
    }
  } finally {
    for (const p of removeAll(sb, e, single.slice(0, 5))) process.stderr.write(`\nbench: cleanup: ${p}\n`);
  }
  const list = names('bench-trace-par');
  let parallel;
  try {
    parallel = await Promise.all(list.map((n) => spawnAsync(runDetachedArgv(e, n, CMD), { env, cwd: sb.root })));
  } finally {
    for (const p of removeAll(sb, e, list)) process.stderr.write(`\nbench: cleanup: ${p}\n`);
  }
  const bad = parallel.find((r) => r.code !== 0);
  if (bad) throw new Error(`traced parallel rootlet run -d exited ${bad.code}: ${bad.stderr.trim()}`);
  return { alone: collect(alone), parallel: collect(parallel.map((r) => r.stderr)) };
}

const fmt = (list) => list.map((p) => `${p.phase} ${p.ms.toFixed(0)}`).join(' → ');

export async function run(sb, { warmup, progress }) {
  const E = engines(sb);
  // rootlet on its default runtime (crun here) and on runc, Podman's only runtime on this host.
  const configs = [E.rootlet, E.rootletNoSeccomp, ...(E.rootletRunc ? [E.rootletRunc] : []), E.podman, E.podmanNoSeccomp, E.podmanVfs, E.podmanSlirp];
  const R = E.rootlet.label;
  const rounds = ROUNDS;
  const warm = Math.min(warmup, 1);
  const samples = Object.fromEntries(configs.map((c) => [c.key, []]));
  const each = Object.fromEntries(configs.map((c) => [c.key, []]));
  const cpu = Object.fromEntries(configs.map((c) => [c.key, []]));
  const rm = Object.fromEntries(configs.map((c) => [c.key, []]));
  const harness = [];
  const keep = holders(sb);
  const leftovers = [];
  for (let k = 0; k < warm + rounds; k++) {
    for (let i = 0; i < configs.length; i++) {
      const e = configs[(k + i) % configs.length];
      const r = await round(sb, e, keep, leftovers);
      const sig = await interruptedBy();
      if (sig) throw new Error(`interrupted by ${sig}`);
      if (k >= warm) {
        samples[e.key].push(r.ms);
        each[e.key].push(...r.each);
        cpu[e.key].push(r.cpuMs / N);
        rm[e.key].push(r.rmMs);
      }
    }
    // What starting N processes at once costs the harness itself.
    if (k >= warm) harness.push((await burst(Array.from({ length: N }, () => ['/bin/true']), sb.env, sb.root)).ms);
    progress(k + 1 - warm, rounds);
  }
  const before = snapshot();
  const trace = await traceRootlet(sb, E.rootlet);
  const left = await reapLeftovers(before, [sb.root, dirname(sb.bin)], { keep });
  if (left.length) leftovers.push(`rootlet (traced runs): ${describe(left)}`);

  const rows = configs.map((e) => {
    const s = summarize(samples[e.key]);
    const one = summarize(each[e.key]);
    return {
      tool: e.label,
      median_s: s.median / 1000,
      min_s: s.min / 1000,
      max_s: s.max / 1000,
      per_sec: N / (s.median / 1000),
      each_median_s: one.median / 1000,
      each_max_s: one.max / 1000,
      cpu_ms: median(cpu[e.key]),
      cpu_samples_ms: cpu[e.key].map((v) => Math.round(v * 10) / 10),
      rm_s: median(rm[e.key]) / 1000,
      rm_samples_ms: rm[e.key].map((v) => Math.round(v)),
      command: runDetachedArgv(e, 'NAME', CMD).join(' '),
      samples_ms: samples[e.key].map((v) => Math.round(v)),
    };
  });
  const by = Object.fromEntries(configs.map((c, i) => [c.key, rows[i]]));
  const speedup = (k, of = 'rootlet') => by[k].median_s / by[of].median_s;
  const runcSummary = by.rootletRunc ? [
    { label: 'rootlet --runtime runc / Podman (--net none), wall time', value: 1 / speedup('podman', 'rootletRunc'), text: `${(1 / speedup('podman', 'rootletRunc')).toFixed(2)}×: throughput ${speedup('podman', 'rootletRunc').toFixed(2)}× Podman's` },
    { label: 'rootlet --runtime runc / Podman (--net none), CPU per container', value: by.rootletRunc.cpu_ms / by.podman.cpu_ms, text: `${(by.rootletRunc.cpu_ms / by.podman.cpu_ms).toFixed(2)}× (${by.rootletRunc.cpu_ms.toFixed(0)} vs ${by.podman.cpu_ms.toFixed(0)} ms)` },
    { label: `${R} / rootlet --runtime runc, wall time`, value: 1 / speedup('rootletRunc'), text: `${(1 / speedup('rootletRunc')).toFixed(2)}× (CPU per container ${by.rootlet.cpu_ms.toFixed(0)} vs ${by.rootletRunc.cpu_ms.toFixed(0)} ms)` },
  ] : [];
  return {
    id,
    title: `${N} detached containers started in parallel (run -d busybox ${CMD.join(' ')})`,
    description:
      `${N} \`run -d\` processes started at once; the wall time from the first spawn until the last has returned ` +
      `(each returns once its container runs; after every round all ${N} are checked to be running, untimed, ` +
      `and removed). Median of ${rounds} rounds per configuration after ${warm} warm-up round${warm === 1 ? '' : 's'}, ` +
      `configurations interleaved with the first rotated each round. rootlet runs its containers with ${sb.defaultRuntime()} by default` +
      (E.rootletRunc ? `; the \`--runtime runc\` row is the same engine on runc, the only runtime Podman can use on this host.` : '.'),
    rounds,
    warmup: warm,
    columns: [
      { key: 'tool', label: 'tool' },
      { key: 'median_s', label: 'median s', digits: 2 },
      { key: 'min_s', label: 'min s', digits: 2 },
      { key: 'max_s', label: 'max s', digits: 2 },
      { key: 'per_sec', label: 'containers/s', digits: 1 },
      { key: 'each_median_s', label: 'one run -d, median s', digits: 2 },
      { key: 'cpu_ms', label: 'CPU ms per container', digits: 0 },
      { key: 'rm_s', label: `rm -f of all ${N}, s`, digits: 2 },
    ],
    rows,
    summary: [
      { label: `${R} / Podman (--net none), wall time`, value: 1 / speedup('podman'), text: `${(1 / speedup('podman')).toFixed(2)}×: rootlet starts ${speedup('podman').toFixed(2)}× as many per second` },
      { label: `${R} / Podman (--net none), CPU per container`, value: by.rootlet.cpu_ms / by.podman.cpu_ms, text: `${(by.rootlet.cpu_ms / by.podman.cpu_ms).toFixed(2)}× (${by.rootlet.cpu_ms.toFixed(0)} vs ${by.podman.cpu_ms.toFixed(0)} ms)` },
      { label: `rootlet's target (≥ ${TARGET_THROUGHPUT}× Podman's throughput)`, value: speedup('podman'), text: `${speedup('podman') >= TARGET_THROUGHPUT ? 'met' : 'not met'}: ${speedup('podman').toFixed(3)}×` },
      ...runcSummary,
      { label: `${R} seccomp=unconfined / Podman seccomp=unconfined, wall time`, value: by.rootletNoSeccomp.median_s / by.podmanNoSeccomp.median_s, text: `${(by.rootletNoSeccomp.median_s / by.podmanNoSeccomp.median_s).toFixed(2)}×` },
      { label: `${R}: the default seccomp profile's CPU per container`, value: by.rootlet.cpu_ms - by.rootletNoSeccomp.cpu_ms, text: `${(by.rootlet.cpu_ms - by.rootletNoSeccomp.cpu_ms).toFixed(1)} ms (Podman's: ${(by.podman.cpu_ms - by.podmanNoSeccomp.cpu_ms).toFixed(1)} ms; 10 ms accounting ticks)` },
      { label: `${R} / Podman as installed (vfs)`, value: 1 / speedup('podmanVfs'), text: `${(1 / speedup('podmanVfs')).toFixed(2)}× (throughput ${speedup('podmanVfs').toFixed(2)}×)` },
      { label: `${R} / Podman with its default network`, value: 1 / speedup('podmanSlirp'), text: `${(1 / speedup('podmanSlirp')).toFixed(2)}× (throughput ${speedup('podmanSlirp').toFixed(2)}×)` },
    ],
    notes: [
      PODMAN_NOTE,
      `The harness's own cost of starting ${N} processes at once and reaping them: ${median(harness).toFixed(1)} ms (median, /bin/true).`,
      `"one run -d" is the median of each process's own time, from its spawn to its exit, in the timed rounds.`,
      `"rm -f of all ${N}" (not in the wall time): the median time of the one \`rm -f\` call that removes a round's ` +
        `running containers (Podman with \`-t 0\`: a \`sleep\` as pid 1 ignores SIGTERM).`,
      `"CPU ms per container" (user + system, median of the rounds' totals / ${N}) counts the \`run -d\` processes and ` +
        `everything they waited for, and what the processes they left running (conmon with the runtime calls it reaped: crun or runc, ` +
        `the container's first process, slirp4netns) had used when all had returned; from the processes' own ` +
        `accounting (10 ms ticks), so other tenants' load is not in it. On ${cpus().length} cores, ` +
        `${N} starts at once are bound by it: the wall time is at least ${N} × CPU / ${cpus().length}.`,
      `Both engines load containers-common's default seccomp profile: Podman's \`runc init\` compiles it in every container; ` +
        `rootlet keeps the filter crun compiled at the first detached start and hands it back; the \`seccomp=unconfined\` rows are each engine without it.`,
      `${R}'s phases (ROOTLET_TRACE, medians, ms since node started), one \`run -d\` alone: ${fmt(trace.alone)}.`,
      `The same, as one of ${N} at once: ${fmt(trace.parallel)}.`,
      ...leftovers.map((l) => `Still running 5 s after \`rm -f\` of a round's containers, and killed by the bench: ${l}.`),
    ],
    breakdown: trace,
  };
}
