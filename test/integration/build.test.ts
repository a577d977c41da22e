import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sandbox, until, type Result } from '../helpers.js';

// Issue 13: `rootlet build`. Everything runs for real: RUN steps are
// containers in the user's namespace, layers are stored as pulled ones are.

const BUSYBOX = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();

/** Exit `code`, one line on stderr, matching. */
function refused(r: Result, code: number, re: RegExp, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
  assert.match(lines[0]!, /^Error: /, what);
  assert.match(lines[0]!, re, what);
}

describe('build', () => {
  let sb: Sandbox;
  let ctxRoot: string;
  let n = 0;

  /** A context directory with these files (Containerfile among them). */
  const context = (files: Record<string, string>, busybox = false): string => {
    const dir = join(ctxRoot, `ctx${++n}`);
    mkdirSync(dir, { recursive: true });
    for (const [name, body] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), body);
    }
    if (busybox) copyFileSync(BUSYBOX, join(dir, 'busybox'));
    return dir;
  };

  const state = () => ({
    containers: sb.ok(['ps', '-a', '-q', '--no-trunc']),
    images: sb.ok(['images', '-a', '-q', '--no-trunc']),
    tmp: readdirSync(sb.path('data/rootlet/tmp')).filter((f) => !f.startsWith('probe')).join(' '),
  });

  before(() => {
    sb = new Sandbox('build');
    ctxRoot = mkdtempSync(join(sb.root, 'contexts-'));
    sb.importBusybox('busybox');
  });
  after(() => sb.destroy());

  test('FROM scratch + busybox-static: RUN adds a user and chowns; owners and modes as set; history; nothing left', () => {
    const dir = context({
      Containerfile: [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        "RUN mkdir -p /etc /data /tmp && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd && echo 'root:x:0:' > /etc/group \\",
        "  && echo 'app:x:1234:1234:app:/data:/bin/sh' >> /etc/passwd && echo 'app:x:1234:' >> /etc/group \\",
        '  && chown app:app /data && echo made > /data/file && chmod 600 /data/file && chown app:app /data/file',
        'COPY --chown=app:app --chmod=640 hello.txt /data/',
        'RUN rm /bin/vi',
        'ENV GREETING="hi there"',
        'WORKDIR /data',
        'USER app',
        'EXPOSE 8080',
        'LABEL tier=test',
        'CMD ["sh", "-c", "echo $GREETING; id -u; id -g; stat -c \'%n %u:%g %a\' /data /data/file /data/hello.txt; test -e /bin/vi || echo no-vi"]',
      ].join('\n'),
      'hello.txt': 'hello\n',
    }, true);
    const out = sb.ok(['build', '-t', 'scratchy', dir]);
    assert.match(out, /^STEP 1\/12: FROM scratch$/m);
    assert.match(out, /^STEP 4\/12: RUN mkdir/m);
    assert.match(out, /^--> [0-9a-f]{12} \(\d+\.\d\ds\)$/m, 'a timing per step');
    assert.match(out, /^Successfully tagged docker\.io\/library\/scratchy:latest$/m);
    assert.equal(sb.ok(['run', '--rm', 'scratchy']), 'hi there\n1234\n1234\n/data 1234:1234 755\n/data/file 1234:1234 600\n/data/hello.txt 1234:1234 640\nno-vi\n');
    const cfg = JSON.parse(sb.ok(['image', 'inspect', '-f', '{{json .Config}}', 'scratchy'])) as Record<string, unknown>;
    assert.equal(cfg.User, 'app');
    assert.equal(cfg.WorkingDir, '/data');
    assert.deepEqual(cfg.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(cfg.Labels, { tier: 'test' });
    const history = sb.ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'scratchy']);
    assert.match(history, /^RUN \/bin\/sh -c rm \/bin\/vi # buildkit$/m);
    assert.match(history, /^COPY --chown=app:app --chmod=640 hello.txt \/data\/ # buildkit$/m);
    assert.equal(sb.ok(['ps', '-a', '-q']), '', 'no step container is left');
    assert.equal(sb.ok(['images', '--format', '{{.Repository}}']).split('\n').filter((l) => l === '<none>').length, 0, 'step images are intermediate: shown with -a only');
  });

  test('cache: an unchanged rebuild reuses every step (same id); a changed file rebuilds from its COPY; --no-cache rebuilds all', () => {
    const dir = context({
      Containerfile: 'FROM busybox\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy\nENV X=1\n',
      'a.txt': 'first\n',
    });
    const first = sb.ok(['build', '-q', dir]).trim();
    const again = sb.ok(['build', dir]);
    assert.equal(again.trim().split('\n').pop(), first, 'same image id');
    assert.equal(again.match(/^--> Using cache /gm)?.length, 4, again);
    writeFileSync(join(dir, 'a.txt'), 'second\n');
    const changed = sb.ok(['build', dir]);
    const lines = changed.split('\n');
    const at = (step: number) => lines[lines.findIndex((l) => l.startsWith(`STEP ${step}/5`)) + 1] ?? '';
    assert.match(at(2), /^--> Using cache/, changed);
    assert.doesNotMatch(at(3), /Using cache/, changed);
    assert.doesNotMatch(at(4), /Using cache/, changed);
    const id = changed.trim().split('\n').pop()!;
    assert.notEqual(id, first);
    assert.equal(sb.ok(['run', '--rm', id, 'cat', '/copy']), 'second\n');
    const fresh = sb.ok(['build', '--no-cache', dir]);
    assert.doesNotMatch(fresh, /Using cache/);
  });

  test('multi-stage: the last stage holds only what it copied; --target; unneeded stages are skipped', () => {
    const dir = context({
      Containerfile: [
        'FROM busybox AS builder',
        'RUN echo built > /artifact && echo junk > /junk',
        'FROM busybox AS broken',
        'RUN exit 7',
        'FROM scratch',
        'COPY --from=builder /artifact /artifact',
        'COPY --from=busybox /bin/busybox /bin/busybox',
        'CMD ["/bin/busybox", "cat", "/artifact"]',
      ].join('\n'),
    });
    const out = sb.ok(['build', '-t', 'multi', dir]);
    assert.doesNotMatch(out, /exit 7/, 'the broken stage is not needed and not built');
    assert.equal(sb.ok(['run', '--rm', 'multi']), 'built\n');
    // (/etc/hosts, /etc/hostname and /etc/resolv.conf are that container's mounts, not the image's.)
    const files = sb.ok(['run', '--rm', 'multi', '/bin/busybox', 'find', '/', '-xdev', '-type', 'f']).split('\n').filter((f) => f && !/^\/etc\/(hosts|hostname|resolv\.conf)$/.test(f)).sort();
    assert.deepEqual(files, ['/artifact', '/bin/busybox']);
    sb.ok(['build', '-t', 'builder-only', '--target', 'builder', dir]);
    assert.equal(sb.ok(['run', '--rm', 'builder-only', 'cat', '/junk']), 'junk\n');
  });

  test('RUN --mount=type=cache keeps its content between builds and is not in the image; a secret is readable and in no layer or history', () => {
    const secretFile = join(ctxRoot, 'token');
    writeFileSync(secretFile, 'TOPSECRET-4711\n');
    const dir = context({
      Containerfile: [
        'FROM busybox',
        'RUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /runs',
        'RUN --mount=type=secret,id=tok grep -c TOPSECRET /run/secrets/tok > /secret-seen',
      ].join('\n'),
    });
    const id1 = sb.ok(['build', '-q', '--secret', `id=tok,src=${secretFile}`, dir]).trim();
    assert.equal(sb.ok(['run', '--rm', id1, 'cat', '/runs', '/secret-seen']), '1\n1\n');
    const id2 = sb.ok(['build', '-q', '--no-cache', '--secret', `id=tok,src=${secretFile}`, dir]).trim();
    assert.equal(sb.ok(['run', '--rm', id2, 'cat', '/runs']), '2\n', 'the cache mount kept the first build\'s line');
    assert.equal(sb.ok(['run', '--rm', id2, 'sh', '-c', 'ls -A /var/cache/app 2>/dev/null; ls -A /run/secrets 2>/dev/null; true']), '', 'neither mount is in the image');
    const archive = join(ctxRoot, 'secret-image.tar');
    sb.ok(['save', '-o', archive, id2]);
    const extracted = mkdtempSync(join(ctxRoot, 'saved-'));
    spawnSync('tar', ['-xf', archive, '-C', extracted]);
    const grep = spawnSync('sh', ['-c', `for f in $(find ${extracted} -type f); do case $f in *.tar) tar -xOf $f;; *) cat $f;; esac; done | grep -c TOPSECRET-4711`], { encoding: 'utf8' });
    assert.equal(grep.stdout.trim(), '0', 'the secret is in no layer and no config');
    assert.doesNotMatch(sb.ok(['history', '--no-trunc', id2]), /TOPSECRET-4711/);
  });

  test('a build context on stdin (-), --iidfile, --build-arg, --label', () => {
    const dir = context({ Containerfile: 'FROM busybox\nARG WHO=nobody\nRUN echo "hi $WHO" > /hi\n' });
    const tar = spawnSync('tar', ['-C', dir, '-cf', '-', '.']);
    const iid = join(ctxRoot, 'iid');
    const r = spawnSync(process.execPath, ['--', process.env.ROOTLET_BIN!, 'build', '-q', '--iidfile', iid, '--build-arg', 'WHO=you', '--label', 'made=stdin', '-'], { env: sb.env, input: tar.stdout });
    assert.equal(r.status, 0, r.stderr.toString());
    const id = readFileSync(iid, 'utf8');
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(sb.ok(['run', '--rm', id, 'cat', '/hi']), 'hi you\n');
    assert.equal(sb.ok(['image', 'inspect', '-f', '{{index .Config.Labels "made"}}', id]).trim(), 'stdin');
    assert.deepEqual(readdirSync(sb.path('data/rootlet/tmp')).filter((f) => f.startsWith('build')), [], 'the unpacked context is gone');
  });

  test('--output type=local and type=tar write the image\'s file system', () => {
    const dir = context({ Containerfile: 'FROM scratch\nCOPY a.txt /in/a.txt\n', 'a.txt': 'out\n' });
    const local = join(ctxRoot, 'out-dir');
    sb.ok(['build', '-q', '--output', `type=local,dest=${local}`, dir]);
    assert.equal(readFileSync(join(local, 'in/a.txt'), 'utf8'), 'out\n');
    const tarFile = join(ctxRoot, 'out.tar');
    sb.ok(['build', '-q', '-o', `type=tar,dest=${tarFile}`, dir]);
    assert.match(spawnSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).stdout, /^in\/a\.txt$/m);
    assert.equal(sb.ok(['ps', '-a', '-q']), '', 'the exporting container is gone');
  });

  test('ADD of a URL (a server on loopback): the file, mode 0600; one that cannot be fetched fails at once, naming why', async () => {
    // The server runs in a process of its own: sb.run blocks this one.
    const server = spawn(process.execPath, ['-e', `
      const s = require('node:http').createServer((q, r) => { if (q.url === '/files/fetched.txt') r.end('fetched\\n'); else { r.statusCode = 404; r.end(); } });
      s.listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<string>((resolve) => server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
      const dir = context({ Containerfile: `FROM busybox\nADD http://127.0.0.1:${port}/files/fetched.txt /got/\n` });
      const id = sb.ok(['build', '-q', dir]).trim();
      assert.equal(sb.ok(['run', '--rm', id, 'stat', '-c', '%a %u %s', '/got/fetched.txt']), '600 0 8\n');
      const before = state();
      refused(sb.run(['build', context({ Containerfile: `FROM busybox\nADD http://127.0.0.1:${port}/missing /x\n` })]), 1,
        /Containerfile:2: ADD http:\/\/127\.0\.0\.1:\d+\/missing: cannot fetch it: the server answered 404/, 'a 404');
      refused(sb.run(['build', context({ Containerfile: 'FROM busybox\nADD http://127.0.0.1:2/x /x\n' })]), 1,
        /Containerfile:2: ADD http:\/\/127\.0\.0\.1:2\/x: cannot fetch it: .*ECONNREFUSED/, 'nothing listening');
      assert.deepEqual(state(), before);
    } finally {
      server.kill();
    }
  });

  test('bad input: FILE:LINE in one line, exit 1, nothing left behind', () => {
    const secretless = 'FROM busybox\nRUN --mount=type=secret,id=nope cat /run/secrets/nope\n';
    const cases: Array<[string, Record<string, string>, RegExp, string[]?]> = [
      ['unknown instruction', { Containerfile: 'FROM busybox\n\nFOO bar\n' }, /Containerfile:3: unknown instruction: FOO/],
      ['COPY outside the context', { Containerfile: 'FROM busybox\nCOPY ../x /x\n' }, /Containerfile:2: COPY \.\.\/x: forbidden path outside the build context/],
      ['COPY of a missing file', { Containerfile: 'FROM busybox\nCOPY nothere.txt /x\n' }, /Containerfile:2: COPY failed: nothere.txt: no such file or directory in the build context/],
      ['a glob that matches nothing', { Containerfile: 'FROM busybox\nCOPY *.nope /x/\n' }, /Containerfile:2: COPY failed: \*\.nope: no source files were specified/],
      ['a stage used before it is built', { Containerfile: 'FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nFROM a\n' }, /Containerfile:2: --from=b: stage "b" is not built before this one/],
      ['a missing secret', { Containerfile: secretless }, /Containerfile:2: RUN --mount=type=secret,id=nope: no such secret: give it with --secret id=nope,src=FILE/],
      ['a failing RUN', { Containerfile: 'FROM busybox\nRUN exit 3\n' }, /Containerfile:2: RUN exit 3: the command exited with code 3/],
      ['an instruction before FROM', { Containerfile: 'RUN true\nFROM busybox\n' }, /Containerfile:1: RUN before the first FROM/],
      ['a bad substitution', { Containerfile: 'FROM busybox\nENV A=${B:?must be set}\n' }, /Containerfile:2: ENV: B: must be set/],
      ['an unclosed here-document', { Containerfile: 'FROM busybox\nRUN <<EOF\necho\n' }, /Containerfile:2: here-document "EOF" is not closed/],
      ['an unknown target', { Containerfile: 'FROM busybox\n' }, /target stage "nope" could not be found in Containerfile/, ['--target', 'nope']],
      ['a missing image', { Containerfile: 'FROM 127.0.0.1:9/absent/image:1\n' }, /Containerfile:1: FROM 127\.0\.0\.1:9\/absent\/image:1: /],
    ];
    const before = state();
    for (const [what, files, re, extra] of cases) {
      const dir = context(files);
      refused(sb.run(['build', ...(extra ?? []), dir]), 1, re, what);
      assert.deepEqual(state(), before, `${what}: nothing left behind`);
    }
    refused(sb.run(['build', join(ctxRoot, 'no-such-dir')]), 1, /build context .*no-such-dir: no such directory/, 'a missing context');
    refused(sb.run(['build', '--secret', `id=x,src=${join(ctxRoot, 'no-such-secret')}`, context({ Containerfile: 'FROM busybox\n' })]), 1, /--secret id=x: .*no-such-secret: no such file/, 'a missing secret file');
    refused(sb.run(['build', '-f', '-', context({})], { input: 'FROM busybox\nBAD x\n' }), 1, /Containerfile \(standard input\):2: unknown instruction: BAD/, 'a Containerfile on stdin');
    refused(sb.run(['build', '-t', 'Bad:Name', context({ Containerfile: 'FROM busybox\n' })]), 1, /invalid reference format/, 'a bad tag');
    assert.deepEqual(state(), before, 'nothing left behind');
  });

  test('Ctrl-C stops a build cleanly: no container, no temporary file left', async () => {
    const dir = context({ Containerfile: 'FROM busybox\nRUN echo started; sleep 60\n' });
    const before = state();
    const child = sb.spawn(['build', dir]);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
    await until('the RUN step runs', () => out.includes('started'), 60_000);
    child.kill('SIGINT');
    const code = await exited;
    assert.notEqual(code, 0);
    assert.deepEqual(state(), before);
  });

  test('commit: a container\'s changes as an image, with -c and -m', () => {
    sb.ok(['run', '--name', 'tocommit', 'busybox', 'sh', '-c', 'echo changed > /changed && rm /bin/vi']);
    const id = sb.ok(['commit', '-c', 'CMD ["cat", "/changed"]', '-m', 'my change', 'tocommit', 'committed:1']).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(sb.ok(['run', '--rm', 'committed:1']), 'changed\n');
    assert.equal(sb.ok(['run', '--rm', 'committed:1', 'sh', '-c', 'test -e /bin/vi || echo gone']), 'gone\n');
    assert.match(sb.ok(['history', '--format', '{{.Comment}}', 'committed:1']), /^my change$/m);
    sb.ok(['rm', 'tocommit']);
  });

  test('builder prune removes the cache and its step images; a rebuild then builds again', () => {
    const dir = context({ Containerfile: 'FROM busybox\nRUN echo x > /x\n' });
    sb.ok(['build', '-q', dir]);
    assert.match(sb.ok(['build', dir]), /Using cache/);
    sb.ok(['builder', 'prune', '-f']);
    assert.doesNotMatch(sb.ok(['build', dir]), /Using cache/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('build: independent stages', () => {
  let sb: Sandbox;
  before(() => {
    sb = new Sandbox('build-parallel');
    sb.importBusybox('busybox');
  });
  after(() => sb.destroy());

  test('two independent stages run at the same time (each waits for the other\'s mark in a shared cache mount)', () => {
    const dir = mkdtempSync(join(sb.root, 'ctx-'));
    // Built one after the other, the first stage would wait for a mark that never comes and fail.
    const wait = (me: string, other: string) => `RUN --mount=type=cache,id=sync-$TAG,target=/s touch /s/${me} && i=0; while [ ! -e /s/${other} ] && [ $i -lt 1200 ]; do i=$((i+1)); sleep 0.1; done; test -e /s/${other} && echo ${me} > /${me}`;
    writeFileSync(join(dir, 'Containerfile'), [
      'FROM busybox AS a', 'ARG TAG', wait('a', 'b'),
      'FROM busybox AS b', 'ARG TAG', wait('b', 'a'),
      'FROM scratch', 'COPY --from=a /a /a', 'COPY --from=b /b /b',
    ].join('\n'));
    const out = sb.ok(['build', '--build-arg', `TAG=${process.pid}`, '-t', 'both', dir]);
    assert.match(out, /^\[1\/3\] STEP/m);
    assert.match(out, /^\[2\/3\] STEP/m);
    sb.ok(['rmi', 'both']);
  });

  test('system reset also deletes cache mounts holding files of other container users', () => {
    const dir = mkdtempSync(join(sb.root, 'ctx-'));
    writeFileSync(join(dir, 'Containerfile'), 'FROM busybox\nRUN --mount=type=cache,target=/c mkdir -p /c/d && touch /c/d/f && chown -R 1000:1000 /c/d && chmod 700 /c/d\n');
    sb.ok(['build', '-q', dir]);
    assert.ok(existsSync(sb.path('data/rootlet/build-cache-mounts')));
    sb.ok(['system', 'reset', '--force']);
    assert.ok(!existsSync(sb.path('data/rootlet/build-cache-mounts')), 'the cache mounts are gone');
  });
});
