// Wall-clock timing of whole commands, and the statistics we report.
import { spawnSync } from 'node:child_process';

let interrupted;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  // The measured child gets the terminal's signal too; we stop after it, so
  // that the driver's cleanup still runs.
  process.on(sig, () => { interrupted = sig; });
}

/** The signal that stopped the run; a signal that arrived during a spawnSync is seen one tick later. */
export async function interruptedBy() {
  await new Promise((r) => setImmediate(r));
  return interrupted;
}

/** Milliseconds one command takes, from fork to reaped; throws unless it exits 0. */
export function timeOnce(argv, env, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim()}`);
  return ms;
}

/** Why one run of argv in the sandbox fails (its last stderr line), or undefined when it works. */
export function tryOnce(sb, argv) {
  try {
    timeOnce(argv, sb.env, sb.root);
    return undefined;
  } catch (err) {
    return err.message.split('\n').pop().slice(0, 300);
  }
}

/**
 * Times each command `runs` times, round-robin. This machine is shared and
 * its load drifts over seconds; interleaving spreads that drift over all
 * tools instead of charging it to whichever ran during a busy stretch, and
 * rotating who goes first each round keeps one tool from always following
 * (and paying for the cleanup of) the same other one.
 *
 * @param {Array<{tool: string, argv: string[]}>} commands
 * @returns {Record<string, number[]>} samples in ms per tool
 */
export async function timeInterleaved(commands, { env, cwd, runs, warmup, onRound }) {
  const samples = Object.fromEntries(commands.map((c) => [c.tool, []]));
  for (let round = 0; round < warmup + runs; round++) {
    for (let i = 0; i < commands.length; i++) {
      const c = commands[(round + i) % commands.length];
      let ms;
      let failure;
      try {
        ms = timeOnce(c.argv, env, cwd);
      } catch (err) {
        failure = err;
      }
      // Outside the timed span: a signal that also killed the child is the real story.
      const sig = await interruptedBy();
      if (sig) throw new Error(`interrupted by ${sig}`);
      if (failure) throw failure;
      if (round >= warmup) samples[c.tool].push(ms);
    }
    onRound?.(round + 1 - warmup, runs);
  }
  return samples;
}

/** Nearest-rank percentile: a value that was actually measured. */
export function percentile(sorted, p) {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarize(values) {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    median: median(s),
    p90: percentile(s, 90),
    min: s[0],
    max: s[s.length - 1],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** One tool's row of a latency figure: its summary and its raw samples (rounded to 0.01 ms). */
export function latencyRow(label, stats, samples, argv) {
  return {
    tool: label,
    median_ms: stats.median,
    p90_ms: stats.p90,
    min_ms: stats.min,
    max_ms: stats.max,
    mean_ms: stats.mean,
    command: argv.join(' '),
    samples_ms: samples.map((v) => Math.round(v * 100) / 100),
  };
}

/** The columns of a latency figure (rows made by latencyRow). */
export const LATENCY_COLUMNS = [
  { key: 'tool', label: 'tool' },
  { key: 'median_ms', label: 'median ms' },
  { key: 'p90_ms', label: 'p90 ms' },
  { key: 'min_ms', label: 'min ms' },
];

/**
 * A latency figure's statistics per tool and its rows: one per tool of
 * `what` (label by tool id) that was measured, in that order.
 */
export function latencyTable(commands, samples, what) {
  const stats = Object.fromEntries(Object.entries(samples).map(([t, s]) => [t, summarize(s)]));
  const argvOf = (tool) => commands.find((c) => c.tool === tool).argv;
  const rows = Object.keys(what).filter((tool) => stats[tool]).map((tool) => latencyRow(what[tool], stats[tool], samples[tool], argvOf(tool)));
  return { stats, rows, argvOf };
}

/**
 * rootlet's own phase marks (src/util/trace.ts) of `n` runs apart from the
 * timed ones (tracing writes to stderr): per run, a map of mark to ms since
 * node started.
 */
export function tracedRuns(sb, argv, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = spawnSync(argv[0], argv.slice(1), { env: { ...sb.env, ROOTLET_TRACE: '1' }, cwd: sb.root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`traced rootlet run exited ${r.status}: ${r.stderr.trim()}`);
    out.push(new Map([...r.stderr.matchAll(/^\[trace\] ([\d.]+)ms (.+)$/gm)].map((m) => [m[2], Number(m[1])])));
  }
  return out;
}
