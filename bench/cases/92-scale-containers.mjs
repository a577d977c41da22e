// Figure: 1,000 containers in one user's store (100 running `sleep`, 900
// exited), rootlet and Podman side by side: `ps -a`, `inspect` of one
// container (also by the docker CLI through each engine's API service on
// the store), and `run --rm` on this store against the sandbox's own
// (nearly empty) store, interleaved; plus each store's size on disk.
// The populated stores are stores of their own under the sandbox
// (lib/scale.mjs scaleEngines), so that no other figure sees them.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { median, timeInterleaved } from '../lib/measure.mjs';
import { PODMAN_NOTE } from '../lib/engines.mjs';
import { startService } from '../lib/api-service.mjs';
import {
  MB, SIDE_COLUMNS, atMost, removeEveryContainer, runBounded, scaleEngines, sideBySide, spawnCollect, storeBytes,
} from '../lib/scale.mjs';

export const id = 'scale-containers';

const TOTAL = Number(process.env.BENCH_SCALE_CONTAINERS) > 0 ? Number(process.env.BENCH_SCALE_CONTAINERS) : 1000;
const RUNNING = Math.round(TOTAL / 10);
/** Creation at once: enough to keep 2 cores busy, few enough that neither engine's locking is the story. */
const CONCURRENCY = 4;
/** The cheap commands get at least this many samples whatever BENCH_RUNS says. */
const MIN_SAMPLES = 10;

const nameOf = (i) => `scale-${i}`;

function execOut(sb, argv) {
  const r = spawnSync(argv[0], argv.slice(1), { env: sb.env, cwd: sb.root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${argv.slice(0, 8).join(' ')}… exited ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').pop()}`);
  return r.stdout;
}

/** This user's line of /proc/key-users: "keys used/max, bytes used/max". */
function keyUse() {
  try {
    const uid = process.getuid();
    const l = readFileSync('/proc/key-users', 'utf8').split('\n').find((x) => x.trim().startsWith(`${uid}:`));
    const f = l?.trim().split(/\s+/) ?? [];
    return f.length >= 5 ? `${f[3]} keys, ${f[4]} bytes` : 'unknown';
  } catch {
    return 'unknown';
  }
}

const lines = (s) => s.split('\n').map((l) => l.trim()).filter(Boolean);

/**
 * Fills an engine's store: RUNNING `run -d … sleep`, the rest `run -d … true`
 * (they exit at once), CONCURRENCY at a time. A failed start is retried
 * once; every failure is kept (command, last stderr line) for the notes.
 */
async function populate(sb, e) {
  const failures = [];
  let done = 0;
  const t0 = process.hrtime.bigint();
  const start = async (i) => {
    const cmd = i < RUNNING ? ['sleep', '100000'] : ['true'];
    const argv = e.argv(['run', '-d', '--net', 'none', '--name', nameOf(i), e.image, ...cmd]);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = await spawnCollect(argv, { env: sb.env, cwd: sb.root });
      if (r.code === 0) break;
      failures.push(`${e.label} run -d --name ${nameOf(i)} (attempt ${attempt}) exited ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').pop()}`);
      // A half-made container would make the retry fail on its name.
      if (attempt === 1) await spawnCollect(e.argv(['rm', '-f', nameOf(i)]), { env: sb.env, cwd: sb.root });
    }
    if (++done % 100 === 0) process.stderr.write(`${e.key} ${done}/${TOTAL} `);
  };
  await runBounded(Array.from({ length: TOTAL }, (_, i) => i), CONCURRENCY, start);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, failures };
}

