import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

// rootlet-mount-exec (src/storage/mount-exec.c) mounts a container's
// overlay root in a mount namespace of its own and execs the monitor (a
// detached start) or runs the runtime as its child (a foreground one, with
// --exit-file). Run here in a user namespace of the test's own (`unshare
// -Ur`), as rootless containers are.

const here = dirname(fileURLToPath(import.meta.url));
const PROGRAM = resolve(here, '../../../dist/rootlet-mount-exec');
const dir = mkdtempSync(join(tmpdir(), 'mount-exec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const userNamespaces = spawnSync('unshare', ['-Ur', 'true']).status === 0;

function inUserNs(args: string[]) {
  return spawnSync('unshare', ['-Ur', PROGRAM, ...args], { encoding: 'utf8' });
}

describe('rootlet-mount-exec', () => {
  const layers = join(dir, 'layers');
  const c = join(dir, 'c');
  for (const d of [join(layers, 'a'), join(layers, 'b'), join(c, 'upper'), join(c, 'work'), join(c, 'merged')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(layers, 'a', 'bottom'), 'a');
  writeFileSync(join(layers, 'b', 'top'), 'b');
  const options = `lowerdir=b:a,upperdir=${c}/upper,workdir=${c}/work,userxattr`;

  test('mounts the layers, named from the directory it runs in, and runs the command there', (t) => {
    if (!userNamespaces) return t.skip('no unprivileged user namespaces here');
    const r = inUserNs([layers, options, `${c}/merged`, '--', 'sh', '-c', `pwd; ls ${c}/merged; grep -c " ${c}/merged " /proc/self/mountinfo`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${layers}\nbottom\ntop\n1\n`);
    // The mount was the namespace's alone.
    assert.equal(spawnSync('grep', ['-c', ` ${c}/merged `, '/proc/self/mountinfo']).stdout.toString().trim(), '0');
  });

  test('a mount that fails is one line and exit 125; a command that cannot run, 127', (t) => {
    if (!userNamespaces) return t.skip('no unprivileged user namespaces here');
    const bad = inUserNs([layers, options.replace('lowerdir=b:a', 'lowerdir=missing'), `${c}/merged`, '--', 'true']);
    assert.equal(bad.status, 125);
    assert.equal(bad.stderr, "rootlet: cannot mount the container's root filesystem (overlay): No such file or directory\n");
    const missing = inUserNs([layers, options, `${c}/merged`, '--', '/no/such/monitor']);
    assert.equal(missing.status, 127);
    assert.equal(missing.stderr, 'rootlet: cannot run /no/such/monitor: No such file or directory\n');
  });

  test('--exit-file: the command runs as its child, gets the signals passed on, and its status is recorded', (t) => {
    if (!userNamespaces) return t.skip('no unprivileged user namespaces here');
    const exitFile = join(dir, 'exit');
    const r = inUserNs(['--exit-file', exitFile, layers, options, `${c}/merged`, '--', 'sh', '-c', 'exit 7']);
    assert.equal(r.status, 7, r.stderr);
    assert.equal(readFileSync(exitFile, 'utf8'), '7');
    // A TERM sent to it once the command runs (its handlers are set before it forks) reaches the command: 128+15, as a shell says.
    const killed = spawnSync('sh', ['-c', `unshare -Ur ${PROGRAM} --exit-file ${exitFile} ${layers} ${options} ${c}/merged -- sleep 30 & p=$!; until pgrep -P $p -x sleep >/dev/null; do sleep 0.05; done; kill -TERM $p; wait $p`], { encoding: 'utf8' });
    assert.equal(killed.status, 143, killed.stderr);
    assert.equal(readFileSync(exitFile, 'utf8'), '143');
  });

  test('without its separator it says how to call it', () => {
    const r = spawnSync(PROGRAM, ['a', 'b', 'c', 'd', 'true'], { encoding: 'utf8' });
    assert.equal(r.status, 125);
    assert.match(r.stderr, /^usage: rootlet-mount-exec \[--exit-file FILE\] DIR OPTIONS MERGED -- COMMAND ARGS/);
  });
});
