import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asUser, BIN, SCRIPTS, shq, type Result } from '../helpers.js';

// The kernel's key quota is per user and machine-wide: filling it as
// rootlet-ci would fail the containers of every other test running at the
// same time. This file runs as rootlet-ci2, whom the rest of the suite uses
// only for `ps`, `rm`, `kill` and `ls` (isolation.test.ts), none of which
// needs a key, and for containers with keyring = false (policy.test.ts),
// and holds the quota full only inside one `keyctl session`.

const USER = 'rootlet-ci2';

describe('the kernel key quota: one line with the limit and the fixes; keyring = false runs without a keyring per container', () => {
  const pw = spawnSync('getent', ['passwd', USER], { encoding: 'utf8' }).stdout.split(':');
  let root = '';
  let env: Record<string, string> = {};
  const rootlet = `${shq(process.execPath)} ${shq(BIN)}`;

  /** Runs a bash script as the second user, with its sandbox's store. */
  const as = (script: string): Result => asUser(USER, ['bash', '-c', `umask 022; ${script}`], env);
  const ok = (script: string): string => {
    const r = as(script);
    if (r.code !== 0) throw new Error(`${script} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const result = (name: string): Result => ({
    code: Number(readFileSync(join(root, `${name}.rc`), 'utf8')),
    stdout: readFileSync(join(root, `${name}.out`), 'utf8'),
    stderr: readFileSync(join(root, `${name}.err`), 'utf8'),
  });

  before(() => {
    root = asUser(USER, ['mktemp', '-d', '/tmp/rootlet-keyring-XXXXXX']).stdout.trim();
    assert.ok(root, 'mktemp as the second user');
    env = {
      HOME: pw[5]!, USER, PATH: '/usr/local/bin:/usr/bin:/bin',
      XDG_DATA_HOME: join(root, 'data'), XDG_CONFIG_HOME: join(root, 'config'), XDG_RUNTIME_DIR: join(root, 'run'),
    };
    // The results are read by this (the first) user: the directory is readable, the store below it stays private.
    ok(`chmod 0755 ${shq(root)} && mkdir -m 0700 ${shq(env.XDG_RUNTIME_DIR!)} && mkdir -p ${shq(join(root, 'config/rootlet'))}`);
    ok(`bash ${shq(join(SCRIPTS, 'make-busybox-rootfs.sh'))} ${shq(join(root, 'busybox.tar'))} && ${rootlet} import ${shq(join(root, 'busybox.tar'))} busybox`);
  });

  after(() => {
    if (!root) return;
    as(`${rootlet} system reset --force`);
    as(`rm -rf ${shq(root)}`);
  });

  test('with the quota full, run -d and run fail with exit 125 and one line, leave nothing running; keyring = false runs', () => {
    const step = (name: string, args: string) => `${rootlet} ${args} >${name}.out 2>${name}.err; echo $? >${name}.rc`;
    // Every key the user may still have goes into this session's keyring (freed with it by `keyctl clear`).
    const script = [
      `cd ${shq(root)}`,
      'i=0; while keyctl add user "k$i" v @s >/dev/null 2>&1; do i=$((i+1)); done',
      `grep "^ *$(id -u):" /proc/key-users > usage`,
      step('detached-rm', 'run -d --rm --name full-rm busybox sleep 300'),
      step('detached', 'run -d --name full-kept busybox sleep 300'),
      step('foreground', 'run --rm busybox true'),
      'printf "[containers]\\nkeyring = false\\n" > config/rootlet/rootlet.toml',
      step('shared', 'run -d --name shared busybox sleep 300'),
      step('shared-fg', 'run --rm busybox echo hello'),
      'keyctl clear @s',
    ].join('\n');
    ok(`keyctl session - bash -c ${shq(script)} >/dev/null`);
    const usage = readFileSync(join(root, 'usage'), 'utf8');
    const m = /(\d+)\/(\d+) (\d+)\/(\d+)\s*$/.exec(usage.trim());
    assert.ok(m && m[1] === m[2], `the quota is full: ${usage}`);

    for (const name of ['detached-rm', 'detached', 'foreground']) {
      const r = result(name);
      assert.equal(r.code, 125, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `${name}: one line: ${r.stderr}`);
      assert.match(lines[0]!, new RegExp(`^Error: cannot start the container: the kernel's per-user key quota is full, .* \\(in use: ${m![1]} of kernel\\.keys\\.maxkeys=${m![2]} keys, `));
      assert.match(lines[0]!, /`sysctl -w kernel\.keys\.maxkeys=\d+ kernel\.keys\.maxbytes=\d+`/);
      assert.match(lines[0]!, /`keyring = false` under \[containers\]/);
    }

    // --rm leaves no container; without it the container is kept as Created, as Docker keeps one whose start failed.
    const ps = ok(`${rootlet} ps -a --format '{{.Names}} {{.Status}}'`);
    assert.doesNotMatch(ps, /full-rm/);
    assert.match(ps, /^full-kept Created$/m);
    const kept = ok(`${rootlet} inspect -f '{{.Id}}' full-kept`).trim();
    // Nothing of it runs, and the runtime holds no state for it.
    assert.deepEqual(spawnSync('pgrep', ['-af', kept], { encoding: 'utf8' }).stdout.trim(), '');
    assert.equal(as(`test -e ${shq(join(env.XDG_RUNTIME_DIR!, 'rootlet/runc', kept))}`).code, 1);

    const shared = result('shared');
    assert.equal(shared.code, 0, shared.stderr);
    assert.equal(shared.stderr, '');
    assert.match(ok(`${rootlet} ps --format '{{.Names}} {{.Status}}'`), /^shared Up /m);
    const fg = result('shared-fg');
    assert.deepEqual([fg.code, fg.stdout, fg.stderr], [0, 'hello\n', '']);
    ok(`${rootlet} rm -f shared full-kept`);
  });

  test('a malformed keyring value is refused naming the file', () => {
    ok(`printf '[containers]\\nkeyring = "no"\\n' > ${shq(join(root, 'config/rootlet/rootlet.toml'))}`);
    const r = as(`${rootlet} ps`);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: .*rootlet\.toml: containers\.keyring must be true or false\n$/);
    ok(`rm ${shq(join(root, 'config/rootlet/rootlet.toml'))}`);
  });
});
