import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isNetworkStack, mountsMentioning, Sandbox } from '../helpers.js';
import {
  containerPids, countLines, destroyHard, fullIds, isAlive, logs, markerFor, processesMentioning, psNames, psStatus,
  sleep, startRootlet, storeDirs, timed, waitFor,
} from '../lifecycle-helpers.js';

// The acceptance battery of issue "Container lifecycle", part 1: detached
// containers as a user drives them: run -d, ps, stop, kill, logs, rm,
// create/start/wait, restart, rename, and the resource limits this host
// must refuse. Restart policies and the namespace holder are in
// lifecycle-restart.test.ts; concurrency and kill -9 rounds in
// lifecycle-stress.test.ts.

/** A container whose shell exits 143 on SIGTERM (busybox sh as PID 1 would ignore it without a trap). */
const TRAP_TERM = 'trap "echo got-term; exit 143" TERM; echo started; while :; do sleep 0.1; done';

describe('detached containers: run -d, ps, stop, logs, rm', () => {
  const sb = new Sandbox('life');
  const marker = markerFor(sb, 'life');
  let sleeperId = '';

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb, [marker]));

  test('run -d prints the full id; ps shows it Up; the rootlet process is gone, the container is not', async () => {
    const r = timed(sb, ['run', '-d', '--name', 'sleeper', 'busybox', 'sh', '-c', `sleep 1000; : ${marker}`]);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    sleeperId = id;
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(r.stderr, '');
    assert.match(psStatus(sb, 'sleeper', false) ?? '', /^Up /);
    assert.ok(fullIds(sb).includes(id));
    // Short id prefix in ps, full with --no-trunc.
    assert.match(sb.ok(['ps']), new RegExp(`^${id.slice(0, 12)}\\s`, 'm'));
    const { pid, conmon } = containerPids(sb, id);
    assert.ok(pid && isAlive(pid), 'the container\'s main process runs after `run -d` returned');
    assert.ok(conmon && isAlive(conmon), 'its monitor runs after `run -d` returned');
    await sleep(500);
    assert.match(psStatus(sb, 'sleeper', false) ?? '', /^Up /);
  });

  test('stop -t 1 of busybox sleep (PID 1 ignores SIGTERM): SIGKILL after the timeout, Exited (137)', () => {
    const r = timed(sb, ['stop', '-t', '1', 'sleeper']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'sleeper');
    assert.ok(r.ms >= 900, `stop returned after ${r.ms} ms, before the 1 s timeout`);
    assert.ok(r.ms < 9000, `stop took ${r.ms} ms for a 1 s timeout (the default is 10 s)`);
    assert.match(psStatus(sb, 'sleeper') ?? '', /^Exited \(137\) /);
    assert.ok(!psNames(sb, false).includes('sleeper'), 'ps without -a no longer lists it');
    // Its processes are gone.
    assert.deepEqual(processesMentioning(marker), []);
    // Stopping a stopped container is not an error (Docker prints its name).
    assert.equal(sb.ok(['stop', 'sleeper']).trim(), 'sleeper');
  });

  test('stop of a container that traps SIGTERM: returns at once, Exited (143)', async () => {
    sb.ok(['run', '-d', '--name', 'trapper', 'busybox', 'sh', '-c', TRAP_TERM]);
    await waitFor('trapper to print "started"', () => logs(sb, 'trapper').includes('started'));
    const r = timed(sb, ['stop', 'trapper']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 9000, `stop took ${r.ms} ms though the container exits on SIGTERM (default timeout 10 s)`);
    assert.match(psStatus(sb, 'trapper') ?? '', /^Exited \(143\) /);
    assert.equal(logs(sb, 'trapper'), 'started\ngot-term\n');
  });

  test('--stop-signal: stop sends that signal instead of SIGTERM', async () => {
    sb.ok(['run', '-d', '--name', 'usr1stop', '--stop-signal', 'SIGUSR1', 'busybox', 'sh', '-c',
      'trap "echo got-term" TERM; trap "echo got-usr1; exit 42" USR1; echo started; while :; do sleep 0.1; done']);
    await waitFor('usr1stop to print "started"', () => logs(sb, 'usr1stop').includes('started'));
    const r = timed(sb, ['stop', '-t', '30', 'usr1stop']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 20_000, `stop took ${r.ms} ms: the stop signal was not the one the container traps`);
    assert.match(psStatus(sb, 'usr1stop') ?? '', /^Exited \(42\) /);
    assert.equal(logs(sb, 'usr1stop'), 'started\ngot-usr1\n');
    // The short form (without SIG) and numbers are accepted as Docker does.
    sb.ok(['run', '-d', '--name', 'usr2stop', '--stop-signal', 'USR2', 'busybox', 'sh', '-c',
      'trap "exit 12" USR2; echo started; while :; do sleep 0.1; done']);
    await waitFor('usr2stop to print "started"', () => logs(sb, 'usr2stop').includes('started'));
    sb.ok(['stop', '-t', '5', 'usr2stop']);
    assert.match(psStatus(sb, 'usr2stop') ?? '', /^Exited \(12\) /);
  });

  test('logs after the container exited: all, --tail, -t, --since', async () => {
    sb.ok(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c',
      'echo one; echo two; echo oops >&2; sleep 1.2; echo three; echo four']);
    await waitFor('talker to exit', () => /^Exited \(0\)/.test(psStatus(sb, 'talker') ?? ''), 15_000);
    const all = sb.run(['logs', 'talker']);
    assert.equal(all.code, 0);
    assert.equal(all.stdout, 'one\ntwo\nthree\nfour\n');
    assert.equal(all.stderr, 'oops\n', 'the container\'s stderr comes back on stderr');
    // --tail counts lines of both streams, the last ones.
    assert.equal(sb.ok(['logs', '--tail', '1', 'talker']), 'four\n');
    assert.equal(sb.ok(['logs', '--tail', '2', 'talker']), 'three\nfour\n');
    assert.equal(sb.ok(['logs', '--tail', '0', 'talker']), '');
    assert.equal(sb.ok(['logs', '--tail', 'all', 'talker']), all.stdout);
    assert.equal(sb.run(['logs', '--tail', 'x', 'talker']).code, 125);
    // -t: an RFC 3339 time with fractions of a second before each line, in order.
    const stamped = sb.ok(['logs', '-t', 'talker']).trim().split('\n');
    assert.equal(stamped.length, 4);
    const times = stamped.map((l) => {
      const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(?:Z|[+-]\d\d:\d\d)) (\w+)$/.exec(l);
      assert.ok(m, `not a timestamped line: ${l}`);
      return { ms: Date.parse(m[1]!), text: m[2]! };
    });
    assert.deepEqual(times.map((t) => t.text), ['one', 'two', 'three', 'four']);
    assert.ok(Math.abs(times[0]!.ms - Date.now()) < 120_000, 'timestamps are wall-clock times');
    assert.ok(times[2]!.ms - times[1]!.ms >= 1000, 'the pause shows between two and three');
    // --since: a time between "two" and "three" (RFC 3339 and Unix seconds), a duration, the future.
    const mid = (times[1]!.ms + times[2]!.ms) / 2;
    assert.equal(sb.ok(['logs', '--since', new Date(mid).toISOString(), 'talker']), 'three\nfour\n');
    assert.equal(sb.ok(['logs', '--since', (mid / 1000).toFixed(3), 'talker']), 'three\nfour\n');
    assert.equal(sb.ok(['logs', '--since', '1h', 'talker']), all.stdout);
    assert.equal(sb.ok(['logs', '--since', String(Math.ceil(Date.now() / 1000) + 60), 'talker']), '');
    assert.equal(sb.ok(['logs', '--until', new Date(mid).toISOString(), 'talker']), 'one\ntwo\n');
    assert.equal(sb.run(['logs', '--since', 'yesterday-ish', 'talker']).code, 125);
    // Of an unknown container: one line, 125 as Docker... or 1: an error either way.
    const none = sb.run(['logs', 'no-such-container']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /No such container: no-such-container/);
  });

  test('logs --since takes Go-style fractional durations (1.5s), as Docker does', () => {
    const r = sb.run(['logs', '--since', '1.5s', 'talker']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('logs -f follows a container as it prints, and returns when it exits', async () => {
    sb.ok(['run', '-d', '--name', 'counter', 'busybox', 'sh', '-c',
      'i=1; while [ $i -le 8 ]; do echo line$i; i=$((i+1)); sleep 0.3; done']);
    const f = startRootlet(sb, ['logs', '-f', 'counter'], { capture: true });
    // The first lines arrive while the container still runs.
    await waitFor('logs -f to print line2', () => f.out().includes('line2\n'), 30_000, 50);
    assert.match(psStatus(sb, 'counter', false) ?? '', /^Up /, 'the container still runs while logs -f prints');
    const r = await Promise.race([f.done, sleep(20_000).then(() => undefined)]);
    if (!r) {
      f.child.kill('SIGKILL');
      assert.fail('logs -f did not return within 20 s of starting although the container exits after ~2.4 s');
    }
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, Array.from({ length: 8 }, (_, i) => `line${i + 1}\n`).join(''));
    assert.match(psStatus(sb, 'counter') ?? '', /^Exited \(0\)/);
    // On an exited container, -f prints everything and returns at once.
    const again = timed(sb, ['logs', '-f', 'counter']);
    assert.equal(again.stdout, r.stdout);
    assert.ok(again.ms < 20_000);
    // --tail with -f: the last line, then nothing more.
    assert.equal(sb.ok(['logs', '-f', '--tail', '1', 'counter']), 'line8\n');
  });

  test('rm removes the container, its directory, its exit file and the runtime\'s state', () => {
    const id = sleeperId;
    assert.ok(id && fullIds(sb).includes(id), 'sleeper is listed');
    const d = storeDirs(sb);
    assert.ok(existsSync(join(d.containers, id)), 'the container has a directory before rm');
    assert.ok(existsSync(join(d.exits, id)), 'conmon wrote an exit file for the exited container');
    assert.equal(sb.ok(['rm', 'sleeper']).trim(), 'sleeper');
    assert.ok(!psNames(sb).includes('sleeper'));
    assert.equal(existsSync(join(d.containers, id)), false, 'its directory is gone');
    assert.equal(existsSync(join(d.exits, id)), false, 'its exit file is gone');
    assert.equal(existsSync(join(d.runc, id)), false, 'the runtime\'s state is gone');
    assert.deepEqual(mountsMentioning(join(d.containers, id)), []);
    const again = sb.run(['rm', 'sleeper']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /No such container: sleeper/);
    // The name is free again.
    sb.ok(['create', '--name', 'sleeper', 'busybox', 'true']);
    sb.ok(['rm', 'sleeper']);
  });

  test('rm refuses a running detached container; rm -f kills and removes it', async () => {
    const id = sb.ok(['run', '-d', '--name', 'busy', 'busybox', 'sh', '-c', `sleep 1000; : ${marker}`]).trim();
    const refused = sb.run(['rm', 'busy']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /running/);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assert.match(psStatus(sb, 'busy', false) ?? '', /^Up /);
    assert.equal(sb.ok(['rm', '-f', 'busy']).trim(), 'busy');
    assert.ok(!psNames(sb).includes('busy'));
    const d = storeDirs(sb);
    assert.equal(existsSync(join(d.containers, id)), false);
    await waitFor('the container\'s processes to end', () => processesMentioning(marker).length === 0 && processesMentioning(id).length === 0, 10_000);
    await waitFor('no exit file for the removed container', () => !existsSync(join(d.exits, id)), 5_000);
    assert.equal(existsSync(join(d.runc, id)), false);
  });
});

