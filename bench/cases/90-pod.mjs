// Figure: starting a pod of two containers (pod create with a published
// port, then two `run -d --pod`), rootlet against Podman, in one run.
import { dirname } from 'node:path';
import { LATENCY_COLUMNS, latencyRow, summarize, timeOnce } from '../lib/measure.mjs';
import { engines, holders, PODMAN_NOTE } from '../lib/engines.mjs';
import { describe, reapLeftovers, snapshot } from '../lib/procs.mjs';

export const id = 'pod';

const RUNS = 10;
const CMD = ['sleep', '100000'];

/** The three steps of a pod start, and its removal (not timed), for one engine. */
function steps(e, tool, pod, port) {
  const rm = tool === 'podman' ? ['pod', 'rm', '-f', '-t', '0', pod] : ['pod', 'rm', '-f', pod];
  return {
    start: [
      e.argv(['pod', 'create', '--name', pod, '-p', `${port}:80`]),
      e.argv(['run', '-d', '--pod', pod, '--name', `${pod}-a`, e.image, ...CMD]),
      e.argv(['run', '-d', '--pod', pod, '--name', `${pod}-b`, e.image, ...CMD]),
    ],
    rm: e.argv(rm),
  };
}

export async function run(sb, { warmup, progress }) {
  const E = engines(sb);
  const runs = Number(process.env.BENCH_RUNS) > 0 ? Math.min(Number(process.env.BENCH_RUNS), 20) : RUNS;
  const keep = holders(sb);
  const before = snapshot();
  const tools = { rootlet: steps(E.rootlet, 'rootlet', 'bench-pod-r', 18601), podman: steps(E.podman, 'podman', 'bench-pod-p', 18602) };
  const samples = { rootlet: [], podman: [] };
  const parts = { rootlet: [[], [], []], podman: [[], [], []] };
  let fig;
  try {
    for (let round = 0; round < warmup + runs; round++) {
      // Interleaved: each round starts and removes one pod of each engine.
      for (const [tool, s] of Object.entries(tools)) {
        const times = s.start.map((argv) => timeOnce(argv, sb.env, sb.root));
        timeOnce(s.rm, sb.env, sb.root);
        if (round >= warmup) {
          samples[tool].push(times.reduce((a, b) => a + b, 0));
          times.forEach((t, i) => parts[tool][i].push(t));
        }
      }
      progress?.(round + 1, warmup + runs);
    }
    const stats = { rootlet: summarize(samples.rootlet), podman: summarize(samples.podman) };
    const step = (tool, i) => summarize(parts[tool][i]).median.toFixed(0);
    const rows = [
      { ...latencyRow('rootlet: pod create -p + 2 × run -d --pod', stats.rootlet, samples.rootlet, tools.rootlet.start.flat()) },
      { ...latencyRow('Podman: pod create -p + 2 × run -d --pod', stats.podman, samples.podman, tools.podman.start.flat()) },
    ];
    const ratio = stats.rootlet.median / stats.podman.median;
    fig = {
      id,
      title: 'pod start: pod create -p, then two run -d --pod (busybox sleep)',
      description: `Wall time of the three commands, summed, per round; ${runs} rounds after ${warmup} warm-up, interleaved; each pod is removed (untimed) before the next.`,
      runs,
      warmup,
      columns: LATENCY_COLUMNS,
      rows,
      summary: [
        { label: 'rootlet / Podman (medians)', value: ratio, text: `${ratio.toFixed(2)}× (Podman takes ${(1 / ratio).toFixed(2)}× as long)` },
        { label: 'rootlet steps (median ms)', value: null, text: `create ${step('rootlet', 0)}, first run ${step('rootlet', 1)}, second run ${step('rootlet', 2)}` },
        { label: 'Podman steps (median ms)', value: null, text: `create ${step('podman', 0)}, first run ${step('podman', 1)}, second run ${step('podman', 2)}` },
      ],
      notes: [PODMAN_NOTE, 'rootlet\'s infra is a container of its own catatonit image; its first run --pod starts it (as Podman\'s).'],
    };
    return fig;
  } finally {
    for (const s of Object.values(tools)) {
      try { timeOnce(s.rm, sb.env, sb.root); } catch { /* removed already */ }
    }
    const left = await reapLeftovers(before, [sb.root, dirname(sb.bin)], { keep });
    if (left.length) fig?.notes.push(`Still running 5 s after \`pod rm -f\`, and killed by the bench: ${describe(left)}.`);
  }
}
