import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, Sandbox, shq } from '../helpers.js';

const uid = process.getuid!();

/** The files of a tar archive (GNU tar lists them). */
function tarNames(file: string): string[] {
  const r = spawnSync('tar', ['-tf', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('exec, top, stats, diff, cp and export', () => {
  const sb = new Sandbox('exec');

  before(() => {
    sb.importBusybox();
    sb.ok(['run', '-d', '--name', 'box', '-e', 'FROM_RUN=yes', 'busybox', 'sleep', '1000']);
    sb.ok(['run', '-d', '--name', 'ended', 'busybox', 'sh', '-c', 'echo made > /made-before; exit 0']);
    sb.ok(['wait', 'ended']);
  });
  after(() => {
    sb.run(['rm', '-f', 'box', 'ended', 'fgbox']);
    sb.destroy();
  });

  test('exec runs a command with the container\'s env and returns its exit code', () => {
    assert.equal(sb.ok(['exec', 'box', 'echo', 'hi']), 'hi\n');
    assert.equal(sb.run(['exec', 'box', 'false']).code, 1);
    assert.equal(sb.run(['exec', 'box', 'sh', '-c', 'exit 7']).code, 7);
    const env = sb.ok(['exec', 'box', 'env']);
    assert.match(env, /^FROM_RUN=yes$/m);
    assert.match(env, /^HOME=\/root$/m);
    assert.equal(sb.ok(['exec', 'box', 'id', '-u']).trim(), '0');
  });

  test('exec -u, -w, -e and --env-file', () => {
    assert.equal(sb.ok(['exec', '-u', 'app', 'box', 'id', '-u']).trim(), '1000');
    assert.equal(sb.ok(['exec', '-u', 'app', 'box', 'sh', '-c', 'echo $HOME']).trim(), '/home/app');
    assert.equal(sb.ok(['exec', '-u', '1000:100', 'box', 'id', '-g']).trim(), '100');
    assert.equal(sb.ok(['exec', '-w', '/tmp', 'box', 'pwd']).trim(), '/tmp');
    const envFile = sb.path('exec.env');
    writeFileSync(envFile, 'FROM_FILE=1\nFROM_RUN=overridden\n');
    const env = sb.ok(['exec', '-e', 'A=1', '--env-file', envFile, 'box', 'env']);
    assert.match(env, /^A=1$/m);
    assert.match(env, /^FROM_FILE=1$/m);
    assert.match(env, /^FROM_RUN=overridden$/m);
    const badUser = sb.run(['exec', '-u', 'nosuchuser', 'box', 'true']);
    assert.equal(badUser.code, 125);
    const badDir = sb.run(['exec', '-w', '/no/such/dir', 'box', 'true']);
    assert.equal(badDir.code, 126);
    assert.equal(badDir.stderr.trim().split('\n').length, 1, badDir.stderr);
  });

  test('exec: 127 for a command not found, 126 for one not executable, one line each', () => {
    const nf = sb.run(['exec', 'box', 'no-such-command']);
    assert.equal(nf.code, 127);
    assert.equal(nf.stderr.trim().split('\n').length, 1, nf.stderr);
    assert.match(nf.stderr, /no-such-command.*not found/);
    const ne = sb.run(['exec', 'box', '/etc/passwd']);
    assert.equal(ne.code, 126);
    assert.equal(ne.stderr.trim().split('\n').length, 1, ne.stderr);
  });

  test('exec -i passes stdin; without -i the command reads nothing', () => {
    assert.equal(sb.ok(['exec', '-i', 'box', 'cat'], { input: 'hi\n' }), 'hi\n');
    assert.equal(sb.ok(['exec', 'box', 'cat'], { input: 'hi\n' }), '');
  });

  test('exec -t gets a terminal; -it without one is refused', () => {
    const cmd = [process.execPath, BIN, 'exec', '-t', 'box', 'tty'].map(shq).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: sb.env, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    assert.equal(sb.run(['exec', 'box', 'tty']).code, 1, 'no terminal without -t');
    const refused = sb.run(['exec', '-it', 'box', 'true']);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /not a TTY/);
  });

  test('exec -d prints nothing and the command runs on', async () => {
    const r = sb.run(['exec', '-d', 'box', 'sh', '-c', 'sleep 0.2; echo done > /tmp/detached']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    await until('the detached command', () => sb.run(['exec', 'box', 'cat', '/tmp/detached']).stdout === 'done\n');
  });

  test('exec into a stopped container is 125 "is not running"', () => {
    const r = sb.run(['exec', 'ended', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /container ended is not running/);
    assert.equal(sb.run(['exec', 'no-such-container', 'true']).code, 125);
  });

  test('exec into a container that another rootlet runs in the foreground', async () => {
    const child = sb.spawn(['run', '--name', 'fgbox', 'busybox', 'sleep', '300']);
    try {
      await until('the foreground container', () => / fgbox$/m.test(sb.ok(['ps'])));
      assert.equal(sb.ok(['exec', 'fgbox', 'echo', 'reached']), 'reached\n');
      assert.match(sb.ok(['top', 'fgbox']), /sleep 300/);
    } finally {
      sb.run(['rm', '-f', 'fgbox']);
      await new Promise((r) => child.on('exit', r));
    }
  });

  test('top lists the container\'s processes with ps -ef\'s columns', () => {
    const out = sb.ok(['top', 'box']);
    const [header, ...rows] = out.trim().split('\n');
    assert.deepEqual(header!.trim().split(/\s+/), ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    const sleep = rows.find((r) => r.endsWith('sleep 1000'));
    assert.ok(sleep, out);
    assert.match(sleep, /^root\s+\d+/);
    assert.match(sb.ok(['top', 'box', '-o', 'pid,args']), /^\s*\d+\s+sleep 1000$/m);
    const stopped = sb.run(['top', 'ended']);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /is not running/);
  });

  test('stats --no-stream: one row with the container\'s processes, and a note on where figures come from', () => {
    const r = sb.run(['stats', '--no-stream', 'box']);
    assert.equal(r.code, 0, r.stderr);
    const [header, row] = r.stdout.trim().split('\n');
    assert.match(header!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    assert.match(row!, /^[0-9a-f]{12}\s+box\s+\d+\.\d\d%\s+[\d.]+\w?i?B \/ [\d.]+\w+\s+\d+\.\d\d%\s+\S+ \/ \S+\s+\S+ \/ \S+\s+[1-9]\d*$/);
    assert.match(r.stderr, /\/proc/);
    const all = sb.ok(['stats', '--no-stream', '-a']);
    assert.match(all, /\bended\s+0\.00%/);
  });

  test('diff shows files added, changed and deleted, and not the runtime\'s mount points', () => {
    sb.ok(['exec', 'box', 'sh', '-c', 'touch /new && rm /bin/ls && echo x >> /etc/group']);
    const lines = sb.ok(['diff', 'box']).trim().split('\n');
    for (const l of ['A /new', 'D /bin/ls', 'C /bin', 'C /etc/group', 'C /etc']) assert.ok(lines.includes(l), `${l} in\n${lines.join('\n')}`);
    assert.ok(!lines.some((l) => /\/etc\/(hosts|hostname|resolv\.conf)$|^. \/(proc|dev|sys)$/.test(l)), lines.join('\n'));
    // A stopped container's changes stay readable.
    assert.deepEqual(sb.ok(['diff', 'ended']).trim().split('\n'), ['A /made-before']);
  });

  test('cp into a running container: copies belong to container root (-a keeps the owner)', () => {
    const src = sb.path('cp-in');
    mkdirSync(join(src, 'dir/sub'), { recursive: true });
    writeFileSync(join(src, 'file.txt'), 'from the host\n');
    writeFileSync(join(src, 'dir/sub/f'), 'deep\n');
    sb.ok(['cp', join(src, 'file.txt'), 'box:/tmp/']);
    assert.equal(sb.ok(['exec', 'box', 'cat', '/tmp/file.txt']), 'from the host\n');
    assert.equal(sb.ok(['exec', 'box', 'stat', '-c', '%u:%g', '/tmp/file.txt']).trim(), '0:0');
    sb.ok(['cp', join(src, 'dir'), 'box:/tmp/copied']);
    assert.equal(sb.ok(['exec', 'box', 'cat', '/tmp/copied/sub/f']), 'deep\n');
    sb.ok(['cp', join(src, 'file.txt'), 'box:/tmp/renamed']);
    assert.equal(sb.ok(['exec', 'box', 'cat', '/tmp/renamed']), 'from the host\n');
    sb.ok(['cp', '-a', join(src, 'file.txt'), 'box:/tmp/kept']);
    assert.equal(sb.ok(['exec', 'box', 'stat', '-c', '%u', '/tmp/kept']).trim(), String(uid));
    const missing = sb.run(['cp', join(src, 'file.txt'), 'box:/no/such/dir/x']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such directory/);
  });

  test('cp resolves symlinks inside the container, never to the host', () => {
    const src = sb.path('cp-link');
    mkdirSync(src);
    writeFileSync(join(src, 'f'), 'x');
    const target = sb.path('must-stay-empty');
    mkdirSync(target);
    sb.ok(['exec', 'box', 'ln', '-s', target, '/tmp/to-host']);
    sb.ok(['exec', 'box', 'ln', '-s', '/', '/tmp/to-root']);
    assert.notEqual(sb.run(['cp', join(src, 'f'), 'box:/tmp/to-host/f']).code, 0);
    assert.equal(existsSync(join(target, 'f')), false);
    sb.ok(['cp', join(src, 'f'), 'box:/tmp/to-root/etc/via-link']);
    assert.equal(sb.ok(['exec', 'box', 'cat', '/etc/via-link']), 'x');
  });

  test('cp out of a running container: the copies are the user\'s; - writes a tar', () => {
    const dest = sb.path('cp-out');
    mkdirSync(dest);
    sb.ok(['exec', 'box', 'sh', '-c', 'mkdir -p /srv/data && echo secret > /srv/data/f && chown -R 1000:1000 /srv/data && chmod 700 /srv/data']);
    sb.ok(['cp', 'box:/srv/data', dest]);
    assert.equal(readFileSync(join(dest, 'data/f'), 'utf8'), 'secret\n');
    assert.equal(statSync(join(dest, 'data/f')).uid, uid);
    sb.ok(['cp', 'box:/etc/passwd', join(dest, 'pw')]);
    assert.match(readFileSync(join(dest, 'pw'), 'utf8'), /^root:/);
    const tar = sb.path('cp-out.tar');
    const r = spawnSync('sh', ['-c', `${[process.execPath, BIN, 'cp', 'box:/etc/passwd', '-'].map(shq).join(' ')} > ${shq(tar)}`], { env: sb.env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(tarNames(tar), ['passwd']);
    const nf = sb.run(['cp', 'box:/no/such/file', dest]);
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, /Could not find the file \/no\/such\/file in container box/);
  });

  test('cp works on a stopped container, both ways', () => {
    const src = sb.path('cp-stopped.txt');
    writeFileSync(src, 'into a stopped one\n');
    sb.ok(['cp', src, 'ended:/copied-while-stopped']);
    const back = sb.path('cp-stopped-back');
    sb.ok(['cp', 'ended:/copied-while-stopped', back]);
    assert.equal(readFileSync(back, 'utf8'), 'into a stopped one\n');
    sb.ok(['cp', 'ended:/made-before', sb.path('made-before')]);
    assert.equal(readFileSync(sb.path('made-before'), 'utf8'), 'made\n');
    assert.ok(sb.ok(['diff', 'ended']).includes('A /copied-while-stopped'));
  });

  test('export writes the container\'s file system as a tar, running or not', () => {
    const out = sb.path('box.tar');
    sb.ok(['export', '-o', out, 'box']);
    const names = tarNames(out);
    assert.ok(names.includes('bin/busybox'), names.slice(0, 20).join(' '));
    assert.ok(names.includes('new'));
    assert.ok(!names.some((n) => n.startsWith('proc/') && n !== 'proc/'), 'no /proc contents');
    const stopped = sb.path('ended.tar');
    const r = spawnSync('sh', ['-c', `${[process.execPath, BIN, 'export', 'ended'].map(shq).join(' ')} > ${shq(stopped)}`], { env: sb.env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const endedNames = tarNames(stopped);
    assert.ok(endedNames.includes('bin/busybox'));
    assert.ok(endedNames.includes('made-before'));
  });
});

// The fallback drivers reach the container's files differently: vfs keeps a
// full copy (diff compares it with the image), fuse-overlayfs's mount
// refuses processes outside the user's namespace (exec's lookups use the layers).
for (const driver of ['vfs', 'fuse-overlayfs']) {
  describe(`exec, diff, cp and export with the ${driver} driver`, () => {
    test('work on a running and a stopped container', () => {
      const sb = new Sandbox(`exec-${driver}`);
      try {
        mkdirSync(sb.path('config/rootlet'), { recursive: true });
        writeFileSync(sb.path('config/rootlet/rootlet.toml'), `[storage]\ndriver = "${driver}"\n`);
        sb.importBusybox();
        sb.ok(['run', '-d', '--name', 'drv', 'busybox', 'sleep', '1000']);
        sb.ok(['exec', 'drv', 'sh', '-c', 'touch /new && rm /bin/ls']);
        assert.equal(sb.run(['exec', 'drv', 'no-such-command']).code, 127);
        assert.equal(sb.ok(['exec', '-u', 'app', 'drv', 'id', '-u']).trim(), '1000');
        const diff = sb.ok(['diff', 'drv']).trim().split('\n');
        assert.deepEqual(diff, ['C /bin', 'D /bin/ls', 'A /new']);
        writeFileSync(sb.path('in.txt'), 'in\n');
        sb.ok(['cp', sb.path('in.txt'), 'drv:/in.txt']);
        assert.equal(sb.ok(['exec', 'drv', 'stat', '-c', '%u', '/in.txt']).trim(), '0');
        sb.ok(['stop', '-t', '0', 'drv']);
        sb.ok(['cp', 'drv:/in.txt', sb.path('out.txt')]);
        assert.equal(readFileSync(sb.path('out.txt'), 'utf8'), 'in\n');
        sb.ok(['export', '-o', sb.path('drv.tar'), 'drv']);
        const names = tarNames(sb.path('drv.tar'));
        assert.ok(names.includes('new') && names.includes('in.txt') && !names.includes('bin/ls'));
      } finally {
        sb.run(['rm', '-f', 'drv']);
        sb.destroy();
      }
    });
  });
}
