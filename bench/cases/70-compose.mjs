// Figure: the three-service compose project (web built from a local
// Dockerfile and published on a host port, kv with a health check, worker
// waiting for kv to be healthy): time from `compose up -d` until every
// service runs and kv is healthy, and `compose down`. rootlet's own
// `compose` against Debian's docker-compose 1.29 driving Podman's API socket
// (`podman system service`). Issue 14's target: at most 0.5× Podman's time.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { latencyRow, summarize } from '../lib/measure.mjs';
import { PODMAN_NOTE } from '../lib/engines.mjs';

export const id = 'compose';

const RUNS = 5;
const TARGET = 0.5;

function project(dir, base, port) {
  mkdirSync(join(dir, 'web'), { recursive: true });
  writeFileSync(join(dir, 'web', 'Dockerfile'), `FROM ${base}\nRUN echo hi > /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n`);
  writeFileSync(join(dir, 'compose.yaml'), `services:
  web:
    build: ./web
    image: bench-compose-web
    ports: ["${port}:80"]
    depends_on: [kv]
    stop_grace_period: 1s
  kv:
    image: ${base}
    command: ["sh", "-c", "echo v1 > /data/key; exec httpd -f -p 6379 -h /data"]
    volumes: ["data:/data"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://localhost:6379/key"]
      interval: 500ms
      retries: 60
  worker:
    image: ${base}
    command: ["sh", "-c", "while true; do wget -q -O- http://kv:6379/key; sleep 1; done"]
    stop_grace_period: 1s
    depends_on:
      kv:
        condition: service_healthy
volumes:
  data:
`);
  return dir;
}

/** Runs argv to its end: exit status, stderr. */
function runCmd(argv, env, cwd) {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, err }));
  });
}

async function output(argv, env, cwd) {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('exit', () => resolve(out));
  });
}