describe('create, start, wait, restart, kill, rename', () => {
  const sb = new Sandbox('life-cmds');

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb));

  test('create makes a Created container; start runs it; wait prints its exit code; logs has its output', () => {
    const id = sb.ok(['create', '--name', 'job', 'busybox', 'sh', '-c', 'echo working; exit 5']).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(psStatus(sb, 'job'), 'Created');
    assert.ok(!psNames(sb, false).includes('job'));
    assert.equal(sb.ok(['start', 'job']).trim(), 'job');
    const w = sb.run(['wait', 'job']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.stdout.trim(), '5');
    assert.match(psStatus(sb, 'job') ?? '', /^Exited \(5\) /);
    assert.equal(logs(sb, 'job'), 'working\n');
    // By id prefix too; wait on an exited container returns at once.
    assert.equal(sb.ok(['wait', id.slice(0, 12)]).trim(), '5');
    // Started again, the log grows.
    sb.ok(['start', 'job']);
    assert.equal(sb.ok(['wait', 'job']).trim(), '5');
    assert.equal(logs(sb, 'job'), 'working\nworking\n');
  });

  test('wait on several containers prints each exit code in order; an unknown one fails', () => {
    sb.ok(['create', '--name', 'w1', 'busybox', 'sh', '-c', 'sleep 0.5; exit 1']);
    sb.ok(['create', '--name', 'w2', 'busybox', 'sh', '-c', 'exit 2']);
    sb.ok(['start', 'w1', 'w2']);
    assert.equal(sb.ok(['wait', 'w1', 'w2']), '1\n2\n');
    const r = sb.run(['wait', 'nope']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No such container: nope/);
  });

  test('start -a prints the output and exits with the container\'s code', () => {
    sb.ok(['create', '--name', 'attached', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 6']);
    const r = sb.run(['start', '-a', 'attached']);
    assert.equal(r.code, 6);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  test('restart stops and starts again: a second run in the log, Up again', async () => {
    sb.ok(['run', '-d', '--name', 'again', 'busybox', 'sh', '-c', TRAP_TERM]);
    await waitFor('first start', () => logs(sb, 'again').includes('started'));
    const r = timed(sb, ['restart', '-t', '30', 'again']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'again');
    assert.ok(r.ms < 20_000, `restart took ${r.ms} ms: SIGTERM did not end the first run`);
    await waitFor('second start', () => countLines(logs(sb, 'again'), 'started') === 2);
    assert.equal(countLines(logs(sb, 'again'), 'got-term'), 1);
    assert.match(psStatus(sb, 'again', false) ?? '', /^Up /);
    // Restart of an exited container just starts it.
    sb.ok(['stop', 'again']);
    assert.match(psStatus(sb, 'again') ?? '', /^Exited \(143\)/);
    sb.ok(['restart', 'again']);
    await waitFor('third start', () => countLines(logs(sb, 'again'), 'started') === 3);
    assert.match(psStatus(sb, 'again', false) ?? '', /^Up /);
    // Still running a second later: nothing left of the earlier runs stops it.
    await sleep(1000);
    assert.match(psStatus(sb, 'again', false) ?? '', /^Up /);
  });

  test('kill -s USR1 is delivered (the trap writes to the log) and the container keeps running; kill defaults to SIGKILL', async () => {
    sb.ok(['run', '-d', '--name', 'signals', 'busybox', 'sh', '-c',
      'trap "echo got-usr1" USR1; trap "echo got-hup" HUP; echo started; while :; do sleep 0.1; done']);
    await waitFor('start', () => logs(sb, 'signals').includes('started'));
    assert.equal(sb.ok(['kill', '-s', 'USR1', 'signals']).trim(), 'signals');
    await waitFor('the USR1 trap to run', () => logs(sb, 'signals').includes('got-usr1'), 5000);
    sb.ok(['kill', '--signal', 'SIGHUP', 'signals']);
    sb.ok(['kill', '-s', '10', 'signals']);
    await waitFor('HUP and a second USR1', () => {
      const l = logs(sb, 'signals');
      return l.includes('got-hup') && countLines(l, 'got-usr1') === 2;
    }, 5000);
    assert.match(psStatus(sb, 'signals', false) ?? '', /^Up /);
    assert.equal(sb.run(['kill', '-s', 'NOTASIGNAL', 'signals']).code !== 0, true);
    assert.equal(sb.ok(['kill', 'signals']).trim(), 'signals');
    await waitFor('SIGKILL to end it', () => /^Exited \(137\)/.test(psStatus(sb, 'signals') ?? ''), 5000);
    // kill of a container that is not running is an error.
    const r = sb.run(['kill', 'signals']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not running/);
  });

  test('rename: the new name finds it, the old one is free; a taken name is refused', () => {
    sb.ok(['create', '--name', 'before', 'busybox', 'true']);
    sb.ok(['create', '--name', 'taken', 'busybox', 'true']);
    const r = sb.run(['rename', 'before', 'after']);
    assert.equal(r.code, 0, r.stderr);
    const names = psNames(sb);
    assert.ok(names.includes('after'));
    assert.ok(!names.includes('before'));
    assert.equal(sb.ok(['start', 'after']).trim(), 'after');
    assert.equal(sb.ok(['wait', 'after']).trim(), '0');
    sb.ok(['create', '--name', 'before', 'busybox', 'true']);
    const dup = sb.run(['rename', 'after', 'taken']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already in use/);
    assert.equal(dup.stderr.trim().split('\n').length, 1);
    assert.notEqual(sb.run(['rename', 'after', 'bad name!']).code, 0);
    assert.notEqual(sb.run(['rename', 'nope', 'x']).code, 0);
    // A running container can be renamed and is still stopped by its new name.
    sb.ok(['run', '-d', '--name', 'runner', 'busybox', 'sh', '-c', TRAP_TERM]);
    sb.ok(['rename', 'runner', 'runner2']);
    assert.match(psStatus(sb, 'runner2', false) ?? '', /^Up /);
    sb.ok(['stop', 'runner2']);
    assert.match(psStatus(sb, 'runner2') ?? '', /^Exited \(143\)/);
  });

  test('start right after wait, again and again: each run reports its own exit code', () => {
    sb.ok(['create', '--name', 'quick', 'busybox', 'sh', '-c', 'echo begin; sleep 0.2; echo end; exit 3']);
    const codes: string[] = [];
    for (let i = 0; i < 15; i++) {
      sb.ok(['start', 'quick']);
      codes.push(sb.ok(['wait', 'quick']).trim());
    }
    const log = logs(sb, 'quick');
    assert.deepEqual(codes, Array(15).fill('3'), `exit codes ${codes.join(' ')}; runs that began: ${countLines(log, 'begin')}, ended: ${countLines(log, 'end')}`);
  });

  test('an exit hook that runs late (paused here with SIGSTOP) leaves the next run alone', async () => {
    const dir = sb.path('late-switch');
    mkdirSync(dir);
    sb.ok(['create', '--name', 'late', '-v', `${dir}:/switch`, 'busybox', 'sh', '-c',
      'if [ -e /switch/long ]; then echo long-begin; sleep 2; echo long-end; exit 4; fi; echo short; sleep 0.5; exit 3']);
    const id = fullIds(sb).find((i) => sb.ok(['ps', '-a', '--no-trunc']).split('\n').some((l) => l.startsWith(i) && l.trim().endsWith(' late')))!;
    let hook = 0;
    for (let attempt = 0; attempt < 3 && !hook; attempt++) {
      sb.ok(['start', 'late']);
      // Catch conmon's exit hook for this run as it starts, and pause it.
      const deadline = Date.now() + 5000;
      while (!hook && Date.now() < deadline) {
        const found = processesMentioning(`__container-exited ${id}`).map((l) => Number(l.split(' ')[0])).find((p) => p !== process.pid);
        if (found) {
          try { process.kill(found, 'SIGSTOP'); hook = found; } catch { /* gone already */ }
        }
      }
      sb.ok(['wait', 'late']);
    }
    assert.ok(hook, 'caught the exit hook of a run');
    try {
      assert.equal(sb.ok(['wait', 'late']).trim(), '3');
      writeFileSync(join(dir, 'long'), '');
      sb.ok(['start', 'late']);
      await waitFor('the long run to begin', () => logs(sb, 'late').includes('long-begin'), 10_000);
    } finally {
      process.kill(hook, 'SIGCONT');
    }
    await waitFor('the late hook to finish', () => !isAlive(hook), 30_000, 50);
    const code = sb.ok(['wait', 'late']).trim();
    assert.ok(logs(sb, 'late').includes('long-end'), `the long run was cut short (wait printed ${code})`);
    assert.equal(code, '4');
  });
});

describe('a foreground run whose rootlet was killed', () => {
  const sb = new Sandbox('life-fg');
  const marker = markerFor(sb, 'fg');

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb, [marker]));

  /** Starts a foreground run, waits until ps shows it Up, and kills rootlet with SIGKILL. */
  async function runAndKill(args: string[], name: string): Promise<void> {
    const p = startRootlet(sb, ['run', '--name', name, ...args]);
    await waitFor(`${name} to be Up`, () => /^Up /.test(psStatus(sb, name, false) ?? ''), 15_000, 50);
    p.child.kill('SIGKILL');
    const r = await p.done;
    assert.equal(r.signal, 'SIGKILL');
  }

  test('run --rm killed: the container runs on, ps shows it, stop stops it, rm removes everything', async () => {
    await runAndKill(['--rm', 'busybox', 'sh', '-c', `trap "exit 143" TERM; while :; do sleep 0.1; done; : ${marker}`], 'fg-stop');
    await sleep(300);
    assert.match(psStatus(sb, 'fg-stop', false) ?? '', /^Up /, 'still running, and listed');
    assert.ok(processesMentioning(marker).length > 0);
    const t0 = Date.now();
    assert.equal(sb.ok(['stop', 'fg-stop']).trim(), 'fg-stop');
    assert.ok(Date.now() - t0 < 9000, 'stop returned before the 10 s timeout: SIGTERM reached the container');
    // --rm: the first look after it ended removes it.
    assert.equal(psStatus(sb, 'fg-stop'), undefined);
    assert.deepEqual(fullIds(sb), []);
    await waitFor('its processes to end', () => processesMentioning(marker).length === 0 && processesMentioning(sb.root).filter((l) => !isNetworkStack(l)).length === 0, 10_000);
    assert.deepEqual(readdirSync(storeDirs(sb).containers), []);
    assert.deepEqual(mountsMentioning(storeDirs(sb).containers), []);
  });

  test('run --rm killed: rm -f removes the running container and its processes', async () => {
    await runAndKill(['--rm', 'busybox', 'sh', '-c', `sleep 1000; : ${marker}`], 'fg-rmf');
    assert.equal(sb.ok(['rm', '-f', 'fg-rmf']).trim(), 'fg-rmf');
    assert.deepEqual(fullIds(sb), []);
    await waitFor('its processes to end', () => processesMentioning(marker).length === 0 && processesMentioning(sb.root).filter((l) => !isNetworkStack(l)).length === 0, 10_000);
    assert.deepEqual(readdirSync(storeDirs(sb).containers), []);
    assert.deepEqual(readdirSync(storeDirs(sb).runc), []);
    assert.deepEqual(mountsMentioning(storeDirs(sb).containers), []);
  });

  test('run killed: wait still returns when the container ends, with its own exit code', async () => {
    await runAndKill(['busybox', 'sh', '-c', `sleep 1.5; exit 7; : ${marker}`], 'fg-code');
    const w = sb.run(['wait', 'fg-code']);
    assert.equal(w.code, 0, w.stderr);
    assert.match(psStatus(sb, 'fg-code') ?? '', /^Exited /);
    assert.equal(w.stdout.trim(), '7');
  });
});