/** Waits until the `true` containers have all exited (Podman's cleanup runs after the fact). */
async function settle(sb, e, timeoutMs = 180000) {
  const until = Date.now() + timeoutMs;
  let running;
  for (;;) {
    running = lines(execOut(sb, e.argv(['ps', '-q']))).length;
    if (running <= RUNNING || Date.now() > until) return running;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function run(sb, { runs, warmup }) {
  const full = scaleEngines(sb, 'scale');
  const empty = scaleEngines(sb);
  const notes = [PODMAN_NOTE];
  const problems = [];
  const size = {};
  const fill = {};
  const counts = {};
  try {
    const tar = sb.path('busybox.tar');
    sb.exec(full.rootlet.argv(['import', tar, full.rootlet.image]), 'rootlet (scale store) import');
    sb.exec(full.podman.argv(['import', '--quiet', tar, full.podman.image]), 'podman (scale store) import');
    // The scale store's own namespace holder, for run.sh to kill should the driver be killed.
    const info = JSON.parse(sb.exec(full.rootlet.argv(['info', '--format', 'json'])));
    if (info.paths?.namespaceHolderPid) sb.recordPid(info.paths.namespaceHolderPid);
    for (const e of Object.values(full)) size[e.key] = { before: storeBytes(sb, e) };

    // One engine after the other: each has the machine to itself while it
    // fills, and only one engine's 100 running containers exist at a time.
    // With both at once (2,000 containers, 200 running `sleep`), a Podman
    // run failed on the kernel's per-user key quota (runc: "unable to
    // create session key: disk quota exceeded"; each runtime gives every
    // container a session keyring), which the user's other jobs share. So the comparisons that matter most
    // are interleaved within each phase: full store against empty store,
    // and the three cheap commands; between engines only across phases.
    const n = Math.max(runs, MIN_SAMPLES);
    const running = nameOf(RUNNING >> 1);
    const exited = nameOf(TOTAL - 1);
    const s = {};
    const keys = {};
    const rmMs = {};
    for (const e of Object.values(full)) {
      process.stderr.write(`populating ${TOTAL} containers… `);
      fill[e.key] = await populate(sb, e);
      const nRunning = await settle(sb, e);
      counts[e.key] = { all: lines(execOut(sb, e.argv(['ps', '-aq']))).length, running: nRunning };
      size[e.key].after = storeBytes(sb, e);
      keys[e.key] = keyUse();
      if (fill[e.key].failures.length) problems.push(...fill[e.key].failures.slice(0, 5));
      if (counts[e.key].all !== TOTAL || nRunning !== RUNNING) {
        problems.push(`${e.label}: ps -aq lists ${counts[e.key].all} containers (made ${TOTAL}), ps -q ${nRunning} running (started ${RUNNING})`);
      }
      process.stderr.write('ps, inspect… ');
      // The same commands by the docker CLI through the engine's API service on this store, interleaved with its own CLI's.
      const svc = await startService(sb, e.argv(['system', 'service']), sb.path(`scale-${e.key}.sock`));
      try {
        Object.assign(s, await timeInterleaved([
          { tool: `${e.key}-ps`, argv: e.argv(['ps', '-a']) },
          { tool: `${e.key}-inspect-running`, argv: e.argv(['inspect', running]) },
          { tool: `${e.key}-inspect-exited`, argv: e.argv(['inspect', exited]) },
          { tool: `${e.key}-api-ps`, argv: svc.docker(['ps', '-a']) },
          { tool: `${e.key}-api-inspect-running`, argv: svc.docker(['inspect', running]) },
          { tool: `${e.key}-api-inspect-exited`, argv: svc.docker(['inspect', exited]) },
          { tool: `${e.key}-docker-alone`, argv: svc.docker(['--version']) },
        ], { env: sb.env, cwd: sb.root, runs: n, warmup }));
      } finally {
        await svc.stop();
      }
      process.stderr.write('run --rm… ');
      const em = empty[e.key];
      Object.assign(s, await timeInterleaved([
        { tool: `${e.key}-run-full`, argv: e.argv(['run', '--rm', '--net', 'none', e.image, 'true']) },
        { tool: `${e.key}-run-empty`, argv: em.argv(['run', '--rm', '--net', 'none', em.image, 'true']) },
      ], { env: sb.env, cwd: sb.root, runs: n, warmup }));
      process.stderr.write('rm…\n');
      const t0 = process.hrtime.bigint();
      problems.push(...removeEveryContainer(sb, e));
      rmMs[e.key] = Number(process.hrtime.bigint() - t0) / 1e6;
    }

    const slower = (k) => median(s[`${k}-run-full`]) / median(s[`${k}-run-empty`]) - 1;
    const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
    const perContainer = (k) => (size[k].after.bytes - size[k].before.bytes) / TOTAL;
    const rows = [
      sideBySide(`populate: ${TOTAL} × run -d (${RUNNING} sleep, ${TOTAL - RUNNING} true), ${CONCURRENCY} at once, s`, fill.rootlet.ms / 1000, fill.podman.ms / 1000),
      sideBySide(`ps -a (${TOTAL} containers), median ms`, s['rootlet-ps'], s['podman-ps'], { target: atMost(150) }),
      sideBySide('inspect of one running container, median ms', s['rootlet-inspect-running'], s['podman-inspect-running'], { target: atMost(80) }),
      sideBySide('inspect of one exited container, median ms', s['rootlet-inspect-exited'], s['podman-inspect-exited'], { target: atMost(80) }),
      sideBySide(`the same ps -a by the docker CLI through the engine's API service, median ms`, s['rootlet-api-ps'], s['podman-api-ps'], { target: atMost(150) }),
      sideBySide('the same inspect of the running container, docker CLI through the service, median ms', s['rootlet-api-inspect-running'], s['podman-api-inspect-running'], { target: atMost(80) }),
      sideBySide('the same inspect of the exited container, docker CLI through the service, median ms', s['rootlet-api-inspect-exited'], s['podman-api-inspect-exited'], { target: atMost(80) }),
      sideBySide(`run --rm --net none true, store of ${TOTAL}, median ms`, s['rootlet-run-full'], s['podman-run-full']),
      sideBySide('run --rm --net none true, (nearly) empty store, median ms', s['rootlet-run-empty'], s['podman-run-empty']),
      {
        what: `run --rm: store of ${TOTAL} against empty, slower by, %`,
        rootlet: slower('rootlet') * 100, podman: slower('podman') * 100,
        target: `≤ +10 %: ${slower('rootlet') <= 0.1 ? 'met' : '**not met**'} (rootlet ${pct(slower('rootlet'))}, Podman ${pct(slower('podman'))})`,
      },
      sideBySide(`removing all ${TOTAL} (rm -af; rootlet: ps -aq, then rm -f in batches of 200), s`, rmMs.rootlet / 1000, rmMs.podman / 1000),
      sideBySide(`store on disk with ${TOTAL} containers, MB`, size.rootlet.after.bytes / MB, size.podman.after.bytes / MB),
      sideBySide('store on disk per container, kB', perContainer('rootlet') / 1000, perContainer('podman') / 1000),
    ];
    const partial = Object.entries(size).filter(([, v]) => v.after.partial || v.before.partial).map(([k]) => k);
    notes.push(
      `Each engine is filled in turn, on a store of its own (rootlet \`--root/--runroot\`, Podman \`--root/--runroot\`) holding only the busybox image; ` +
      `${CONCURRENCY} \`run -d --net none\` at a time, a failed one retried once. After filling, the figure waits until the ${TOTAL - RUNNING} \`true\` containers show as exited.`,
      `Per engine, with its ${TOTAL} containers in place: ps -a and the two inspects, median of ${n} runs each after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, interleaved; ` +
      `then run --rm, the same count, on the store of ${TOTAL} and on the sandbox's own store (the image, no container), interleaved; then all ${TOTAL} removed. ` +
      `The engines take turns (rootlet's phase first), so rootlet and Podman are compared across phases; only one engine's ${RUNNING} running containers exist at a time, ` +
      `since with both engines' containers in place a Podman run failed with runc's "unable to create session key: disk quota exceeded": the kernel's per-user key quota (kernel.keys.maxkeys, maxbytes), ` +
      `which the user's other jobs share; each runtime gives every container a session keyring.`,
      `The bench user's kernel keys with one engine's ${TOTAL} containers in place (/proc/key-users: keys, bytes used/quota): rootlet ${keys.rootlet}, Podman ${keys.podman}.`,
      `The "docker CLI through the service" rows: each engine's \`system service --time 0\` on its store of ${TOTAL}, started before these commands and stopped after them, ` +
      `and the docker CLI (\`docker ps -a\`, \`docker inspect NAME\`) on its socket, interleaved with the engine's own commands (the warm-up rounds also warm the service). ` +
      `The service is a process already started, so these rows measure the client's start and one request; ` +
      `the docker CLI alone (\`docker --version\`, no request) took ${median(s['rootlet-docker-alone']).toFixed(1)} ms (median, rootlet's phase) and ${median(s['podman-docker-alone']).toFixed(1)} ms (Podman's).`,
      `The "slower by" row is in per cent (full store's median over the empty store's, minus 1).`,
      `Store on disk: \`du -sb\` of the store directory, run in the engine's user namespace (\`unshare\`) so that every file is readable (rootlet: its --root; Podman: its --root, the overlay graph and container records; the runroots are tmpfs-like state outside it), ` +
      `before filling: rootlet ${(size.rootlet.before.bytes / MB).toFixed(1)} MB, Podman ${(size.podman.before.bytes / MB).toFixed(1)} MB (the image). Per container: the difference over ${TOTAL}.` +
      (partial.length ? ` du could not read everything in: ${partial.join(', ')} (the figure is a lower bound).` : ''),
      `Containers listed after filling: rootlet ${counts.rootlet.all} (${counts.rootlet.running} running), Podman ${counts.podman.all} (${counts.podman.running} running).`,
    );
    return {
      id,
      title: `${TOTAL.toLocaleString('en')} containers in one store: ps -a, inspect, run --rm, size on disk`,
      description: `rootlet and Podman each with ${TOTAL} containers (${RUNNING} running \`sleep\`, ${TOTAL - RUNNING} exited) in a store of their own; wall times fork to exit, tools interleaved. Ratio: rootlet over Podman.`,
      runs: n,
      warmup,
      columns: SIDE_COLUMNS,
      rows,
      summary: [],
      notes: [...notes, ...problems.map((p) => `Problem: ${p}`)],
    };
  } finally {
    for (const e of Object.values(full)) {
      for (const p of removeEveryContainer(sb, e)) process.stderr.write(`scale-containers cleanup: ${p}\n`);
    }
    // rootlet's scale store had a namespace holder of its own; reset stops it.
    const reset = spawnSync(full.rootlet.argv(['system', 'reset', '--force'])[0], full.rootlet.argv(['system', 'reset', '--force']).slice(1), { env: sb.env, cwd: sb.root, encoding: 'utf8' });
    if (reset.status !== 0) process.stderr.write(`scale-containers cleanup: rootlet system reset: ${(reset.stderr || '').trim()}\n`);
    // Podman's pause process is the user's one, shared with the sandbox's store: only the images and files go.
    const pargv = full.podman.argv(['rmi', '-af']);
    spawnSync(pargv[0], pargv.slice(1), { env: sb.env, cwd: sb.root, stdio: 'ignore' });
    const un = full.podman.argv(['unshare', 'rm', '-rf', full.podman.root, full.podman.runroot]);
    spawnSync(un[0], un.slice(1), { env: sb.env, cwd: sb.root, stdio: 'ignore' });
  }
}