async function must(argv, env, cwd) {
  const r = await runCmd(argv, env, cwd);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.err.trim().split('\n').pop()}`);
}

/**
 * One up: ms from the start of `up -d` until it has returned and a status
 * listing shows three running containers, kv's healthy. `tick` runs while
 * waiting (Podman's health checks: see the note).
 */
async function timeUp(t, env) {
  const t0 = process.hrtime.bigint();
  let done = false;
  const up = runCmd(t.up, env, t.dir).then((r) => { done = true; return r; });
  for (;;) {
    if (t.tick) await t.tick();
    if (done) {
      const r = await up;
      if (r.code !== 0) throw new Error(`${t.up.join(' ')} exited ${r.code}: ${r.err.trim().split('\n').pop()}`);
      const lines = (await output(t.status, env, t.dir)).trim().split('\n').filter(Boolean);
      if (lines.length === 3 && lines.every((l) => /\bUp\b/.test(l)) && lines.some((l) => /\(healthy\)/.test(l))) break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function timeDown(t, env) {
  const t0 = process.hrtime.bigint();
  await must(t.down, env, t.dir);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function run(sb, { progress }) {
  const runs = Math.min(Number(process.env.BENCH_RUNS) > 0 ? Number(process.env.BENCH_RUNS) : RUNS, RUNS);
  const sock = sb.path('podman', 'api.sock');
  const env = sb.env;
  const penv = { ...env, DOCKER_HOST: `unix://${sock}`, COMPOSE_PROJECT_NAME: 'benchp' };
  const rdir = project(sb.path('compose-rootlet'), sb.image.rootlet, 18701);
  const pdir = project(sb.path('compose-podman'), sb.image.podman, 18702);
  const service = spawn('podman', [...sb.podmanFlags, 'system', 'service', '--time=0', `unix://${sock}`], { env, stdio: 'ignore' });
  sb.recordPid(service.pid);
  try {
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(sock)) throw new Error('podman system service did not make its socket');
    const podman = (args) => sb.podmanArgv(args);
    const tools = {
      rootlet: {
        label: 'rootlet compose', dir: rdir,
        up: sb.rootletArgv(['compose', '-p', 'benchr', 'up', '-d']),
        down: sb.rootletArgv(['compose', '-p', 'benchr', 'down', '-v']),
        status: sb.rootletArgv(['ps', '--filter', 'label=com.docker.compose.project=benchr', '--format', '{{.Names}} {{.Status}}']),
      },
      podman: {
        label: 'docker-compose 1.29 → podman system service', dir: pdir,
        up: ['docker-compose', 'up', '-d'],
        down: ['docker-compose', 'down', '-v'],
        status: podman(['ps', '--filter', 'label=com.docker.compose.project=benchp', '--format', '{{.Names}} {{.Status}}']),
        // No systemd here, so Podman schedules no health checks: run kv's at its interval, as the timer would.
        tick: (() => {
          let last = 0;
          return async () => {
            if (Date.now() - last < 500) return;
            last = Date.now();
            const ids = (await output(podman(['ps', '-q', '--filter', 'label=com.docker.compose.service=kv', '--filter', 'label=com.docker.compose.project=benchp']), env, pdir)).trim();
            if (ids) await runCmd(podman(['healthcheck', 'run', ids.split('\n')[0]]), env, pdir);
          };
        })(),
      },
    };
    // Images built first, outside the timings: the figure is about bringing a project up and down.
    await must(sb.rootletArgv(['compose', '-p', 'benchr', 'build', '-q']), env, rdir);
    await must(['docker-compose', 'build', '-q'], penv, pdir);
    const samples = { rootletUp: [], podmanUp: [], rootletDown: [], podmanDown: [] };
    for (let i = 0; i < runs; i++) {
      // Interleaved: the machine's drifting load falls on both.
      samples.rootletUp.push(await timeUp(tools.rootlet, env));
      samples.rootletDown.push(await timeDown(tools.rootlet, env));
      samples.podmanUp.push(await timeUp(tools.podman, penv));
      samples.podmanDown.push(await timeDown(tools.podman, penv));
      progress?.(i + 1, runs);
    }
    const stats = Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, summarize(s)]));
    const up = stats.rootletUp.median / stats.podmanUp.median;
    const down = stats.rootletDown.median / stats.podmanDown.median;
    return {
      id,
      title: 'compose: a three-service project up (until healthy) and down',
      description: `Wall time, ${runs} runs each, interleaved; medians compared. Up: from \`up -d\` until it returned and a listing shows the ` +
        'three containers running, kv healthy (the worker waits for that before it starts). Down: `down -v`. Images are built beforehand.',
      runs,
      warmup: 0,
      columns: [
        { key: 'tool', label: 'tool' },
        { key: 'median_ms', label: 'median ms' },
        { key: 'p90_ms', label: 'p90 ms' },
        { key: 'min_ms', label: 'min ms' },
      ],
      rows: [
        latencyRow(`${tools.rootlet.label}: up -d until healthy`, stats.rootletUp, samples.rootletUp, tools.rootlet.up),
        latencyRow(`${tools.podman.label}: up -d until healthy`, stats.podmanUp, samples.podmanUp, tools.podman.up),
        latencyRow(`${tools.rootlet.label}: down -v`, stats.rootletDown, samples.rootletDown, tools.rootlet.down),
        latencyRow(`${tools.podman.label}: down -v`, stats.podmanDown, samples.podmanDown, tools.podman.down),
      ],
      summary: [
        { label: 'up until healthy: rootlet / Podman (medians)', value: up, text: `${up.toFixed(2)}× (target ≤ ${TARGET}×: ${up <= TARGET ? 'met' : 'not met'})` },
        { label: 'down: rootlet / Podman (medians)', value: down, text: `${down.toFixed(2)}× (target ≤ ${TARGET}×: ${down <= TARGET ? 'met' : 'not met'})` },
      ],
      notes: [
        PODMAN_NOTE,
        'Podman runs health checks from systemd timers; this host has no systemd, so the figure runs `podman healthcheck run` on kv every 500 ms ' +
        '(kv\'s interval) while Podman\'s side waits, in place of the timer. Podman here has no DNS plugin for its networks: the worker cannot resolve kv ' +
        '(it keeps trying; nothing timed depends on it).',
      ],
    };
  } finally {
    service.kill('SIGTERM');
  }
}
