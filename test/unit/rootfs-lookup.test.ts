import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EngineError } from '../../src/util/errors.js';
import { checkExecutable, resolveUser, RootfsView } from '../../src/runtime/rootfs-lookup.js';

const base = mkdtempSync(join(tmpdir(), 'rootlet-lookup-'));
after(() => rmSync(base, { recursive: true, force: true }));
let seq = 0;

/** A layer directory from a description: string = file, null = directory, {link} = symlink, 'WHITEOUT' = overlay whiteout. */
type Node = string | null | { link: string } | { mode: number; body: string } | 'WHITEOUT';
function layer(files: Record<string, Node>): string {
  const dir = join(base, `layer${seq++}`);
  mkdirSync(dir);
  for (const [path, node] of Object.entries(files)) {
    const p = join(dir, path);
    mkdirSync(dirname(p), { recursive: true });
    if (node === null) mkdirSync(p, { recursive: true });
    else if (node === 'WHITEOUT') {
      // Unprivileged users may create whiteouts (Linux >= 5.8 allows a 0/0 character device).
      const r = spawnSync('mknod', [p, 'c', '0', '0'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `mknod: ${r.stderr}`);
    } else if (typeof node === 'string') writeFileSync(p, node);
    else if ('link' in node) symlinkSync(node.link, p);
    else {
      writeFileSync(p, node.body);
      chmodSync(p, node.mode);
    }
  }
  return dir;
}

/** A directory outside every layer that lookups must never reach. */
const host = join(base, 'host');
mkdirSync(join(host, 'etc'), { recursive: true });
writeFileSync(join(host, 'etc/passwd'), 'HOST FILE\n');
writeFileSync(join(host, 'secret'), 'HOST FILE\n');

describe('RootfsView: layers', () => {
  test('one layer: paths resolve inside it', () => {
    const l = layer({ 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n' });
    const v = new RootfsView([l]);
    assert.equal(v.resolve('/etc/passwd'), join(l, 'etc/passwd'));
    assert.equal(v.readText('/etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
    assert.equal(v.resolve('/etc/missing'), undefined);
    assert.equal(v.readText('/etc/missing'), undefined);
  });

  test('layers top first: a file only in a lower layer is found; an upper one hides a lower one', () => {
    const lower = layer({ 'etc/passwd': 'lower', 'etc/group': 'lower group', 'usr/bin/x': 'x' });
    const upper = layer({ 'etc/passwd': 'upper' });
    const v = new RootfsView([upper, lower]);
    assert.equal(v.readText('/etc/passwd'), 'upper');
    assert.equal(v.readText('/etc/group'), 'lower group');
    assert.equal(v.readText('/usr/bin/x'), 'x');
  });

  test('a whiteout hides the file below it, and a whited-out directory hides its whole subtree', () => {
    const lower = layer({ 'etc/passwd': 'lower', 'opt/app/bin/run': 'r', 'keep': 'k' });
    const upper = layer({ 'etc/passwd': 'WHITEOUT', 'opt': 'WHITEOUT' });
    const v = new RootfsView([upper, lower]);
    assert.equal(v.resolve('/etc/passwd'), undefined);
    assert.equal(v.resolve('/opt'), undefined);
    assert.equal(v.resolve('/opt/app/bin/run'), undefined);
    assert.equal(v.readText('/keep'), 'k');
    // A whiteout in the middle layer hides the bottom layer's file; the top layer can bring it back.
    const top = layer({ 'etc/passwd': 'top' });
    assert.equal(new RootfsView([top, upper, lower]).readText('/etc/passwd'), 'top');
  });
});

describe('RootfsView: symlinks stay inside the root', () => {
  test('an absolute symlink resolves against the root, not the host', () => {
    const l = layer({ 'etc/passwd': 'inside', 'hostetc': { link: join(host, 'etc') }, 'lnk': { link: '/etc/passwd' } });
    const v = new RootfsView([l]);
    assert.equal(v.readText('/lnk'), 'inside');
    // The link names a host directory: inside the root there is no such path.
    assert.equal(v.resolve('/hostetc/passwd'), undefined);
  });

  test('/etc -> /etc loops end, and never reach the host\'s /etc', () => {
    const v = new RootfsView([layer({ etc: { link: '/etc' } })]);
    assert.equal(v.resolve('/etc/passwd'), undefined);
    assert.equal(v.readText('/etc/passwd'), undefined);
    const v2 = new RootfsView([layer({ a: { link: 'b' }, b: { link: '/a' } })]);
    assert.equal(v2.resolve('/a/x'), undefined);
  });

  test('a symlink to the host\'s own absolute path finds the image\'s file of that name', () => {
    const l = layer({ [join(host, 'secret').slice(1)]: 'image copy', 'x': { link: join(host, 'secret') } });
    assert.equal(new RootfsView([l]).readText('/x'), 'image copy');
  });

  test('.. beyond the root clamps at the root, in paths and in relative symlink targets', () => {
    const l = layer({ 'etc/passwd': 'inside', 'a/b/up': { link: '../../../../../../../../etc' }, 'a/rel': { link: '../etc/passwd' } });
    const v = new RootfsView([l]);
    assert.equal(v.readText('/../../../etc/passwd'), 'inside');
    assert.equal(v.readText('/a/b/up/passwd'), 'inside');
    assert.equal(v.readText('/a/rel'), 'inside');
    assert.equal(v.resolve('/a/./b/../../etc/passwd'), join(l, 'etc/passwd'));
  });

  test('symlink chains across layers are followed inside the root', () => {
    const lower = layer({ 'c/file': 'end', 'b': { link: '/c' } });
    const upper = layer({ 'a': { link: 'b' } });
    assert.equal(new RootfsView([upper, lower]).readText('/a/file'), 'end');
  });

  test('a lower layer\'s symlink under an upper layer\'s directory is not followed to the host',
    () => {
      const lower = layer({ etc: { link: join(host, 'etc') } });
      const upper = layer({ 'etc/': null });
      const v = new RootfsView([upper, lower]);
      // Overlay shows the upper directory only: there is no /etc/passwd.
      assert.equal(v.readText('/etc/passwd'), undefined);
      const p = v.resolve('/etc/passwd');
      assert.ok(p === undefined, `resolved to ${p}, which reaches ${join(host, 'etc/passwd')}`);
    });
});

describe('RootfsView: mounts', () => {
  test('bind mounts are looked up in their source; the longest destination wins', () => {
    const l = layer({ 'data/f': 'layer' });
    const src = layer({ f: 'bound', 'sub/g': 'outer' });
    const inner = layer({ g: 'inner' });
    const v = new RootfsView([l], [
      { type: 'bind', source: src, destination: '/data', options: [] },
      { type: 'bind', source: inner, destination: '/data/sub', options: [] },
      { type: 'tmpfs', source: 'tmpfs', destination: '/tmp', options: [] },
    ]);
    assert.equal(v.readText('/data/f'), 'bound');
    assert.equal(v.readText('/data/sub/g'), 'inner');
    assert.equal(v.underTmpfs('/tmp/x'), true);
    assert.equal(v.underTmpfs('/tmp'), true);
    assert.equal(v.underTmpfs('/tmpx'), false);
  });
});

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'app:x:1000:1000:app:/home/app:/bin/sh',
  'big:x:70000:70000::/home/big:/bin/sh',
  'short:line',
].join('\n');
const GROUP = ['root:x:0:', 'app:x:1000:', 'users:x:100:app,other', 'wheel:x:10:app', 'huge:x:80000:app', 'nogroup:x:65534:'].join('\n');

describe('resolveUser', () => {
  const v = new RootfsView([layer({ 'etc/passwd': PASSWD, 'etc/group': GROUP })]);
  const LIMIT = 65537;

  test('default and "0" are root with /root', () => {
    assert.deepEqual(resolveUser('', v, LIMIT), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
    assert.deepEqual(resolveUser('0', v, LIMIT), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });

  test('by name and by uid: the passwd entry, with supplementary groups under the limit', () => {
    const app = { uid: 1000, gid: 1000, additionalGids: [100, 10], home: '/home/app' };
    assert.deepEqual(resolveUser('app', v, LIMIT), app);
    assert.deepEqual(resolveUser('1000', v, LIMIT), app);
  });

  test('name:group and uid:gid', () => {
    assert.deepEqual(resolveUser('app:users', v, LIMIT), { uid: 1000, gid: 100, additionalGids: [10], home: '/home/app' });
    assert.deepEqual(resolveUser('app:42', v, LIMIT), { uid: 1000, gid: 42, additionalGids: [100, 10], home: '/home/app' });
    assert.deepEqual(resolveUser('1:nogroup', v, LIMIT), { uid: 1, gid: 65534, additionalGids: [], home: '/usr/sbin' });
  });

  test('a uid not in passwd is used as is, with gid 0 and home /', () => {
    assert.deepEqual(resolveUser('5000', v, LIMIT), { uid: 5000, gid: 0, additionalGids: [], home: '/' });
    assert.deepEqual(resolveUser('5000:5000', v, LIMIT), { uid: 5000, gid: 5000, additionalGids: [], home: '/' });
  });

  test('unknown user or group names are errors', () => {
    assert.throws(() => resolveUser('nosuch', v, LIMIT), (e: unknown) => e instanceof EngineError && /unable to find user nosuch/.test(e.message));
    assert.throws(() => resolveUser('app:nosuch', v, LIMIT), (e: unknown) => e instanceof EngineError && /unable to find group nosuch/.test(e.message));
  });

  test('ids beyond the namespace are errors that say how to fix them', () => {
    assert.throws(() => resolveUser('70000', v, LIMIT), (e: unknown) => e instanceof EngineError && /uid 70000 is outside the 65537 ids.*\/etc\/subuid/.test(e.message));
    assert.throws(() => resolveUser('big', v, LIMIT), /uid 70000/);
    assert.throws(() => resolveUser('0:65537', v, LIMIT), /gid 65537 is outside/);
    assert.deepEqual(resolveUser('65536:65536', v, LIMIT).uid, 65536);
  });

  test('without /etc/passwd only numeric users work', () => {
    const empty = new RootfsView([layer({ 'bin/sh': 'x' })]);
    assert.deepEqual(resolveUser('', empty, LIMIT), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
    assert.deepEqual(resolveUser('1000:1000', empty, LIMIT), { uid: 1000, gid: 1000, additionalGids: [], home: '/' });
    assert.throws(() => resolveUser('app', empty, LIMIT), /unable to find user app/);
  });
});

describe('checkExecutable', () => {
  const l = layer({
    'bin/sh': { mode: 0o755, body: '#!' },
    'bin/ls': { link: 'sh' },
    'bin/notexec': { mode: 0o644, body: 'x' },
    'bin/dir/': null,
    'opt/tool': { mode: 0o644, body: 'x' },
    'usr/bin/tool': { mode: 0o700, body: 'x' },
    'bin/dangling': { link: '/nowhere' },
  });
  const v = new RootfsView([l], [{ type: 'tmpfs', source: 'tmpfs', destination: '/scratch', options: [] }]);
  const env = ['PATH=/bin:/usr/bin'];

  test('found and executable, by PATH, by path, relative to the working directory, through a symlink', () => {
    assert.equal(checkExecutable('sh', env, '/', v), undefined);
    assert.equal(checkExecutable('ls', env, '/', v), undefined);
    assert.equal(checkExecutable('/bin/sh', env, '/', v), undefined);
    assert.equal(checkExecutable('./sh', env, '/bin', v), undefined);
    assert.equal(checkExecutable('../bin/sh', env, '/usr', v), undefined);
  });

  test('missing: 127', () => {
    const r = checkExecutable('nope', env, '/', v);
    assert.deepEqual(r, { code: 127, message: 'exec: "nope": executable file not found in $PATH' });
    assert.equal(checkExecutable('/bin/nope', env, '/', v)?.code, 127);
    assert.match(checkExecutable('/bin/nope', env, '/', v)!.message, /no such file or directory/);
    assert.equal(checkExecutable('dangling', env, '/', v)?.code, 127);
    assert.equal(checkExecutable('sh', ['PATH='], '/', v)?.code, 127);
    assert.equal(checkExecutable('sh', [], '/', v)?.code, 127);
  });

  test('not executable or a directory: 126', () => {
    assert.deepEqual(checkExecutable('notexec', env, '/', v), { code: 126, message: 'exec: "notexec": permission denied' });
    assert.equal(checkExecutable('/bin/notexec', env, '/', v)?.code, 126);
    assert.equal(checkExecutable('/bin/dir', env, '/', v)?.code, 126);
    assert.match(checkExecutable('/bin/dir', env, '/', v)!.message, /is a directory/);
  });

  test('PATH search goes on past non-executable files and directories, as execvp does', () => {
    assert.equal(checkExecutable('tool', ['PATH=/opt:/usr/bin'], '/', v), undefined);
    // A directory named like the command is skipped in a PATH search.
    assert.equal(checkExecutable('dir', env, '/', v)?.code, 127);
  });

  test('a command on a tmpfs cannot be checked from here and is let through', () => {
    assert.equal(checkExecutable('/scratch/anything', env, '/', v), undefined);
  });
});
