import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { BIN, Sandbox, shq } from '../helpers.js';
import { join } from 'node:path';
import { countLines, destroyHard, logs, markerFor, processesMentioning, psStatus, storeDirs, waitFor } from '../lifecycle-helpers.js';

// Both runtimes, side by side: crun is the default (also on this hybrid
// cgroup host, where rootlet's namespace hides the v2 tree crun refuses),
// runc is kept per container when asked for. The rest of the suite runs
// under the default; this file keeps runc's paths exercised.


describe('OCI runtimes: crun by default, runc on request, each container keeps its own', () => {
  const sb = new Sandbox('runtimes');

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb));

  test('info names crun; a new container records crun, or runc with --runtime runc', () => {
    const info = JSON.parse(sb.ok(['info', '--format', 'json'])) as { runtime: { name: string } };
    assert.equal(info.runtime.name, 'crun');
    sb.ok(['create', '--name', 'by-default', 'busybox', 'true']);
    sb.ok(['create', '--name', 'on-runc', '--runtime', 'runc', 'busybox', 'true']);
    assert.equal(sb.ok(['inspect', '-f', '{{.HostConfig.Runtime}}', 'by-default']).trim(), 'crun');
    assert.equal(sb.ok(['inspect', '-f', '{{.HostConfig.Runtime}}', 'on-runc']).trim(), 'runc');
    sb.ok(['rm', 'by-default', 'on-runc']);
  });

  for (const runtime of ['crun', 'runc']) {
    test(`${runtime}: foreground run, exit codes 127/126, detached run, exec, stop, restart policy, rm`, async () => {
      const flag = ['--runtime', runtime];
      assert.equal(sb.ok(['run', '--rm', ...flag, 'busybox', 'sh', '-c', 'echo hello; id -u']), 'hello\n0\n');
      assert.equal(sb.run(['run', '--rm', ...flag, 'busybox', 'sh', '-c', 'exit 7']).code, 7);
      assert.equal(sb.run(['run', '--rm', ...flag, 'busybox', 'no-such-command']).code, 127);
      assert.equal(sb.run(['run', '--rm', ...flag, 'busybox', '/etc/passwd']).code, 126);

      const name = `box-${runtime}`;
      sb.ok(['run', '-d', '--name', name, ...flag, 'busybox', 'sh', '-c', 'trap "exit 143" TERM; echo started; while :; do sleep 0.1; done']);
      await waitFor(`${name} to start`, () => logs(sb, name).includes('started'));
      assert.equal(sb.ok(['exec', name, 'cat', '/proc/1/cmdline']).split('\0')[0], 'sh');
      assert.equal(sb.run(['exec', name, 'sh', '-c', 'exit 5']).code, 5);
      assert.equal(sb.ok(['stop', name]).trim(), name);
      assert.match(psStatus(sb, name) ?? '', /^Exited \(143\) /);
      sb.ok(['rm', name]);

      // The exit hook (inside the namespace) must find the same runtime to delete and restart with.
      const flaky = `flaky-${runtime}`;
      sb.ok(['run', '-d', '--name', flaky, ...flag, '--restart', 'on-failure:1', 'busybox', 'sh', '-c', 'echo run; exit 3']);
      await waitFor(`${flaky} to run twice`, () => countLines(logs(sb, flaky), 'run') >= 2);
      await waitFor(`${flaky} to stay Exited (3)`, () => /^Exited \(3\) /.test(psStatus(sb, flaky) ?? ''));
      sb.ok(['rm', flaky]);
    });
  }

  for (const runtime of ['crun', 'runc']) {
    test(`${runtime}: rm -f kills a container whose runtime state is gone (logind deletes $XDG_RUNTIME_DIR at logout)`, async () => {
      const marker = markerFor(sb, `stateless-${runtime}`);
      const id = sb.ok(['run', '-d', '--runtime', runtime, 'busybox', 'sh', '-c', `while :; do sleep 0.1; done; : ${marker}`]).trim();
      await waitFor('the container to run', () => processesMentioning(marker).length > 0);
      sb.ok(['unshare', 'rm', '-rf', join(storeDirs(sb).runc, id)]);
      assert.equal(sb.ok(['rm', '-f', id]).trim(), id);
      await waitFor('its processes to end', () => processesMentioning(marker).length === 0, 15_000, 50);
    });
  }

  test('exec -t and run -t get a terminal, with or without one on our side (crun, through the console relay); all the output arrives', () => {
    sb.ok(['run', '-d', '--name', 'tty-box', 'busybox', 'sleep', '1000']);
    const lines = 'seq 1 5000 | md5sum; tty; exit 3';
    const sum = spawnSync('sh', ['-c', 'seq 1 5000 | md5sum'], { encoding: 'utf8' }).stdout.split(' ')[0]!;
    for (const args of [['exec', '-t', 'tty-box', 'sh', '-c', lines], ['run', '--rm', '-t', 'busybox', 'sh', '-c', lines]]) {
      const cmd = [process.execPath, BIN, ...args].map(shq).join(' ');
      const inScript = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: sb.env, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
      const none = sb.run(args);
      for (const r of [{ code: inScript.status, stdout: inScript.stdout, stderr: inScript.stderr }, none]) {
        assert.equal(r.code, 3, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`^${sum}  -\\r\\n/dev/pts/\\d+\\r\\n$`), JSON.stringify(r.stdout));
      }
    }
    sb.ok(['rm', '-f', 'tty-box']);
  });

  test('runc, which opens /dev/tty for a terminal it allocates: -t without any terminal is one clear line (125)', () => {
    const none = sb.run(['run', '--rm', '-t', '--runtime', 'runc', 'busybox', 'tty']);
    assert.equal(none.code, 125, none.stdout + none.stderr);
    assert.match(none.stderr, /^Error: -t needs a terminal on stdin or stdout with runc: run from a terminal, or drop -t\n$/);
  });

});
