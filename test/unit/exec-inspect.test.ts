import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { binarySize, decimalSize } from '../../src/cli/stats.js';
import { cpuTimeColumn, startColumn } from '../../src/engine/containers/top.js';
import { buildExecProcess } from '../../src/runtime/exec-process.js';
import { DEFAULT_CAPS } from '../../src/runtime/spec.js';
import { statInRoot } from '../../src/runtime/stat-in-root.js';
import { ttyName, uidInside } from '../../src/util/procfs.js';

describe('statInRoot', () => {
  const base = mkdtempSync(join(tmpdir(), 'rootlet-statroot-'));
  after(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'real/dir'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root');
  symlinkSync('/', join(root, 'up'));
  symlinkSync('../../../../../..', join(root, 'dotdot'));
  symlinkSync(base, join(root, 'host'));
  symlinkSync('/real/dir', join(root, 'dirlink'));
  /** What cp looks at; the stat fields the API reports are checked on their own. */
  const core = (e: ReturnType<typeof statInRoot>) => ({ path: e.path, ...(e.type ? { type: e.type } : {}), parentExists: e.parentExists });

  test('symlinks in the parents resolve inside the root', () => {
    assert.deepEqual(core(statInRoot(root, '/up/etc/passwd', false)), { path: '/etc/passwd', type: 'file', parentExists: true });
    assert.deepEqual(core(statInRoot(root, '/dotdot/etc/passwd', false)), { path: '/etc/passwd', type: 'file', parentExists: true });
    // The host directory the link names does not exist inside the root.
    assert.equal(statInRoot(root, '/host/root/etc/passwd', false).parentExists, false);
  });

  test('the last component is followed only when asked', () => {
    assert.deepEqual(core(statInRoot(root, '/dirlink', false)), { path: '/dirlink', type: 'symlink', parentExists: true });
    assert.deepEqual(core(statInRoot(root, '/dirlink', true)), { path: '/real/dir', type: 'dir', parentExists: true });
    assert.deepEqual(core(statInRoot(root, '/dirlink/new', true)), { path: '/real/dir/new', parentExists: true });
    assert.deepEqual(core(statInRoot(root, '/', false)), { path: '/', type: 'dir', parentExists: true });
  });

  test('an entry that exists carries its mode, size, mtime and a link\'s target (the API\'s archive stat)', () => {
    const passwd = statInRoot(root, '/etc/passwd', false);
    assert.equal(passwd.size, 4);
    assert.equal(passwd.mode! & 0o170000, 0o100000);
    assert.ok(passwd.mtimeMs! > 0);
    assert.equal(passwd.linkTarget, undefined);
    assert.equal(statInRoot(root, '/dirlink', false).linkTarget, '/real/dir');
    assert.equal(statInRoot(root, '/', false).mode! & 0o170000, 0o040000);
    assert.equal(statInRoot(root, '/nothing', false).mode, undefined);
  });
});

describe('exec process', () => {
  test('root gets Docker\'s capabilities, another user none effective', () => {
    const root = buildExecProcess({ args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [], home: '/root' }, terminal: true }) as {
      terminal: boolean; capabilities: { effective: string[]; bounding: string[] };
    };
    assert.equal(root.terminal, true);
    assert.deepEqual(root.capabilities.effective, DEFAULT_CAPS);
    const app = buildExecProcess({ args: ['sh'], env: [], cwd: '/', user: { uid: 1000, gid: 1000, additionalGids: [100], home: '/home/app' }, terminal: false }) as {
      user: { additionalGids: number[] }; capabilities: { effective: string[]; bounding: string[] };
    };
    assert.deepEqual(app.capabilities.effective, []);
    assert.deepEqual(app.capabilities.bounding, DEFAULT_CAPS);
    assert.deepEqual(app.user.additionalGids, [100]);
  });

  test('exec -t: the terminal\'s size is in the process, for the runtime to set before the command runs', () => {
    const sized = buildExecProcess({ args: ['stty', 'size'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [], home: '/root' }, terminal: true, consoleSize: { rows: 23, columns: 71 } }) as { consoleSize?: unknown };
    assert.deepEqual(sized.consoleSize, { height: 23, width: 71 });
    const none = buildExecProcess({ args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [], home: '/root' }, terminal: true }) as { consoleSize?: unknown };
    assert.equal(none.consoleSize, undefined);
  });
});

describe('top and stats columns', () => {
  test('ps\'s STIME and TIME', () => {
    const now = new Date(2025, 5, 15, 12, 0);
    assert.equal(startColumn(new Date(2025, 5, 15, 9, 5), now), '09:05');
    assert.equal(startColumn(new Date(2025, 0, 3, 9, 5), now), 'Jan03');
    assert.equal(startColumn(new Date(2023, 0, 3), now), '2023');
    assert.equal(cpuTimeColumn(0), '00:00:00');
    assert.equal(cpuTimeColumn(100 * 3725), '01:02:05');
    assert.equal(cpuTimeColumn(100 * (86400 * 2 + 1)), '2-00:00:01');
  });

  test('terminal names and uids inside a namespace', () => {
    assert.equal(ttyName(0), '?');
    assert.equal(ttyName((136 << 8) | 3), 'pts/3');
    assert.equal(ttyName((4 << 8) | 1), 'tty1');
    const map = '         0       1001          1\n         1     100000      65536\n';
    assert.equal(uidInside(1001, map), 0);
    assert.equal(uidInside(100999, map), 1000);
    assert.equal(uidInside(5, map), undefined);
  });

  test('Docker\'s units', () => {
    assert.equal(binarySize(0), '0B');
    assert.equal(binarySize(1474560), '1.406MiB');
    assert.equal(binarySize(25_275_000_000), '23.54GiB');
    assert.equal(decimalSize(4096), '4.1kB');
    assert.equal(decimalSize(999), '999B');
  });
});
