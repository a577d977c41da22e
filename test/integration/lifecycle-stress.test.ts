import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';
import {
  describeLeftovers, destroyHard, fullIds, isAlive, isClean, markerFor, processesMentioning, psNames, psStatus,
  settleLeftovers, sleep, startRootlet, statusIn, storeDirs, waitFor, type Leftovers,
} from '../lifecycle-helpers.js';

// The acceptance battery of issue "Container lifecycle", part 3: many
// rootlet processes at once, and rootlet killed with SIGKILL at random
// moments. State left by a dead process must be reconciled: every later
// command works and, once everything listed is removed, nothing is left.

/** A deterministic pseudo-random sequence, so that a failing round can be replayed (seed in the test output). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('30 containers started and removed concurrently', () => {
  const sb = new Sandbox('life-conc');
  const marker = markerFor(sb, 'conc');
  const N = 30;

  before(() => {
    sb.importBusybox();
    // The namespace holder and the storage driver probe exist before the rush.
    sb.ok(['run', '--rm', 'busybox', 'true']);
  });
  after(() => destroyHard(sb, [marker]));

  test(`${N} parallel run -d, then ${N} parallel rm -f: no failure, nothing left`, async (t) => {
    const t0 = Date.now();
    const runs = await Promise.all(Array.from({ length: N }, (_, i) =>
      startRootlet(sb, ['run', '-d', '--name', `conc${i}`, 'busybox', 'sh', '-c', `sleep 1000; : ${marker}`], { capture: true }).done));
    const tRun = Date.now() - t0;
    const failed = runs.map((r, i) => ({ r, i })).filter(({ r }) => r.code !== 0 || !/^[0-9a-f]{64}\n$/.test(r.stdout));
    assert.deepEqual(failed.map(({ i, r }) => `conc${i}: exit ${r.code}: ${r.stderr.trim()}`), []);
    // All of them run, each once, under its own name.
    const ps = sb.ok(['ps']);
    for (let i = 0; i < N; i++) assert.match(statusIn(ps, `conc${i}`) ?? 'missing', /^Up /, `conc${i}`);
    assert.equal(new Set(runs.map((r) => r.stdout)).size, N);
    assert.equal(fullIds(sb).length, N);

    const t1 = Date.now();
    // Removal races with ps -a, as a user watching would.
    const removals = Array.from({ length: N }, (_, i) => startRootlet(sb, ['rm', '-f', `conc${i}`], { capture: true }).done);
    const watchers = Array.from({ length: 3 }, () => startRootlet(sb, ['ps', '-a'], { capture: true }).done);
    const rms = await Promise.all(removals);
    const tRm = Date.now() - t1;
    assert.deepEqual(rms.map((r, i) => ({ r, i })).filter(({ r, i }) => r.code !== 0 || r.stdout !== `conc${i}\n`)
      .map(({ r, i }) => `rm -f conc${i}: exit ${r.code}: ${r.stderr.trim()}`), []);
    for (const w of await Promise.all(watchers)) assert.equal(w.code, 0, w.stderr);
    t.diagnostic(`${N} run -d in ${tRun} ms, ${N} rm -f in ${tRm} ms`);

    assert.deepEqual(fullIds(sb), []);
    const left = await settleLeftovers(sb, [marker], 10_000);
    assert.ok(isClean(left), `left over after rm -f:\n${describeLeftovers(left)}`);
  });

  test(`${N} parallel run -d --rm of short containers, with ps -a polling: all removed`, async () => {
    const runs = await Promise.all(Array.from({ length: N }, (_, i) =>
      startRootlet(sb, ['run', '-d', '--rm', '--name', `short${i}`, 'busybox', 'sh', '-c', `sleep 1; : ${marker}`], { capture: true }).done));
    assert.deepEqual(runs.filter((r) => r.code !== 0).map((r) => r.stderr.trim()), []);
    let names: string[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      names = psNames(sb).filter((n) => n.startsWith('short'));
      if (!names.length) break;
      await sleep(100);
    }
    assert.deepEqual(names, [], 'containers left after they exited');
  });
});

type Op = 'run --rm' | 'run -d' | 'stop' | 'rm -f';

describe('rootlet killed with SIGKILL at random moments', () => {
  const sb = new Sandbox('life-kill');
  const marker = markerFor(sb, 'chaos');
  const ROUNDS = Number(process.env.ROOTLET_CHAOS_ROUNDS ?? 100);
  const seed = Number(process.env.ROOTLET_CHAOS_SEED ?? Date.now() % 100_000);
  let final: Leftovers | undefined;
  const stuckRemovals: string[] = [];

  before(() => {
    sb.importBusybox();
    sb.ok(['run', '--rm', 'busybox', 'true']);
  });
  after(() => destroyHard(sb, [marker]));

  test(`${ROUNDS} rounds of kill -9 during run --rm, run -d, stop, rm -f: every later command works`, async (t) => {
    const rand = rng(seed);
    t.diagnostic(`seed ${seed} (ROOTLET_CHAOS_SEED to replay)`);
    const ops: Op[] = ['run --rm', 'run -d', 'stop', 'rm -f'];
    // Kill windows cover each command's whole run on this machine type (node start ~50 ms, a run ~300 ms, stop -t 1 ~1.1 s).
    const window: Record<Op, number> = { 'run --rm': 700, 'run -d': 450, stop: 1300, 'rm -f': 350 };
    const counts: Record<string, number> = {};
    const t0 = Date.now();
    let serial = 0;
    const newName = () => `chaos${serial++}`;
    const running = () => {
      const out = sb.ok(['ps']);
      return out.split('\n').slice(1).map((l) => l.trim().split(/\s+/).pop() ?? '').filter((n) => n.startsWith('chaos'));
    };
    const tag = (name: string) => `${marker}:${name}:`;
    const anomalies: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const op = ops[Math.floor(rand() * ops.length)]!;
      let args: string[];
      let name: string;
      let long = true;
      if (op === 'run --rm' || op === 'run -d') {
        name = newName();
        // Half of them run long (they must stay visible and removable), half end by themselves.
        long = rand() < 0.5;
        args = ['run', op === 'run -d' ? '-d' : '--rm', '--name', name, 'busybox', 'sh', '-c', `${long ? 'sleep 1000' : 'sleep 0.3'}; : ${tag(name)}`];
      } else {
        const targets = op === 'stop' ? running() : psNames(sb).filter((n) => n.startsWith('chaos'));
        if (targets.length) {
          name = targets[Math.floor(rand() * targets.length)]!;
        } else {
          name = newName();
          sb.ok(['run', '-d', '--name', name, 'busybox', 'sh', '-c', `sleep 1000; : ${tag(name)}`]);
        }
        args = op === 'stop' ? ['stop', '-t', '1', name] : ['rm', '-f', name];
      }
      const delay = Math.floor(rand() * window[op]);
      const p = startRootlet(sb, args);
      await sleep(delay);
      const killed = p.child.exitCode === null && p.child.signalCode === null && p.child.kill('SIGKILL');
      const r = await p.done;
      const key = `${op} ${killed ? 'killed' : 'finished'}`;
      counts[key] = (counts[key] ?? 0) + 1;
      const what = `round ${round}: \`${args.join(' ')}\` ${killed ? `killed after ${delay} ms` : 'not killed'}`;
      if (!killed) assert.equal(r.code, 0, `${what}: exit ${r.code}`);

      // Every following command works.
      const ps = sb.run(['ps', '-a']);
      assert.equal(ps.code, 0, `${what}; then ps -a: ${ps.stderr}`);
      const ok = sb.run(['run', '--rm', 'busybox', 'true']);
      assert.equal(ok.code, 0, `${what}; then run --rm busybox true: ${ok.stderr}`);
      // A container whose process runs is listed by ps -a (a foreground run whose rootlet died included).
      if (long && op.startsWith('run') && processesMentioning(tag(name)).length) {
        const status = statusIn(sb.ok(['ps', '-a']), name);
        assert.ok(status !== undefined, `${what}: its container runs but ps -a does not list it`);
        if (!/^Up /.test(status) && processesMentioning(tag(name)).length) anomalies.push(`${what}: runs, ps -a says "${status}"`);
      }
      // Keep the machine's load bounded: from time to time, remove everything listed.
      if (round % 10 === 9) {
        const ids = fullIds(sb);
        if (ids.length) {
          const rm = sb.run(['rm', '-f', ...ids]);
          assert.equal(rm.code, 0, `round ${round}: rm -f of everything listed: ${rm.stderr}`);
        }
      }
    }
    if (anomalies.length) t.diagnostic(`containers running while ps -a said otherwise:\n${anomalies.join('\n')}`);
    t.diagnostic(`${ROUNDS} rounds in ${Date.now() - t0} ms: ${JSON.stringify(counts)}`);

    // The end: remove everything listed; then nothing may be left but what
    // a removal killed half-way still holds (checked by the next test).
    const ids = fullIds(sb);
    if (ids.length) {
      const rm = sb.run(['rm', '-f', ...ids]);
      assert.equal(rm.code, 0, rm.stderr);
    }
    final = await settleLeftovers(sb, [marker], 10_000);
    const out = sb.ok(['ps', '-a', '--no-trunc']);
    const stuckNames: string[] = [];
    for (const id of final.records) {
      const line = out.split('\n').find((l) => l.startsWith(id)) ?? '';
      if (/Removal In Progress/.test(line)) {
        stuckRemovals.push(id);
        stuckNames.push(line.trim().split(/\s+/).pop()!);
      }
    }
    t.diagnostic(`after rm -f of everything: ${describeLeftovers(final)}`);
    // Every record still listed must be one whose removal was killed (reported by the next test);
    // what else is left must belong to those.
    assert.deepEqual(final.records.filter((id) => !stuckRemovals.includes(id)), [], 'records left that are not stuck removals');
    const explained = (s: string) => stuckRemovals.some((id) => s.includes(id)) || stuckNames.some((n) => s.includes(tag(n)));
    assert.deepEqual(final.dirs.filter((d) => !explained(d)), [], 'container directories left');
    assert.deepEqual(final.exitFiles.filter((d) => !explained(d)), [], 'exit files left');
    assert.deepEqual(final.runtimeState.filter((d) => !explained(d)), [], 'runtime state left');
    assert.deepEqual(final.mounts.filter((m) => !explained(m)), [], 'mounts left');
    assert.deepEqual(final.processes.filter((p) => !explained(p)), [], 'processes left');
  });

  test('after all those rounds and rm -f of everything listed, nothing at all is left', () => {
    assert.ok(final, 'the rounds ran');
    assert.ok(isClean(final), `left over:\n${describeLeftovers(final)}`);
  });
});

describe('rootlet killed at a chosen moment', () => {
  const sb = new Sandbox('life-rmkill');
  const marker = markerFor(sb, 'rmkill');

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb, [marker]));

  test('rm -f killed while "Removal In Progress": a later rm -f removes the container', async () => {
    // Many files in the container's upper layer make its removal take long enough to catch.
    sb.ok(['run', '-d', '--name', 'bulky', 'busybox', 'sh', '-c', `mkdir /d && cd /d && seq 1 40000 | xargs touch && echo made && sleep 1000; : ${marker}`]);
    await waitFor('bulky to write its files', () => sb.ok(['logs', 'bulky']).includes('made'), 60_000, 200);
    const rm = startRootlet(sb, ['rm', '-f', 'bulky']);
    let caught = false;
    const deadline = Date.now() + 30_000;
    while (isAlive(rm.child.pid!) && Date.now() < deadline) {
      if (psStatus(sb, 'bulky') === 'Removal In Progress') {
        rm.child.kill('SIGKILL');
        caught = true;
        break;
      }
    }
    await rm.done;
    assert.ok(caught, 'rm -f finished before ps -a showed "Removal In Progress"');
    // A user now tries again (a look with ps would finish the removal as well).
    const again = sb.run(['rm', '-f', 'bulky']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!psNames(sb).includes('bulky'), `rm -f exited ${again.code} and printed "${again.stdout.trim()}", yet ps -a still lists bulky: ${psStatus(sb, 'bulky')}`);
    assert.equal(sb.run(['create', '--name', 'bulky', 'busybox', 'true']).code, 0, 'the name is free again');
    const left = await settleLeftovers(sb, [marker], 5000);
    // The new container has no directory until it first starts.
    assert.ok(left.dirs.length <= 1, `leftover directories: ${left.dirs.join(', ')}`);
  });

  test('run -d killed just after the runtime started the container: ps lists it Up, stop stops it', async (t) => {
    let caught = false;
    const runcRoot = storeDirs(sb).runc;
    for (let attempt = 0; attempt < 3 && !caught; attempt++) {
      const name = `halfway${attempt}`;
      const tag = `${marker}:${name}:`;
      const known = new Set(readdirSync(runcRoot));
      // runc: the test does the runtime's `start` by hand.
      const p = startRootlet(sb, ['run', '-d', '--runtime', 'runc', '--name', name, 'busybox', 'sh', '-c', `sleep 1000; : ${tag}`]);
      // runc's exec.fifo appears with `runc create`: pause rootlet then (before its `runc start`),
      // do that `runc start` here, then kill rootlet: as if it had died right after starting the container.
      let id: string | undefined;
      const deadline = Date.now() + 10_000;
      while (!caught && Date.now() < deadline) {
        id ??= readdirSync(runcRoot).find((e) => !known.has(e));
        if (id && existsSync(join(runcRoot, id, 'exec.fifo'))) {
          p.child.kill('SIGSTOP');
          caught = true;
        }
      }
      if (caught) {
        const started = sb.run(['unshare', 'runc', '--root', runcRoot, 'start', id!]);
        assert.equal(started.code, 0, `runc start: ${started.stderr}`);
        await waitFor('the container to start', () => processesMentioning(tag).length > 0, 30_000, 20);
        p.child.kill('SIGKILL');
        p.child.kill('SIGCONT');
      }
      await p.done;
      if (!caught) continue;
      const status = psStatus(sb, name);
      assert.ok(status !== undefined, 'ps -a lists it');
      const stop = sb.run(['stop', '-t', '1', name]);
      assert.equal(stop.code, 0, stop.stderr);
      const stillRuns = processesMentioning(tag).length > 0;
      t.diagnostic(`attempt ${attempt}: ps -a said "${status}"; after stop it ${stillRuns ? 'still runs' : 'is gone'}`);
      assert.deepEqual({ status: status.replace(/^Up .*/, 'Up'), stillRunsAfterStop: stillRuns }, { status: 'Up', stillRunsAfterStop: false });
    }
    assert.ok(caught, 'caught rootlet between `runc create` and `runc start`');
  });
});
