import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ContainerStore, type ContainerRecord } from '../../src/engine/containers/store.js';
import type { ContainerSpec } from '../../src/engine/containers/spec.js';
import { MOVES, PHASES, STOP_MOVES, canMove, moveTarget, visibleState, type ContainerPhase, type MoveName } from '../../src/engine/containers/transitions.js';
import { openDb } from '../../src/state/db.js';

describe('container state transitions: the table', () => {
  test('a stop applies to every state but removing, and to each through exactly one move', () => {
    for (const phase of PHASES) {
      const moves = STOP_MOVES.filter((m) => canMove(m, phase));
      assert.equal(moves.length, phase === 'removing' ? 0 : 1, `${phase}: ${moves.join(', ')}`);
    }
    assert.equal(moveTarget('stop', 'running'), 'stopping');
    assert.equal(moveTarget('stop', 'stopping'), 'stopping');
    assert.equal(moveTarget('cancelRestart', 'restarting'), 'exited');
    assert.equal(moveTarget('stopIdle', 'exited'), 'exited');
    assert.equal(moveTarget('stopIdle', 'created'), 'created');
    for (const m of STOP_MOVES) assert.equal(MOVES[m].stoppedByUser, 'set', m);
  });

  test('only a scheduled restart becomes the next run, and only the exit of a stopped-or-running run is recorded', () => {
    const from = (m: MoveName) => PHASES.filter((p) => canMove(m, p));
    assert.deepEqual(from('restart'), ['restarting']);
    assert.deepEqual(from('scheduleRestart'), ['exited']);
    assert.deepEqual(from('exit'), ['running', 'stopping']);
    assert.equal(MOVES.scheduleRestart.unlessStopped, true);
    assert.equal(MOVES.scheduleRestart.sameRun, true);
    assert.equal(MOVES.restart.sameRun, true);
    // A user's start clears a stop's mark; the policy's restart never needs to (it cannot begin after a stop).
    assert.equal(MOVES.start.stoppedByUser, 'clear');
    assert.equal(MOVES.restart.stoppedByUser, undefined);
    assert.equal(canMove('start', 'stopping'), false);
    assert.equal(canMove('start', 'running'), false);
    assert.equal(canMove('start', 'removing'), false);
  });

  test('every move may be made from removing only by remove, and remove from anything', () => {
    for (const m of Object.keys(MOVES) as MoveName[]) assert.equal(canMove(m, 'removing'), m === 'remove', m);
    assert.deepEqual(PHASES.filter((p) => canMove('remove', p)), PHASES);
  });

  test('ps, inspect and wait see Docker\'s states: stopping still runs, restarting has exited', () => {
    const seen: Record<ContainerPhase, string> = {
      created: 'created', running: 'running', stopping: 'running', restarting: 'exited', exited: 'exited', removing: 'removing',
    };
    for (const p of PHASES) assert.equal(visibleState(p), seen[p]);
  });
});

