import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { waitFor } from '../lifecycle-helpers.js';

// rootlet-console --set-size PID ROWS COLUMNS -- COMMAND (src/runtime/console.c):
// sets the size of the terminal whose master PID holds (a sandboxed
// container's conmon) before COMMAND (runsc start) runs. Here script(1)
// holds the master, as conmon would.

const here = dirname(fileURLToPath(import.meta.url));
const PROGRAM = resolve(here, '../../../dist/rootlet-console');
const dir = mkdtempSync(join(tmpdir(), 'console-set-size-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('rootlet-console --set-size', () => {
  test('the terminal another process holds has the size before the command runs, which then runs with its own exit code', async () => {
    const ttyFile = join(dir, 'tty');
    const holder = spawn('script', ['-qfec', `tty > ${ttyFile}; exec sleep 60`, '/dev/null'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      await waitFor('the terminal', () => existsSync(ttyFile) && readFileSync(ttyFile, 'utf8').includes('\n'));
      const tty = readFileSync(ttyFile, 'utf8').trim();
      const r = spawnSync(PROGRAM, ['--set-size', String(holder.pid), '23', '71', '--', 'sh', '-c', `stty -F ${tty} size; exit 3`], { encoding: 'utf8' });
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, '23 71\n');
      assert.equal(r.status, 3);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('with no terminal to set, one line says the size is left to conmon and the command runs all the same', () => {
    const r = spawnSync(PROGRAM, ['--set-size', String(process.pid), '23', '71', '--', 'echo', 'started'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'started\n');
    assert.match(r.stderr, /^rootlet-console: the terminal's first size is left to conmon: No such file or directory\n$/);
  });

  test('a command that is not there exits 127 with its name', () => {
    const r = spawnSync(PROGRAM, ['--set-size', String(process.pid), '23', '71', '--', '/nonexistent/runsc', 'start'], { encoding: 'utf8' });
    assert.equal(r.status, 127);
    assert.match(r.stderr, /cannot run \/nonexistent\/runsc: No such file or directory/);
  });
});
