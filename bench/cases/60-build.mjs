// Figure: `build` of the same context by rootlet and `podman build`: FROM the
// local busybox image, three RUN steps and a COPY of a few MB; cold (no
// cache) and fully cached. Issue 13's targets: cold at most 0.4× Podman's
// time, a cached rebuild under 0.3 s.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { latencyRow, summarize, timeOnce } from '../lib/measure.mjs';
import { PODMAN_NOTE } from '../lib/engines.mjs';

export const id = 'build';

const RUNS = 5;
const COLD_TARGET = 0.4;
const CACHED_TARGET_MS = 300;

/** The build's context directory for `base` (also built through the API sockets: 80-api.mjs). */
export function context(sb, base) {
  const dir = sb.path(`build-ctx-${base.replace(/\W/g, '-')}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  // A few MB to copy: four 1 MiB files of random bytes (incompressible, as real content mostly is).
  for (let i = 0; i < 4; i++) writeFileSync(join(dir, 'data', `blob${i}`), randomBytes(1 << 20));
  writeFileSync(join(dir, 'Containerfile'), [
    `FROM ${base}`,
    'RUN echo one > /one',
    'RUN mkdir -p /app && echo two > /app/two',
    'COPY data /app/data/',
    'RUN ls -l /app/data > /app/listing',
    'CMD ["cat", "/app/listing"]',
  ].join('\n'));
  return dir;
}

export async function run(sb, { progress }) {
  const runs = Math.min(Number(process.env.BENCH_RUNS) > 0 ? Number(process.env.BENCH_RUNS) : RUNS, RUNS);
  const rctx = context(sb, sb.image.rootlet);
  const pctx = context(sb, sb.image.podman);
  const tools = {
    rootletCold: { label: 'rootlet build --no-cache', argv: sb.rootletArgv(['build', '-q', '--no-cache', '-t', 'bench-build', rctx]) },
    podmanCold: { label: 'podman build --no-cache --layers', argv: sb.podmanArgv(['build', '-q', '--no-cache', '--layers', '-t', 'bench-build', pctx]) },
    rootletCached: { label: 'rootlet build (all cached)', argv: sb.rootletArgv(['build', '-q', '-t', 'bench-build', rctx]) },
    podmanCached: { label: 'podman build --layers (all cached)', argv: sb.podmanArgv(['build', '-q', '--layers', '-t', 'bench-build', pctx]) },
  };
  const samples = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    // Interleaved, so the machine's drifting load is spread over both engines.
    for (const [k, t] of Object.entries(tools)) samples[k].push(timeOnce(t.argv, sb.env, sb.root));
    progress?.(i + 1, runs);
  }
  const stats = Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, summarize(s)]));
  const cold = stats.rootletCold.median / stats.podmanCold.median;
  const cached = stats.rootletCached.median / stats.podmanCached.median;
  return {
    id,
    title: 'build: FROM busybox, 3 RUN steps, a COPY of 4 MiB; cold and cached',
    description: `Wall time of a build of the same context by each engine, ${runs} runs each, interleaved; medians compared. ` +
      'Cold: --no-cache (every step runs and every layer is stored). Cached: nothing changed since the previous build.',
    runs,
    warmup: 0,
    columns: [
      { key: 'tool', label: 'tool' },
      { key: 'median_ms', label: 'median ms' },
      { key: 'p90_ms', label: 'p90 ms' },
      { key: 'min_ms', label: 'min ms' },
    ],
    rows: Object.entries(tools).map(([k, t]) => latencyRow(t.label, stats[k], samples[k], t.argv)),
    summary: [
      { label: 'cold: rootlet / Podman (medians)', value: cold, text: `${cold.toFixed(2)}× (target ≤ ${COLD_TARGET}×: ${cold <= COLD_TARGET ? 'met' : 'not met'})` },
      { label: 'cached: rootlet / Podman (medians)', value: cached, text: `${cached.toFixed(2)}×` },
      {
        label: `cached rebuild (target < ${CACHED_TARGET_MS} ms)`, value: stats.rootletCached.median,
        text: `${stats.rootletCached.median.toFixed(0)} ms: ${stats.rootletCached.median < CACHED_TARGET_MS ? 'met' : 'not met'}`,
      },
    ],
    notes: [PODMAN_NOTE],
  };
}
