import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mountsMentioning, Sandbox, until, type Result } from '../helpers.js';

// Issue 13, the rest of BuildKit's everyday features: RUN --mount=type=bind
// from a stage or an image, ONBUILD, cache mounts' sharing, here-document
// scripts with #!. All real: RUN steps are containers in the user's namespace.

function refused(r: Result, re: RegExp, what: string): void {
  assert.equal(r.code, 1, `${what}: exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
  assert.match(lines[0]!, /^Error: /, what);
  assert.match(lines[0]!, re, what);
}

describe('build: more of BuildKit', () => {
  let sb: Sandbox;
  let ctxRoot: string;
  let n = 0;

  const context = (files: Record<string, string>): string => {
    const dir = join(ctxRoot, `ctx${++n}`);
    mkdirSync(dir, { recursive: true });
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
    return dir;
  };
  const state = () => ({
    containers: sb.ok(['ps', '-a', '-q', '--no-trunc']),
    images: sb.ok(['images', '-a', '-q', '--no-trunc']),
    tmp: readdirSync(sb.path('data/rootlet/tmp')).filter((f) => !f.startsWith('probe')).join(' '),
  });
  /** A build in the background: its exit code and output once it ends. */
  const background = (args: string[]) => {
    const child = sb.spawn(['build', ...args]);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    return new Promise<{ code: number; out: string; err: string }>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, out, err })));
  };
  const cacheMount = (id: string) => sb.path('data/rootlet/build-cache-mounts', createHash('sha256').update(id).digest('hex'));

  before(() => {
    sb = new Sandbox('build-features');
    ctxRoot = mkdtempSync(join(sb.root, 'contexts-'));
    sb.importBusybox('busybox');
  });
  after(() => sb.destroy());

  test('RUN --mount=type=bind,from=STAGE|IMAGE: the stage\'s files, read-only; rw writes are discarded; nothing mounted after', () => {
    const dir = context({
      Containerfile: [
        'FROM busybox AS tools',
        'RUN mkdir -p /opt/tool && echo tool-data > /opt/tool/data',
        'FROM busybox',
        'RUN --mount=type=bind,from=tools,source=/opt/tool,target=/mnt/t cat /mnt/t/data > /copied && (touch /mnt/t/x 2>/dev/null && echo writable || echo read-only) > /ro',
        'RUN --mount=type=bind,from=tools,source=opt/tool,target=/mnt/t,rw echo scribble > /mnt/t/data && cat /mnt/t/data > /rw-seen',
        'RUN --mount=type=bind,from=tools,source=/opt/tool,target=/mnt/t cat /mnt/t/data > /after-rw',
        'RUN --mount=type=bind,from=busybox,target=/bb test -x /bb/bin/busybox && echo image > /from-image',
      ].join('\n'),
    });
    const id = sb.ok(['build', '-q', dir]).trim();
    assert.equal(sb.ok(['run', '--rm', id, 'cat', '/copied', '/ro', '/rw-seen', '/after-rw', '/from-image']), 'tool-data\nread-only\nscribble\ntool-data\nimage\n');
    assert.equal(sb.ok(['run', '--rm', id, 'sh', '-c', 'ls -A /mnt/t /bb 2>/dev/null; true']), '', 'the mounts are not in the image');
    assert.deepEqual(mountsMentioning('build-from'), [], 'no stage mount is left');
    assert.deepEqual(readdirSync(sb.path('data/rootlet/tmp')).filter((f) => f.startsWith('build')), []);
  });

  test('RUN --mount=type=bind,from=: a missing source, a symlinked one and an unknown image are refused naming the line; nothing left', () => {
    const before = state();
    refused(sb.run(['build', context({ Containerfile: 'FROM busybox AS a\nFROM busybox\nRUN --mount=type=bind,from=a,source=/nope,target=/m true\n' })]),
      /Containerfile:3: RUN --mount source \/nope: no such file or directory in the stage or image/, 'a missing source');
    refused(sb.run(['build', context({ Containerfile: 'FROM busybox AS a\nRUN ln -s /bin /link\nFROM busybox\nRUN --mount=type=bind,from=a,source=/link,target=/m true\n' })]),
      /Containerfile:4: RUN --mount source \/link: the path goes through a symbolic link/, 'a symbolic link');
    refused(sb.run(['build', context({ Containerfile: 'FROM busybox\nRUN --mount=type=bind,from=127.0.0.1:9/no/image,target=/m true\n' })]),
      /Containerfile:2: --mount from=127\.0\.0\.1:9\/no\/image: no stage or image by that name/, 'an unknown image');
    const after = state();
    // The symlink stage's steps are cached images: only compare what must not stay.
    assert.equal(after.containers, before.containers);
    assert.equal(after.tmp, before.tmp);
    assert.deepEqual(mountsMentioning('build-from'), []);
  });

  test('ONBUILD: an image with triggers, used as a base, runs them (with the child\'s context) and does not pass them on', () => {
    sb.ok(['build', '-q', '-t', 'parent-onbuild', context({ Containerfile: 'FROM busybox\nONBUILD RUN echo triggered > /onbuild\nONBUILD COPY f.txt /f.txt\n' })]);
    assert.equal(sb.ok(['run', '--rm', 'parent-onbuild', 'sh', '-c', 'ls /onbuild /f.txt 2>&1 | wc -l']).trim(), '2', 'the parent itself ran no trigger');
    assert.deepEqual(JSON.parse(sb.ok(['image', 'inspect', '-f', '{{json .Config.OnBuild}}', 'parent-onbuild'])), ['RUN echo triggered > /onbuild', 'COPY f.txt /f.txt']);
    const id = sb.ok(['build', '-q', context({ Containerfile: 'FROM parent-onbuild\nRUN cat /onbuild /f.txt > /both\n', 'f.txt': 'from-child\n' })]).trim();
    assert.equal(sb.ok(['run', '--rm', id, 'cat', '/both']), 'triggered\nfrom-child\n');
    assert.match(sb.ok(['image', 'inspect', '-f', '{{json .Config.OnBuild}}', id]).trim(), /^(null|\[\])$/, 'the triggers are not inherited');
  });

  test('cache mount sharing=locked: a second build waits until the first has released the directory', async () => {
    const dir = cacheMount('lk');
    const first = background(['-q', '--no-cache', context({ Containerfile: 'FROM busybox\nRUN --mount=type=cache,id=lk,target=/c,sharing=locked rm -f /c/* && touch /c/one-start && while [ ! -e /c/go ]; do sleep 0.1; done && touch /c/one-end\n' })]);
    await until('the first build holds the cache', () => existsSync(join(dir, 'one-start')), 120_000);
    const second = background(['-q', '--no-cache', context({ Containerfile: 'FROM busybox\nRUN --mount=type=cache,id=lk,target=/c,sharing=locked if [ -e /c/one-end ]; then echo after; else echo during; fi > /seen\n' })]);
    // The second build's lock holder waits (its shell, naming the lock file, lives until it has the lock).
    await until('the second build waits for the lock', () => processesNaming(`${dir}.lock`) > 0, 120_000);
    writeFileSync(join(dir, 'go'), '');
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    assert.equal(sb.ok(['run', '--rm', b.out.trim().split('\n').pop()!, 'cat', '/seen']), 'after\n');
  });

  test('cache mount sharing=private: a fresh directory while another build uses it, the cache itself when alone', async () => {
    const dir = cacheMount('pv');
    const first = background(['-q', '--no-cache', context({ Containerfile: 'FROM busybox\nRUN --mount=type=cache,id=pv,target=/c touch /c/mark && while [ ! -e /c/go ]; do sleep 0.1; done\n' })]);
    await until('the first build uses the cache', () => existsSync(join(dir, 'mark')), 120_000);
    const privateCtx = context({ Containerfile: 'FROM busybox\nRUN --mount=type=cache,id=pv,target=/c,sharing=private ls -A /c | tr "\\n" " " > /seen; touch /c/private-was-here\n' });
    const busy = sb.ok(['build', '-q', '--no-cache', privateCtx]).trim();
    assert.equal(sb.ok(['run', '--rm', busy, 'cat', '/seen']), '', 'a fresh, empty directory');
    assert.ok(!existsSync(join(dir, 'private-was-here')), 'the fresh directory was not the cache');
    writeFileSync(join(dir, 'go'), '');
    assert.equal((await first).code, 0);
    const alone = sb.ok(['build', '-q', '--no-cache', privateCtx]).trim();
    assert.equal(sb.ok(['run', '--rm', alone, 'cat', '/seen']), 'go mark ');
    assert.deepEqual(readdirSync(sb.path('data/rootlet/tmp')).filter((f) => f.startsWith('build')), [], 'the fresh directory is gone');
  });

  test('a bad sharing= is refused naming the line', () => {
    refused(sb.run(['build', context({ Containerfile: 'FROM busybox\nRUN --mount=type=cache,target=/c,sharing=sometimes true\n' })]),
      /Containerfile:2: RUN --mount=type=cache,sharing=sometimes: use shared, private or locked/, 'sharing=sometimes');
  });

  test('RUN <<EOF whose first line is #!: a script run by that program (so #!/bin/sh -e stops at an error); without #! the shell runs the lines', () => {
    const id = sb.ok(['build', '-q', context({
      Containerfile: [
        'FROM busybox',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "$0" > /argv0',
        'EOF',
        'RUN <<EOF',
        'false',
        'echo reached > /plain',
        'EOF',
      ].join('\n'),
    })]).trim();
    assert.equal(sb.ok(['run', '--rm', id, 'cat', '/argv0', '/plain']), '/dev/pipes/EOF\nreached\n');
    const before = state();
    refused(sb.run(['build', context({ Containerfile: 'FROM busybox\nRUN <<EOF\n#!/bin/sh -e\nfalse\necho not-reached\nEOF\n' })]),
      /Containerfile:2: RUN .*: the command exited with code 1/, '#!/bin/sh -e');
    assert.deepEqual(state(), before, 'nothing left behind');
  });

  test('file capabilities set in a RUN are kept in the layer as Docker keeps them: the container\'s process has them, image audit names them, commit and export keep them too', () => {
    // A long name past ustar's 100 bytes: the path goes in the same PAX header as the capability.
    const long = `/capped/${'d'.repeat(60)}/${'e'.repeat(60)}/busybox`;
    const dir = context({ Containerfile: `FROM busybox\nCOPY setcap-raw /usr/local/bin/\nRUN mkdir -p /capped ${long.slice(0, -8)} && cp /bin/busybox /capped/busybox && cp /bin/busybox ${long} && setcap-raw /capped/busybox && setcap-raw ${long}\n` });
    // busybox has no setcap: a static program that writes the xattr as setcap does, cap_net_bind_service
    // (bit 10) and cap_setuid (bit 7: a byte above 0x7f, which tar-stream's own PAX writing would change),
    // effective. Both are in a container's default set: a file capability the container lacks fails the exec.
    writeFileSync(join(dir, 'setcap.c'), [
      '#include <stdint.h>', '#include <stdio.h>', '#include <sys/xattr.h>',
      'int main(int argc, char **argv) {',
      '  uint32_t cap[5] = { 0x02000001, (1u << 10) | (1u << 7), 0, 0, 0 };',
      '  for (int i = 1; i < argc; i++) if (setxattr(argv[i], "security.capability", cap, sizeof cap, 0)) { perror("setxattr"); return 1; }',
      '  return argc < 2;',
      '}',
    ].join('\n'));
    const cc = spawnSync('gcc', ['-static', '-O1', '-o', join(dir, 'setcap-raw'), join(dir, 'setcap.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, `gcc (scripts/setup-host.sh installs it): ${cc.stderr}`);
    const id = sb.ok(['build', '-q', dir]).trim();
    // A process of a user other than root gets a file's capabilities only from the file: busybox
    // runs an applet named by its first argument when it is itself called busybox.
    const capEff = (image: string, path: string) => sb.ok(['run', '--rm', '--user', '1000', image, path, 'grep', 'CapEff', '/proc/self/status']).trim();
    assert.equal(capEff(id, '/capped/busybox'), 'CapEff:\t0000000000000480', 'the capped copy');
    assert.equal(capEff(id, long), 'CapEff:\t0000000000000480', 'the capped copy with a long name');
    assert.equal(capEff(id, '/bin/busybox'), 'CapEff:\t0000000000000000', 'the plain one');
    const audit = sb.ok(['image', 'audit', id]);
    assert.match(audit, /\/capped\/busybox\b.*CAP_SETUID/, audit);
    assert.match(audit, /CAP_NET_BIND_SERVICE/, audit);
    // commit packs a container's changes the same way.
    sb.ok(['run', '--name', 'capper', id, 'sh', '-c', 'cp /bin/busybox /busybox && setcap-raw /busybox']);
    const committed = sb.ok(['commit', 'capper']).trim();
    sb.ok(['rm', 'capper']);
    assert.equal(capEff(committed, '/busybox'), 'CapEff:\t0000000000000480', 'after commit');
    // export writes them as docker export does, and import reads them back.
    sb.ok(['create', '--name', 'capexp', id, 'true']);
    const tarFile = join(ctxRoot, 'capexp.tar');
    sb.ok(['export', '-o', tarFile, 'capexp']);
    sb.ok(['rm', 'capexp']);
    const imported = sb.ok(['import', tarFile]).trim();
    assert.equal(capEff(imported, '/capped/busybox'), 'CapEff:\t0000000000000480', 'after export and import');
    assert.equal(capEff(imported, '/bin/busybox'), 'CapEff:\t0000000000000000', 'the plain one, after export and import');
  });
});

/** Processes whose command line mentions `text` (this user's). */
function processesNaming(text: string): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) count++;
    } catch { /* gone */ }
  }
  return count;
}
