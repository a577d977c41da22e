// Figure: the Docker Engine API socket, rootlet's (`rootlet system service`)
// beside Podman's (`podman system service`), each on its own store:
// throughput and tail latency of `GET /containers/json` with 20 containers,
// `docker run --rm IMG true`, and `docker build` of the build bench's
// context (60-build.mjs) through each socket.
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { LATENCY_COLUMNS, latencyTable, percentile, timeInterleaved } from '../lib/measure.mjs';
import { engines, PODMAN_NOTE, removeAll, runDetachedArgv } from '../lib/engines.mjs';
import { context as buildContext } from './60-build.mjs';
import { startService } from '../lib/api-service.mjs';

export const id = 'api';

const CONTAINERS = 20;
const REQUESTS = 2000;
const CONCURRENCY = 8;
const RUNS = 10;
/** Builds take seconds each: fewer runs. */
const BUILD_RUNS = 5;
/** The targets: at least 2× Podman's requests per second, at most 0.5× its `docker run` time. */
const TARGET_THROUGHPUT = 2;
const TARGET_RUN = 0.5;

function get(sock, path) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** REQUESTS requests, CONCURRENCY at a time: requests per second and each one's latency. */
async function load(sock, path) {
  const lat = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < REQUESTS) {
      const s = performance.now();
      await get(sock, path);
      lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: REQUESTS / secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

export async function run(sb, { warmup, progress }) {
  const E = engines(sb);
  const runs = Number(process.env.BENCH_RUNS) > 0 ? Number(process.env.BENCH_RUNS) : RUNS;
  const names = Array.from({ length: CONTAINERS }, (_, i) => `bench-api-${i}`);
  const socks = { rootlet: sb.path('rootlet-api.sock'), podman: sb.path('podman-api.sock') };
  const services = {};
  try {
    services.rootlet = await startService(sb, sb.rootletArgv(['system', 'service']), socks.rootlet);
    services.podman = await startService(sb, sb.podmanArgv(['system', 'service']), socks.podman);
    for (const e of [E.rootlet, E.podman]) for (const n of names) sb.exec(runDetachedArgv(e, n, ['sleep', '100000']), `${e.label}: run -d ${n}`);
    const list = {};
    for (const [tool, sock] of Object.entries(socks)) {
      await load(sock, '/v1.41/containers/json');
      list[tool] = await load(sock, '/v1.41/containers/json');
      progress?.(1, 2);
    }
    const docker = (tool, image) => services[tool].docker(['run', '--rm', '--network', 'none', image, 'true']);
    const commands = [
      { tool: 'rootlet', argv: docker('rootlet', sb.image.rootlet) },
      { tool: 'podman', argv: docker('podman', sb.image.podman) },
    ];
    const samples = await timeInterleaved(commands, { env: sb.env, cwd: sb.root, runs, warmup, onRound: progress });
    const { stats, rows } = latencyTable(commands, samples, { rootlet: 'docker run --rm through rootlet\'s socket', podman: 'docker run --rm through Podman\'s socket' });
    // docker build of the build bench's context, cold (every step runs), through each socket: the API's /build
    // (DOCKER_BUILDKIT=0: the client sends the context as a tar to POST /build, which both services serve).
    const dockerBuild = (tool, image) => {
      const ctx = buildContext(sb, image);
      return ['env', 'DOCKER_BUILDKIT=0', ...services[tool].docker(['build', '-q', '--no-cache', '-t', 'bench-api-build', '-f', join(ctx, 'Containerfile'), ctx])];
    };
    const builds = [
      { tool: 'rootlet', argv: dockerBuild('rootlet', sb.image.rootlet) },
      { tool: 'podman', argv: dockerBuild('podman', sb.image.podman) },
    ];
    const buildRuns = Math.min(runs, BUILD_RUNS);
    const buildSamples = await timeInterleaved(builds, { env: sb.env, cwd: sb.root, runs: buildRuns, warmup: Math.min(warmup, 1), onRound: progress });
    const built = latencyTable(builds, buildSamples, { rootlet: 'docker build --no-cache through rootlet\'s socket', podman: 'docker build --no-cache through Podman\'s socket' });
    const buildRatio = built.stats.rootlet.median / built.stats.podman.median;
    const tput = list.rootlet.rps / list.podman.rps;
    const p99 = list.rootlet.p99 / list.podman.p99;
    const runRatio = stats.rootlet.median / stats.podman.median;
    return {
      id,
      title: `the API socket: GET /containers/json with ${CONTAINERS} containers, docker run --rm and docker build through it`,
      description: `${REQUESTS} GET /containers/json, ${CONCURRENCY} at a time, on each engine's socket (one warm-up pass first); then \`docker run --rm\` of busybox \`true\` through each socket, ${runs} runs interleaved after ${warmup} warm-up; ` +
        `then \`docker build --no-cache\` of the build bench's context (FROM busybox, 3 RUN, a COPY of 4 MiB) through each socket, ${buildRuns} runs interleaved.`,
      runs,
      warmup,
      columns: [...LATENCY_COLUMNS, { key: 'status', label: 'status' }],
      rows: [
        ...Object.entries(list).map(([tool, r]) => ({ tool: `${tool} GET /containers/json`, median_ms: r.p50, p90_ms: r.p99, min_ms: r.rps, status: `${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(1)} ms` })),
        ...rows.map((r) => ({ ...r, status: '' })),
        ...built.rows.map((r) => ({ ...r, status: '' })),
      ],
      summary: [
        { label: `requests/s rootlet / Podman (target ≥ ${TARGET_THROUGHPUT}×)`, value: tput, text: `${tput.toFixed(2)}× (${list.rootlet.rps.toFixed(0)} vs ${list.podman.rps.toFixed(0)} req/s): ${tput >= TARGET_THROUGHPUT ? 'met' : 'not met'}` },
        { label: 'p99 latency rootlet / Podman', value: p99, text: `${p99.toFixed(2)}× (${list.rootlet.p99.toFixed(1)} vs ${list.podman.p99.toFixed(1)} ms)` },
        { label: `docker run --rm rootlet / Podman (target ≤ ${TARGET_RUN}×)`, value: runRatio, text: `${runRatio.toFixed(2)}× (${stats.rootlet.median.toFixed(0)} vs ${stats.podman.median.toFixed(0)} ms): ${runRatio <= TARGET_RUN ? 'met' : 'not met'}` },
        { label: 'docker build --no-cache rootlet / Podman', value: buildRatio, text: `${buildRatio.toFixed(2)}× (${built.stats.rootlet.median.toFixed(0)} vs ${built.stats.podman.median.toFixed(0)} ms)` },
      ],
      notes: [PODMAN_NOTE, 'In the GET rows, the median column is p50 and the p90 column is p99.'],
    };
  } finally {
    for (const e of [E.rootlet, E.podman]) for (const p of removeAll(sb, e, names)) process.stderr.write(`\nbench: cleanup: ${p}\n`);
    for (const s of Object.values(services)) await s.stop();
    for (const argv of [sb.rootletArgv(['rmi', '-f', 'bench-api-build']), sb.podmanArgv(['rmi', '-f', 'bench-api-build'])]) spawnSync(argv[0], argv.slice(1), { env: sb.env, cwd: sb.root, stdio: 'ignore' });
  }
}