describe('resource limits on a host without cgroup v2 delegation', () => {
  const sb = new Sandbox('life-limits');

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb));

  const cases: Array<{ flags: string[]; name: RegExp }> = [
    { flags: ['--memory', '64m'], name: /--memory/ },
    { flags: ['-m', '64m'], name: /--memory/ },
    { flags: ['--cpus', '1'], name: /--cpus/ },
    { flags: ['--pids-limit', '10'], name: /--pids-limit/ },
  ];
  for (const c of cases) {
    test(`${c.flags.join(' ')} fails with 125 and one line naming cgroup v2 delegation; nothing is left`, () => {
      const before = sb.ok(['ps', '-a', '--no-trunc']);
      for (const cmd of [['run', '-d'], ['run', '--rm'], ['run'], ['create']]) {
        const r = sb.run([...cmd, ...c.flags, '--name', 'limited', 'busybox', 'true']);
        assert.equal(r.code, 125, `${cmd.join(' ')} ${c.flags.join(' ')}: exit ${r.code}`);
        assert.equal(r.stdout, '', 'no id printed');
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
        assert.match(lines[0]!, c.name);
        assert.match(lines[0]!, /cgroup v2/);
        assert.match(lines[0]!, /delegat/);
        assert.equal(sb.ok(['ps', '-a', '--no-trunc']), before, 'ps -a unchanged');
      }
      assert.deepEqual(fullIds(sb), []);
      assert.deepEqual(readdirSync(storeDirs(sb).containers), []);
      // The name was never taken.
      sb.ok(['create', '--name', 'limited', 'busybox', 'true']);
      sb.ok(['rm', 'limited']);
    });
  }

  test('all three at once: one line naming each flag', () => {
    const r = sb.run(['run', '-d', '--memory', '64m', '--cpus', '1', '--pids-limit', '10', 'busybox', 'true']);
    assert.equal(r.code, 125);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /--memory.*--cpus.*--pids-limit/);
    assert.deepEqual(fullIds(sb), []);
  });
});
