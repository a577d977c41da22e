import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { mountsMentioning, Sandbox } from '../helpers.js';

const me = userInfo();
const uid = process.getuid!();
const gid = process.getgid!();

function firstSubId(file: string): number {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${me.username}:`) || l.startsWith(`${uid}:`));
  assert.ok(line, `${me.username} has no range in ${file}`);
  return Number(line.split(':')[1]);
}

describe('rootlet run as an unprivileged user', () => {
  const sb = new Sandbox('run');
  let subuid = 0;
  let subgid = 0;

  before(() => {
    assert.notEqual(uid, 0, 'the suite must run as an unprivileged user');
    subuid = firstSubId('/etc/subuid');
    subgid = firstSubId('/etc/subgid');
    sb.importBusybox();
  });
  after(() => sb.destroy());

  test('container root is the user: whoami and uid_map', () => {
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'whoami']).trim(), 'root');
    const map = sb.ok(['run', '--rm', 'busybox', 'cat', '/proc/self/uid_map']).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
    assert.deepEqual(map[0], [0, uid, 1]);
    assert.deepEqual(map[1]!.slice(0, 2), [1, subuid]);
    const gmap = sb.ok(['run', '--rm', 'busybox', 'cat', '/proc/self/gid_map']).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
    assert.deepEqual(gmap[0], [0, gid, 1]);
    assert.deepEqual(gmap[1]!.slice(0, 2), [1, subgid]);
  });

  test('host /etc bind-mounted is not writable; the container /etc is, and the host stays untouched', () => {
    const r = sb.run(['run', '--rm', '-v', '/etc:/hostetc', 'busybox', 'touch', '/hostetc/rootlet-x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied/);
    assert.equal(existsSync('/etc/rootlet-x'), false);
    sb.ok(['run', '--rm', 'busybox', 'touch', '/etc/rootlet-x']);
    assert.equal(existsSync('/etc/rootlet-x'), false);
  });

  test('files created in a bind-mounted directory: root -> the user, uid 1000 -> first subordinate id + 999', () => {
    const dir = sb.path('bind-owner');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    sb.ok(['run', '--rm', '-v', `${dir}:/data`, 'busybox', 'touch', '/data/by-root']);
    assert.equal(statSync(`${dir}/by-root`).uid, uid);
    assert.equal(statSync(`${dir}/by-root`).gid, gid);
    // As uid 1000 directly (no su needed): -u.
    sb.ok(['run', '--rm', '-u', '1000:1000', '-v', `${dir}:/data`, 'busybox', 'touch', '/data/by-1000']);
    assert.equal(statSync(`${dir}/by-1000`).uid, subuid + 999);
    assert.equal(statSync(`${dir}/by-1000`).gid, subgid + 999);
  });

  test('host files the user does not own show as nobody (65534)', () => {
    const out = sb.ok(['run', '--rm', '-v', '/etc:/hostetc:ro', 'busybox', 'stat', '-c', '%u:%g', '/hostetc/passwd']).trim();
    assert.equal(out, '65534:65534');
  });

  test('--userns=keep-id: id -u is the user\'s uid and files keep the user\'s ownership', () => {
    assert.equal(sb.ok(['run', '--rm', '--userns=keep-id', 'busybox', 'id', '-u']).trim(), String(uid));
    assert.equal(sb.ok(['run', '--rm', '--userns=keep-id', 'busybox', 'id', '-g']).trim(), String(gid));
    const dir = sb.path('keepid');
    mkdirSync(dir);
    sb.ok(['run', '--rm', '--userns=keep-id', '-v', `${dir}:/work`, 'busybox', 'touch', '/work/mine']);
    assert.equal(statSync(`${dir}/mine`).uid, uid);
    // Image files still belong to root inside.
    assert.equal(sb.ok(['run', '--rm', '--userns=keep-id', 'busybox', 'stat', '-c', '%u', '/bin/busybox']).trim(), '0');
  });

  test('--read-only refuses writes; --tmpfs stays writable', () => {
    const r = sb.run(['run', '--rm', '--read-only', 'busybox', 'touch', '/x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
    sb.ok(['run', '--rm', '--read-only', '--tmpfs', '/scratch', 'busybox', 'touch', '/scratch/x']);
  });

  test('exit codes: the container\'s, 127 not found, 126 not executable, 125 engine error', () => {
    assert.equal(sb.run(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']).code, 3);
    const nf = sb.run(['run', '--rm', 'busybox', 'no-such-command']);
    assert.equal(nf.code, 127);
    assert.equal(nf.stderr.trim().split('\n').length, 1);
    assert.match(nf.stderr, /no-such-command.*not found/);
    assert.equal(sb.run(['run', '--rm', 'busybox', '/etc/passwd']).code, 126);
    const ni = sb.run(['run', '--rm', 'no-such-image', 'true']);
    assert.equal(ni.code, 125);
    assert.equal(ni.stderr.trim().split('\n').length, 1);
    assert.match(ni.stderr, /no-such-image/);
    assert.equal(sb.run(['run', '--no-such-flag', 'busybox', 'true']).code, 125);
  });

  test('environment, working directory, user, entrypoint, hostname', () => {
    const envFile = sb.path('env.list');
    writeFileSync(envFile, '# comment\nFROM_FILE=yes\nOVERRIDE=file\n');
    const env = sb.ok(['run', '--rm', '-e', 'A=1', '-e', 'OVERRIDE=flag', '--env-file', envFile, 'busybox', 'env']);
    assert.match(env, /^A=1$/m);
    assert.match(env, /^FROM_FILE=yes$/m);
    assert.match(env, /^OVERRIDE=flag$/m);
    assert.match(env, /^PATH=\/usr\/local\/sbin/m);
    assert.match(env, /^HOME=\/root$/m);
    assert.equal(sb.ok(['run', '--rm', '-w', '/tmp/newdir', 'busybox', 'pwd']).trim(), '/tmp/newdir');
    assert.equal(sb.ok(['run', '--rm', '-u', 'app', 'busybox', 'id', '-u']).trim(), '1000');
    assert.equal(sb.ok(['run', '--rm', '-u', 'app', 'busybox', 'sh', '-c', 'echo $HOME']).trim(), '/home/app');
    assert.equal(sb.run(['run', '--rm', '-u', 'nosuchuser', 'busybox', 'true']).code, 125);
    assert.equal(sb.ok(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'via', 'entrypoint']).trim(), 'via entrypoint');
    assert.equal(sb.ok(['run', '--rm', '--hostname', 'box1', 'busybox', 'hostname']).trim(), 'box1');
    assert.match(sb.ok(['run', '--rm', '--hostname', 'box1', 'busybox', 'cat', '/etc/hosts']), /box1/);
  });

  test('-i pipes stdin through; without -i stdin is empty', () => {
    assert.equal(sb.ok(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'hi\n' }), 'hi\n');
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'cat'], { input: 'hi\n' }), '');
  });

  test('--net none has only loopback; --net host sees the host interfaces; an unknown network is refused', () => {
    const none = sb.ok(['run', '--rm', '--net', 'none', 'busybox', 'ls', '/sys/class/net']).trim().split(/\s+/);
    assert.deepEqual(none, ['lo']);
    const host = sb.ok(['run', '--rm', '--net', 'host', 'busybox', 'ls', '/sys/class/net']).trim().split(/\s+/);
    assert.ok(host.length >= 1);
    const unknown = sb.run(['run', '--rm', '--net', 'no-such-net', 'busybox', 'true']);
    assert.equal(unknown.code, 125);
    assert.match(unknown.stderr, /network no-such-net not found/);
  });

  test('--init runs catatonit as PID 1', () => {
    const out = sb.ok(['run', '--rm', '--init', 'busybox', 'cat', '/proc/1/cmdline']);
    assert.match(out, /rootlet-init/);
  });

  test('ps -a lists a container run without --rm; rm removes it and its files', () => {
    assert.equal(sb.run(['run', '--name', 'leftover', 'busybox', 'sh', '-c', 'exit 4']).code, 4);
    const ps = sb.ok(['ps', '-a']);
    assert.match(ps, /leftover/);
    assert.match(ps, /Exited \(4\)/);
    assert.doesNotMatch(sb.ok(['ps']), /leftover/);
    const dup = sb.run(['run', '--name', 'leftover', 'busybox', 'true']);
    assert.equal(dup.code, 125);
    assert.match(dup.stderr, /already in use/);
    const id = sb.ok(['ps', '-aq', '--no-trunc']).trim().split('\n').find(Boolean)!;
    assert.equal(sb.ok(['rm', 'leftover']).trim(), 'leftover');
    assert.doesNotMatch(sb.ok(['ps', '-a']), /leftover/);
    assert.equal(existsSync(sb.path('data/rootlet/containers', id)), false);
    assert.equal(sb.run(['rm', 'leftover']).code, 1);
  });

  test('after run --rm no mount, process or file of the container remains', () => {
    const before = sb.ok(['ps', '-aq', '--no-trunc']);
    sb.ok(['run', '--rm', '--name', 'gone', 'busybox', 'sh', '-c', 'echo $$ > /dev/null; touch /made-here']);
    assert.equal(sb.ok(['ps', '-aq', '--no-trunc']), before);
    assert.doesNotMatch(sb.ok(['ps', '-a']), /\bgone\b/);
    const containers = sb.path('data/rootlet/containers');
    assert.deepEqual(mountsMentioning(containers), []);
    for (const id of readdirSync(containers)) assert.ok(before.includes(id), `leftover container directory ${id}`);
    // No process refers to this sandbox's containers any more (other test files run containers meanwhile).
    const procs = spawnSync('pgrep', ['-u', String(uid), '-f', containers], { encoding: 'utf8' });
    assert.equal(procs.stdout.trim(), '');
  });

  test('SIGTERM reaches the container and --rm still cleans up', async () => {
    const child = sb.spawn(['run', '--rm', '--init', '--name', 'sleeper', 'busybox', 'sleep', '300']);
    // Wait until it runs.
    for (let i = 0; i < 100 && !sb.ok(['ps']).includes('sleeper'); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
    assert.equal(code, 143);
    assert.doesNotMatch(sb.ok(['ps', '-a']), /sleeper/);
    assert.deepEqual(mountsMentioning(sb.path('data/rootlet/containers')), []);
  });

  test('Ctrl-C (SIGINT) reaches the container through --init', async () => {
    const child = sb.spawn(['run', '--rm', '--init', '--name', 'interrupted', 'busybox', 'sleep', '300']);
    for (let i = 0; i < 100 && !sb.ok(['ps']).includes('interrupted'); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
    assert.equal(code, 130);
    assert.doesNotMatch(sb.ok(['ps', '-a']), /interrupted/);
  });

  test('rm refuses a running container; rm -f kills it and the run ends with 137', async () => {
    const child = sb.spawn(['run', '--name', 'busy', 'busybox', 'sleep', '300']);
    for (let i = 0; i < 100 && !sb.ok(['ps']).includes('busy'); i++) await new Promise((r) => setTimeout(r, 100));
    const exited = new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
    const refused = sb.run(['rm', 'busy']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is running/);
    assert.match(sb.ok(['ps']), /\bbusy\b/);
    assert.equal(sb.ok(['rm', '-f', 'busy']).trim(), 'busy');
    assert.equal(await exited, 137);
    assert.doesNotMatch(sb.ok(['ps', '-a']), /\bbusy\b/);
    assert.deepEqual(mountsMentioning(sb.path('data/rootlet/containers')), []);
  });

  test('unshare runs a command as root of the namespace, where subordinate-owned files can be removed', () => {
    const dir = sb.path('owned');
    mkdirSync(dir);
    sb.ok(['run', '--rm', '-v', `${dir}:/d`, 'busybox', 'sh', '-c', 'mkdir /d/sub && touch /d/sub/f && chown -R 1000:1000 /d/sub && chmod 700 /d/sub']);
    assert.throws(() => readFileSync(`${dir}/sub/f`));
    assert.equal(sb.ok(['unshare', 'id', '-u']).trim(), '0');
    sb.ok(['unshare', 'rm', '-rf', `${dir}/sub`]);
    assert.equal(existsSync(`${dir}/sub`), false);
  });

  test('the namespace holder is re-created when it died', async () => {
    const info = JSON.parse(sb.ok(['info', '--format', 'json'])) as { paths: { namespaceHolderPid: number } };
    const pid = info.paths.namespaceHolderPid;
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'echo', 'back']).trim(), 'back');
    const again = JSON.parse(sb.ok(['info', '--format', 'json'])) as { paths: { namespaceHolderPid: number } };
    assert.notEqual(again.paths.namespaceHolderPid, pid);
  });

  test('images lists the imported image; rmi refuses one in use and removes it when free', async () => {
    sb.importBusybox('second:v1');
    assert.match(sb.ok(['images']), /second\s+v1/);
    sb.ok(['run', '--name', 'user-of-second', 'second:v1', 'true']);
    const refused = sb.run(['rmi', 'second:v1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /container .* is using it/);
    sb.ok(['rm', 'user-of-second']);
    const out = sb.ok(['rmi', 'second:v1']);
    assert.match(out, /Untagged: second:v1/);
    assert.doesNotMatch(sb.ok(['images']), /^second/m);
    // busybox (same layer) still runs: shared layers are kept.
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'echo', 'ok']).trim(), 'ok');
  });
});
