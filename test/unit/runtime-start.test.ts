import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createWithConmon } from '../../src/runtime/conmon.js';
import { startCreatedFast } from '../../src/runtime/runtime.js';

// crun's `start` protocol, done without crun: the created container's init
// holds exec.fifo open for reading and waits for one byte.
describe('startCreatedFast', () => {
  const root = mkdtempSync(join(tmpdir(), 'rootlet-fifo-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const crun = { name: 'crun', kind: 'crun' as const, path: '/usr/bin/crun' };
  const fifoFor = (id: string) => {
    mkdirSync(join(root, id));
    const fifo = join(root, id, 'exec.fifo');
    assert.equal(spawnSync('mkfifo', ['-m', '0600', fifo]).status, 0);
    return fifo;
  };

  test('writes one byte to a waiting reader and unlinks the fifo, as `crun start` does', () => {
    const fifo = fifoFor('waiting');
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      assert.equal(startCreatedFast(crun, root, 'waiting'), true);
      assert.equal(existsSync(fifo), false);
      const buf = Buffer.alloc(4);
      assert.equal(readSync(reader, buf, 0, 4, null), 1);
    } finally {
      closeSync(reader);
    }
  });

  test('does not apply (the runtime\'s own start runs) without a reader, without a fifo, or for runc', () => {
    const fifo = fifoFor('orphan');
    assert.equal(startCreatedFast(crun, root, 'orphan'), false, 'no reader: the init died');
    assert.equal(existsSync(fifo), true, 'left for the runtime to report on');
    assert.equal(startCreatedFast(crun, root, 'missing'), false);
    fifoFor('on-runc');
    assert.equal(startCreatedFast({ name: 'runc', kind: 'runc', path: '/usr/sbin/runc' }, root, 'on-runc'), false);
  });
});

// What an exit hook met when the namespace holder was killed as it entered it: nsenter fails and ends
// before conmon could read its start pipe. The failure must come back as the rejection, with nsenter's
// own line; the start pipe's EPIPE must not escape (it silently ended the hook that restarts a container).
describe('createWithConmon when the launch ends at once', () => {
  const bundle = mkdtempSync(join(tmpdir(), 'rootlet-conmon-'));
  after(() => rmSync(bundle, { recursive: true, force: true }));
  test('rejects with the launcher\'s message, every time', async () => {
    for (let i = 0; i < 30; i++) {
      await assert.rejects(createWithConmon({
        launch: () => ['-m', '-t', '999999999', '--', 'true'],
        runtime: { name: 'crun', kind: 'crun', path: '/usr/bin/crun' },
        runtimeGlobalArgs: [], id: 'c', name: 'c', bundle, logPath: join(bundle, 'ctr.log'),
        exitDir: bundle, socketDir: bundle, tty: false, stdin: false, keyring: false, env: { PATH: process.env.PATH },
      }), /^EngineError: conmon ended before creating the container: nsenter: cannot open \/proc\/999999999\/ns\/mnt/);
    }
  });
});
