import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ContainerStore, type ContainerRecord } from '../../src/engine/containers/store.js';
import type { ContainerSpec } from '../../src/engine/containers/spec.js';
import { openDb } from '../../src/state/db.js';

describe('ContainerStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rootlet-store-'));
  const db = openDb(join(dir, 'state.db'));
  const store = new ContainerStore(db);
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const record = (id: string): ContainerRecord => ({
    id, name: `c-${id.slice(0, 6)}`, imageId: 'sha256:00', imageName: 'busybox', created: Date.now(), state: 'created',
    restartCount: 0, stoppedByUser: false, spec: {} as ContainerSpec,
  });

  test('a removed container\'s exit code stays readable for wait; one removed before it ended has none', () => {
    const ended = 'a'.repeat(64);
    const never = 'b'.repeat(64);
    store.insert(record(ended));
    store.insert(record(never));
    store.markStarting(ended, 'run1', process.pid, undefined);
    assert.equal(store.markExited(ended, 4, Date.now(), 'run1'), true);
    store.delete(ended);
    store.delete(never);
    assert.equal(store.get(ended), undefined);
    assert.equal(store.removedExitCode(ended), 4);
    assert.equal(store.removedExitCode(never), undefined);
  });

  test('markExited with a run token settles only that run', () => {
    const id = 'c'.repeat(64);
    store.insert(record(id));
    store.markStarting(id, 'second', process.pid, undefined);
    assert.equal(store.markExited(id, 3, Date.now(), 'first'), false, 'a look that read the first run must not end the second');
    assert.equal(store.get(id)?.state, 'running');
    assert.equal(store.markExited(id, 3, Date.now(), 'second'), true);
    assert.equal(store.get(id)?.state, 'exited');
  });
});