describe('container state transitions: the store (two connections, as the CLI and the exit hook)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rootlet-transitions-'));
  const file = join(dir, 'state.db');
  const cliDb = openDb(file);
  const hookDb = openDb(file);
  const cli = new ContainerStore(cliDb);
  const hook = new ContainerStore(hookDb);
  after(() => {
    cliDb.close();
    hookDb.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let n = 0;
  const fresh = (): string => {
    const id = (++n).toString(16).padStart(64, '0');
    const rec: ContainerRecord = {
      id, name: `t${n}`, imageId: 'sha256:00', imageName: 'busybox', created: Date.now(), state: 'created',
      restartCount: 0, stoppedByUser: false, spec: {} as ContainerSpec,
    };
    cli.insert(rec);
    return id;
  };
  const phase = (id: string) => cli.get(id)?.phase;

  test('a stop after the run ended, before the hook decides: the hook cannot schedule the restart', () => {
    const id = fresh();
    assert.equal(cli.markStarting(id, 'r1', process.pid, undefined), true);
    assert.equal(hook.markExited(id, 0, Date.now(), 'r1'), true);
    assert.equal(cli.requestStop(id), 'exited');
    assert.equal(hook.scheduleRestart(id, 'r1'), false);
    assert.equal(hook.markStarting(id, 'r2', process.pid, undefined, 'r1'), false);
    assert.equal(phase(id), 'exited');
    assert.equal(cli.get(id)?.stoppedByUser, true);
  });

  test('a stop during the back-off cancels the restart; the hook\'s next run does not begin', () => {
    const id = fresh();
    cli.markStarting(id, 'r1', process.pid, undefined);
    hook.markExited(id, 0, Date.now(), 'r1');
    assert.equal(hook.scheduleRestart(id, 'r1'), true);
    assert.equal(phase(id), 'restarting');
    assert.equal(cli.get(id)?.state, 'exited', 'ps shows a container between two runs as exited');
    assert.equal(cli.requestStop(id), 'exited');
    assert.equal(hook.markStarting(id, 'r2', process.pid, undefined, 'r1'), false);
    assert.equal(cli.get(id)?.runToken, 'r1');
    assert.equal(cli.get(id)?.restartCount, 0);
  });

  test('a stop of the run the hook is starting: the run is marked stopping, and its end is not restarted', () => {
    const id = fresh();
    cli.markStarting(id, 'r1', process.pid, undefined);
    hook.markExited(id, 0, Date.now(), 'r1');
    hook.scheduleRestart(id, 'r1');
    assert.equal(hook.markStarting(id, 'r2', process.pid, undefined, 'r1'), true);
    assert.equal(cli.get(id)?.restartCount, 1);
    assert.equal(cli.requestStop(id), 'stopping');
    assert.equal(cli.get(id)?.state, 'running', 'a container being stopped still shows as running');
    // The starter records its monitor without undoing the stop, and sees it.
    assert.equal(hook.markDetached(id, 1, undefined, 2, 'r2'), true);
    assert.equal(phase(id), 'stopping');
    assert.equal(hook.markExited(id, 143, Date.now(), 'r2'), true);
    assert.equal(hook.scheduleRestart(id, 'r2'), false);
    assert.equal(phase(id), 'exited');
  });

  test('a user\'s start during the back-off wins over the hook\'s; a start clears the stop\'s mark', () => {
    const id = fresh();
    cli.markStarting(id, 'r1', process.pid, undefined);
    hook.markExited(id, 0, Date.now(), 'r1');
    cli.requestStop(id);
    assert.equal(cli.markStarting(id, 'r2', process.pid, undefined), true);
    assert.equal(cli.get(id)?.stoppedByUser, false);
    hook.markExited(id, 0, Date.now(), 'r2');
    assert.equal(hook.scheduleRestart(id, 'r2'), true);
    assert.equal(cli.markStarting(id, 'r3', process.pid, undefined), true);
    assert.equal(hook.markStarting(id, 'r4', process.pid, undefined, 'r2'), false);
    assert.equal(cli.get(id)?.runToken, 'r3');
  });

  test('a start of a running or stopping container is refused; a late look cannot end the next run', () => {
    const id = fresh();
    cli.markStarting(id, 'r1', process.pid, undefined);
    assert.equal(cli.markStarting(id, 'r2', process.pid, undefined), false);
    cli.requestStop(id);
    assert.equal(cli.markStarting(id, 'r2', process.pid, undefined), false);
    assert.equal(hook.markExited(id, 0, Date.now(), 'r0'), false);
    assert.equal(phase(id), 'stopping');
  });

  test('a container being removed is moved by nothing but its removal', () => {
    const id = fresh();
    cli.markStarting(id, 'r1', process.pid, undefined);
    assert.equal(cli.claimForRemoval(id, { pid: process.pid, start: undefined }, () => true), true);
    assert.equal(cli.requestStop(id), 'removing');
    assert.equal(hook.markExited(id, 0, Date.now(), 'r1'), false);
    assert.equal(hook.markDetached(id, 1, undefined, 2, 'r1'), false);
    assert.equal(cli.markStarting(id, 'r2', process.pid, undefined), false);
    assert.equal(phase(id), 'removing');
  });

  test('the migration reads a running row that a stop had marked as stopping', () => {
    const other = join(dir, 'old.db');
    const db = openDb(other);
    const store = new ContainerStore(db);
    const id = 'f'.repeat(64);
    store.insert({ id, name: 'old', imageId: 'sha256:00', imageName: 'busybox', created: 0, state: 'created', restartCount: 0, stoppedByUser: false, spec: {} as ContainerSpec });
    const version = db.pragma('user_version', { simple: true }) as number;
    // As the previous version left it: running, marked by a stop that had not finished.
    db.prepare("UPDATE containers SET state = 'running', stopped_by_user = 1 WHERE id = ?").run(id);
    // Migration 8 (index 8) marks them; the later ones (IF NOT EXISTS) run again harmlessly.
    db.pragma('user_version = 8');
    db.close();
    const again = openDb(other);
    try {
      assert.equal(new ContainerStore(again).get(id)?.phase, 'stopping');
      assert.equal(again.pragma('user_version', { simple: true }), version);
    } finally {
      again.close();
    }
  });
});
