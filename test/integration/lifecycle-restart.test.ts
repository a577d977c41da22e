import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, Sandbox } from '../helpers.js';
import {
  containerPids, countLines, destroyHard, fullIds, holderPid, isAlive, logs, markerFor, processesMentioning, psNames, psStatus,
  sleep, storeDirs, waitFor,
} from '../lifecycle-helpers.js';

// The acceptance battery of issue "Container lifecycle", part 2: what
// happens after a detached container's process ends (conmon's exit hook:
// --rm, restart policies), and detached containers outliving the rootlet
// that started them and the namespace holder.

/** Polls the log (not `ps`, which reconciles state) until `line` was printed `n` times. */
async function waitForRuns(sb: Sandbox, name: string, line: string, n: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(`${name} to print "${line}" ${n} times`, () => countLines(logs(sb, name), line) >= n, timeoutMs, 100);
}

/** Waits for a container's directory to go (the exit hook removing an --rm container), without running rootlet. */
async function waitForDirGone(sb: Sandbox, id: string, timeoutMs: number): Promise<boolean> {
  const dir = join(storeDirs(sb).containers, id);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!existsSync(dir)) return true;
    await sleep(100);
  }
  return !existsSync(dir);
}

describe('restart policies', () => {
  const sb = new Sandbox('life-restart');

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb));

  test('--restart on-failure:2: a failing container runs 3 times (2 restarts), then stays Exited', async () => {
    sb.ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 3']);
    await waitForRuns(sb, 'flaky', 'run', 3);
    // Restart delays double from 100 ms: a 4th run would come well within 3 s.
    await sleep(3000);
    assert.equal(countLines(logs(sb, 'flaky'), 'run'), 3, 'exactly three runs (RestartCount 2)');
    assert.match(psStatus(sb, 'flaky') ?? '', /^Exited \(3\) /);
    assert.ok(!psNames(sb, false).includes('flaky'));
  });

  test('--restart on-failure:2 does not restart a container that succeeds', async () => {
    sb.ok(['run', '-d', '--name', 'fine', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 0']);
    await waitForRuns(sb, 'fine', 'run', 1);
    await sleep(2000);
    assert.equal(countLines(logs(sb, 'fine'), 'run'), 1);
    assert.match(psStatus(sb, 'fine') ?? '', /^Exited \(0\) /);
  });

  test('--restart on-failure:2 while the user polls `ps -a`: still 3 runs', async () => {
    sb.ok(['run', '-d', '--name', 'watched', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 3']);
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && countLines(logs(sb, 'watched'), 'run') < 3) {
      sb.ok(['ps', '-a']);
      await sleep(20);
    }
    await waitForRuns(sb, 'watched', 'run', 3);
    await sleep(2000);
    assert.equal(countLines(logs(sb, 'watched'), 'run'), 3);
  });

  test('`wait` on a container with --restart on-failure:2 does not cancel its restarts', async () => {
    sb.ok(['run', '-d', '--name', 'waited', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; sleep 0.3; exit 3']);
    assert.equal(sb.ok(['wait', 'waited']).trim(), '3');
    // Restarts take what the host gives them: wait for them, then make sure no fourth comes.
    await waitForRuns(sb, 'waited', 'run', 3);
    await sleep(3000);
    assert.equal(countLines(logs(sb, 'waited'), 'run'), 3);
  });

  test('--restart always: comes back after its process exits (exit 0 included)', async () => {
    sb.ok(['run', '-d', '--name', 'forever', '--restart', 'always', 'busybox', 'sh', '-c', 'echo run; sleep 0.3']);
    await waitForRuns(sb, 'forever', 'run', 3);
    sb.ok(['rm', '-f', 'forever']);
    assert.ok(!psNames(sb).includes('forever'));
  });

  test('--restart always: not after stop (stopped while it runs), and again after start', async () => {
    // Runs 30 s (stop comes well inside the run, however loaded the host), or 1 s once /quick
    // exists (the container's file system outlives its runs); exits 143 at once on SIGTERM.
    const body = 'trap "exit 143" TERM; echo run; n=300; [ -e /quick ] && n=10; i=0; while [ $i -lt $n ]; do sleep 0.1; i=$((i+1)); done';
    sb.ok(['run', '-d', '--name', 'always', '--restart', 'always', 'busybox', 'sh', '-c', body]);
    await waitForRuns(sb, 'always', 'run', 1);
    await sleep(500);
    const stop = sb.run(['stop', '-t', '5', 'always']);
    assert.equal(stop.code, 0, stop.stderr);
    await sleep(3000);
    assert.equal(countLines(logs(sb, 'always'), 'run'), 1, 'no run after stop');
    assert.match(psStatus(sb, 'always') ?? '', /^Exited \(143\) /);
    // start brings it back, and its policy applies again when it ends by itself.
    writeFileSync(sb.path('quick'), '');
    sb.ok(['cp', sb.path('quick'), 'always:/quick']);
    sb.ok(['start', 'always']);
    await waitForRuns(sb, 'always', 'run', 3, 15_000);
    await sleep(500);
    sb.ok(['stop', '-t', '5', 'always']);
    const runs = countLines(logs(sb, 'always'), 'run');
    await sleep(3000);
    assert.equal(countLines(logs(sb, 'always'), 'run'), runs, 'no run after the second stop');
  });

  test('stop during the restart back-off cancels the restart', async () => {
    sb.ok(['run', '-d', '--name', 'backoff', '--restart', 'always', 'busybox', 'sh', '-c', 'echo run']);
    // After 5 runs the back-off is 1.6 s and growing: the container is almost always between runs.
    await waitForRuns(sb, 'backoff', 'run', 5);
    sb.ok(['stop', 'backoff']);
    const runs = countLines(logs(sb, 'backoff'), 'run');
    await sleep(5000);
    assert.equal(countLines(logs(sb, 'backoff'), 'run'), runs, 'a run after stop returned');
  });

  test('--restart and --rm conflict; a bad policy is refused', () => {
    const both = sb.run(['run', '-d', '--rm', '--restart', 'always', 'busybox', 'true']);
    assert.equal(both.code, 125);
    assert.match(both.stderr, /--restart.*--rm|--rm.*--restart/);
    assert.equal(sb.run(['run', '-d', '--restart', 'sometimes', 'busybox', 'true']).code, 125);
    assert.equal(sb.run(['run', '-d', '--restart', 'always:3', 'busybox', 'true']).code, 125);
  });
});

describe('run -d --rm', () => {
  const sb = new Sandbox('life-rm');

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb));

  test('a --rm container is removed when it exits (its directory, record, exit file)', async () => {
    const id = sb.ok(['run', '-d', '--rm', '--name', 'ephemeral', 'busybox', 'sh', '-c', 'sleep 0.5']).trim();
    assert.ok(await waitForDirGone(sb, id, 10_000), 'the container directory is removed by the exit hook');
    assert.ok(!psNames(sb).includes('ephemeral'));
    assert.equal(existsSync(join(storeDirs(sb).exits, id)), false);
    assert.equal(existsSync(join(storeDirs(sb).runc, id)), false);
  });

  test('a --rm container is removed when it exits, while the user polls `ps -a`', async () => {
    for (let i = 0; i < 3; i++) {
      sb.ok(['run', '-d', '--rm', '--name', `polled${i}`, 'busybox', 'sh', '-c', 'sleep 0.5']);
      await waitFor(`polled${i} to disappear from ps -a`, () => !psNames(sb).includes(`polled${i}`), 15_000, 50);
    }
  });

  test('stop of a --rm container removes it', async () => {
    const id = sb.ok(['run', '-d', '--rm', '--name', 'stopped-rm', 'busybox', 'sh', '-c', 'trap "exit 143" TERM; while :; do sleep 0.1; done']).trim();
    sb.ok(['stop', 'stopped-rm']);
    assert.ok(await waitForDirGone(sb, id, 5000), 'the directory of a stopped --rm container is gone');
    assert.ok(!psNames(sb).includes('stopped-rm'));
  });

  test('wait on a --rm container prints its code, then it is removed', async () => {
    // The container must still exist when `wait` looks its name up (a node start away, seconds on a busy
    // machine): once --rm has removed it, `wait` can only say "No such container", as Docker's does.
    const id = sb.ok(['run', '-d', '--rm', '--name', 'waited-rm', 'busybox', 'sh', '-c', 'sleep 5; exit 4']).trim();
    assert.equal(sb.ok(['wait', 'waited-rm']).trim(), '4');
    assert.ok(await waitForDirGone(sb, id, 15_000));
    assert.ok(!psNames(sb).includes('waited-rm'));
  });

  test('rm -f of a running --rm container leaves nothing', async () => {
    const id = sb.ok(['run', '-d', '--rm', '--name', 'forced-rm', 'busybox', 'sleep', '1000']).trim();
    assert.equal(sb.ok(['rm', '-f', 'forced-rm']).trim(), 'forced-rm');
    assert.ok(!psNames(sb).includes('forced-rm'));
    assert.equal(existsSync(join(storeDirs(sb).containers, id)), false);
    await waitFor('conmon of the removed container to exit', () => processesMentioning(id).length === 0, 5000);
    assert.equal(existsSync(join(storeDirs(sb).exits, id)), false);
  });
});

describe('detached containers outlive rootlet and the namespace holder', () => {
  const sb = new Sandbox('life-holder');
  const marker = markerFor(sb, 'holder');

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb, [marker]));

  test('run -d in a session of its own: after rootlet exits, nothing of it is left in that session, the container runs on', async () => {
    const child = spawn(process.execPath, [BIN, 'run', '-d', '--name', 'orphan', 'busybox', 'sh', '-c', `sleep 1000; : ${marker}`], {
      env: sb.env, cwd: sb.root, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 0);
    await sleep(50);
    const id = out.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    // Like closing the terminal: the whole process group and session of that rootlet go.
    const left = spawnSync('pgrep', ['-s', String(child.pid)], { encoding: 'utf8' }).stdout.trim();
    assert.equal(left, '', `processes left in rootlet's session: ${left}`);
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* nothing left in the group */ }
    await sleep(500);
    const { pid, conmon } = containerPids(sb, id);
    assert.ok(pid && isAlive(pid), 'the container\'s process is alive');
    assert.ok(conmon && isAlive(conmon), 'conmon is alive');
    assert.match(psStatus(sb, 'orphan', false) ?? '', /^Up /);
    assert.equal(sb.ok(['logs', 'orphan']), '');
  });

  test('a holder whose creator died before recording it is stopped when the next holder is made, and by system reset', async () => {
    const own = new Sandbox('life-holder-mark');
    try {
      own.importBusybox();
      // What a rootlet killed between starting a holder and recording it leaves: a process marked as this store's holder.
      const database = (JSON.parse(own.ok(['info', '--format', 'json'])) as { paths: { database: string } }).paths.database;
      const marked = (store: string) => {
        const p = spawn('sleep', ['1000'], { env: { PATH: process.env.PATH, ROOTLET_HOLDER_OF: store }, detached: true, stdio: 'ignore' });
        p.unref();
        return p.pid!;
      };
      const first = marked(database);
      const holder = holderPid(own);
      process.kill(holder, 'SIGKILL');
      await waitFor('the holder to die', () => !isAlive(holder), 15_000, 20);
      assert.equal(own.ok(['run', '--rm', 'busybox', 'echo', 'back']).trim(), 'back');
      await waitFor('the unrecorded holder to be stopped when a new one was made', () => !isAlive(first), 15_000, 20);
      const second = marked(database);
      const other = marked(`${database}.other`);
      own.ok(['system', 'reset', '--force']);
      await waitFor('system reset to stop the unrecorded holder', () => !isAlive(second), 15_000, 20);
      const otherAlive = isAlive(other);
      process.kill(other, 'SIGKILL');
      assert.ok(otherAlive, 'a holder marked for another store is left alone');
    } finally {
      own.destroy();
    }
  });

  test('the holder killed and re-created: ps, logs, stop, start and rm of a container started before still work', async () => {
    const id = sb.ok(['run', '-d', '--name', 'elder', 'busybox', 'sh', '-c', 'trap "echo got-term; exit 143" TERM; echo started; while :; do sleep 0.1; done']).trim();
    await waitFor('elder to start', () => logs(sb, 'elder').includes('started'));
    const holder = holderPid(sb);
    process.kill(holder, 'SIGKILL');
    await waitFor('the holder to die', () => !isAlive(holder), 15_000, 20);
    // Any command that needs the namespace re-creates the holder.
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'echo', 'back']).trim(), 'back');
    const again = holderPid(sb);
    assert.notEqual(again, holder);
    assert.ok(isAlive(again));
    // The earlier container, in the old namespace, is still seen and controlled.
    assert.match(psStatus(sb, 'elder', false) ?? '', /^Up /);
    assert.match(psStatus(sb, 'orphan', false) ?? '', /^Up /);
    sb.ok(['kill', '-s', 'USR1', 'elder']);
    const t0 = Date.now();
    assert.equal(sb.ok(['stop', 'elder']).trim(), 'elder');
    assert.ok(Date.now() - t0 < 9000, 'stop returned before the 10 s timeout: SIGTERM reached the container');
    assert.match(psStatus(sb, 'elder') ?? '', /^Exited \(143\) /);
    assert.equal(logs(sb, 'elder'), 'started\ngot-term\n');
    // Its exit hook runs in the old namespace, where it must use its own namespaces: let it finish first.
    await waitFor('the exit hook to finish', () => processesMentioning(`__container-exited ${id}`).length === 0, 30_000, 50);
    // It starts again, in the new namespace.
    sb.ok(['start', 'elder']);
    await waitFor('elder to start again', () => countLines(logs(sb, 'elder'), 'started') === 2);
    assert.match(psStatus(sb, 'elder', false) ?? '', /^Up /);
    sb.ok(['rm', '-f', 'elder', 'orphan']);
    assert.deepEqual(fullIds(sb), []);
    await waitFor('the containers\' processes to end', () => processesMentioning(marker).length === 0 && processesMentioning(id).length === 0, 10_000);
    assert.equal(existsSync(join(storeDirs(sb).containers, id)), false);
    await waitFor('no exit file left', () => !existsSync(join(storeDirs(sb).exits, id)), 5000);
  });

  test('the holder killed and re-created: the exit hook of an earlier container still removes (--rm) or restarts it, and leaves the new holder alone', async () => {
    // Traced: each exit hook then writes its decisions to its container's exit-hook.log, which a failure below shows.
    const traced = { env: { ROOTLET_TRACE: '1' } };
    // The containers end only once the holder is dead and replaced: a first run that ended before the kill (a `sleep 2`
    // did, on a loaded machine) has its hook restart it in a live namespace, which is not what this test is about.
    const gate = sb.path('holder-gate');
    mkdirSync(gate, { recursive: true });
    const gated = (then: string) => ['-v', `${gate}:/gate`, 'busybox', 'sh', '-c', `echo run; until [ -e /gate/go ]; do sleep 0.1; done; ${then}`];
    const rmId = sb.ok(['run', '-d', '--rm', '--name', 'elder-rm', ...gated('exit 0')], traced).trim();
    const retryId = sb.ok(['run', '-d', '--name', 'elder-retry', '--net', 'none', '--restart', 'on-failure:1', ...gated('exit 1')], traced).trim();
    // On a network: its restart would bring the network up in the dead holder's namespace, which the new holder's
    // containers could not join. It is not restarted, and its exit-hook.log says why.
    const netId = sb.ok(['run', '-d', '--name', 'elder-net', '--restart', 'on-failure:1', ...gated('exit 1')], traced).trim();
    const holder = holderPid(sb);
    process.kill(holder, 'SIGKILL');
    await waitFor('the holder to die', () => !isAlive(holder), 15_000, 20);
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'echo', 'back']).trim(), 'back');
    const current = holderPid(sb);
    writeFileSync(join(gate, 'go'), '');
    // No ps meanwhile (it would race with the exit hook, see above): watch the store and the log.
    const removed = await waitForDirGone(sb, rmId, 8000);
    await sleep(1000);
    const problems: string[] = [];
    if (!isAlive(current)) problems.push(`the current namespace holder (pid ${current}) was killed after the earlier containers exited`);
    if (!removed) problems.push('the --rm container started before the holder died was not removed when it exited');
    // Its restart is its exit hook's work, a node start in the dead namespace that a loaded machine slows: waited for
    // in its log file (a rootlet command here could race with the hook, as ps would).
    const retryLog = join(storeDirs(sb).containers, retryId, 'ctr.log');
    const retryRuns = () => (existsSync(retryLog) ? readFileSync(retryLog, 'utf8').split('\n').filter((l) => / run$/.test(l)).length : 0);
    await waitFor('the on-failure:1 container to run again', () => retryRuns() >= 2, 60_000, 100).catch(() => undefined);
    const runs = countLines(logs(sb, 'elder-retry'), 'run');
    if (runs !== 2) {
      const hookLog = join(storeDirs(sb).containers, retryId, 'exit-hook.log');
      const why = existsSync(hookLog) ? `; its exit-hook.log: ${readFileSync(hookLog, 'utf8').trim()}` : '';
      problems.push(`the on-failure:1 container started before the holder died ran ${runs} time(s), not 2${why}`);
    }
    const hookLog = join(storeDirs(sb).containers, netId, 'exit-hook.log');
    // Its exit hook is a node start inside the dead namespace, slow on a loaded machine: waited for until it has ended.
    await waitFor('the networked container\'s exit hook to give up', () => existsSync(hookLog) && processesMentioning(`__container-exited ${netId}`).length === 0, 60_000, 100)
      .catch((err: Error) => {
        // Once seen timing out on a loaded CI machine: say what the hook was doing, for the next one to find.
        const dir = join(storeDirs(sb).containers, netId);
        const file = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8').trim() : '(none)');
        const hooks = processesMentioning(`__container-exited ${netId}`);
        const stacks = hooks.map((l) => {
          const pid = l.split(' ')[0]!;
          const kids = spawnSync('pgrep', ['-a', '-P', pid], { encoding: 'utf8' }).stdout.trim();
          let state = 'gone';
          try { state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] ?? '?'; } catch { /* ended meanwhile */ }
          return `${l} [state ${state}; children: ${kids || 'none'}]`;
        });
        const exitFile = existsSync(join(storeDirs(sb).exits, netId)) ? 'there' : 'none';
        const state = sb.run(['inspect', '-f', '{{.State.Status}} exit {{.State.ExitCode}} restarts {{.RestartCount}}', netId]);
        throw new Error(`${err.message}; hook processes: ${stacks.join(' | ') || 'none'}; exit-hook.log: ${file('exit-hook.log')}; conmon.log: ${file('conmon.log')}; `
          + `ps: ${processesMentioning(netId.slice(0, 12)).join(' | ') || 'none'}; exit file: ${exitFile}; inspect: ${state.stdout.trim() || state.stderr.trim()}`);
      });
    // Usually the hook finds its holder gone; when the kill lands while it runs, entering the holder fails instead.
    assert.match(readFileSync(hookLog, 'utf8'), /cannot set up network rootlet: (the namespace holder this container ran under has stopped; start the container again|nsenter: cannot open \/proc\/\d+\/ns\/mnt)/);
    const netRuns = countLines(logs(sb, 'elder-net'), 'run');
    if (netRuns !== 1) problems.push(`the networked on-failure:1 container ran ${netRuns} time(s) in the dead holder's namespace, not 1`);
    // The new holder's default network still works, and the container starts again in it.
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0 | wc -l']).trim(), '1');
    assert.deepEqual(problems, []);
    // Closed again: the new run waits (the suite's cleanup removes it), so that exactly one more run is seen.
    rmSync(join(gate, 'go'));
    sb.ok(['start', 'elder-net']);
    await waitFor('elder-net to run again', () => countLines(logs(sb, 'elder-net'), 'run') === 2);
  });
});
