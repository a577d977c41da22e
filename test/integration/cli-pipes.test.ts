import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { BIN, busyboxTarball, Sandbox } from '../helpers.js';

/**
 * Issue 12, items 5 and 7: a reader that goes away ends every command
 * quietly (status 141, as the Docker CLI killed by SIGPIPE; nothing on
 * stderr), and the global flags before the command.
 */
describe('pipes and global flags', () => {
  const sb = new Sandbox('cli-pipes');

  before(() => {
    sb.importBusybox();
    // Far more output than a pipe holds, so the writer is still writing when the reader leaves.
    sb.ok(['run', '-d', '--name', 'chatty', 'busybox', 'sh', '-c', 'seq 1 200000']);
    assert.equal(sb.ok(['wait', 'chatty']).trim(), '0');
  });
  after(() => sb.destroy());

  /** `rootlet ARGS | READER` in bash: rootlet's status and stderr. */
  function piped(args: string[], reader: string): { code: number; stderr: string; stdout: string } {
    const quoted = args.map((a) => `'${a}'`).join(' ');
    const r = spawnSync('bash', ['-c', `"$0" -- "$1" ${quoted} 2>"$2" | ${reader} >/dev/null; echo "\${PIPESTATUS[0]}"; cat "$2"`, process.execPath, BIN, sb.path('stderr')], {
      env: sb.env, cwd: sb.root, encoding: 'utf8', timeout: 120_000,
    });
    const [code, ...rest] = r.stdout.split('\n');
    return { code: Number(code), stderr: rest.join('\n').trim(), stdout: r.stdout };
  }

  for (const [args, reader] of [
    [['logs', 'chatty'], 'head -1'],
    [['logs', '-t', 'chatty'], 'head -c 1'],
    [['export', 'chatty'], 'head -c 100'],
    [['cp', 'chatty:/bin', '-'], 'head -c 100'],
    [['save', 'busybox'], 'head -c 100'],
    [['inspect', 'chatty'], 'true'],
    [['ps', '-a'], 'true'],
    [['images'], 'true'],
  ] as const) {
    test(`${args.join(' ')} | ${reader}: ends quietly`, () => {
      const r = piped([...args], reader);
      assert.equal(r.stderr, '', `stderr of ${args.join(' ')}: ${r.stderr}`);
      // 141 when the write met the closed pipe, 0 when everything fitted before the reader left.
      assert.ok(r.code === 141 || r.code === 0, `status ${r.code}`);
    });
  }

  test('an unknown command or flag: the hint names rootlet --help or the known command, never the bad word', () => {
    const unknown = sb.run(['--log-level', 'debug', 'nosuch']);
    assert.equal(unknown.code, 125);
    assert.equal(unknown.stderr, "error: unknown command 'nosuch'\nSee 'rootlet --help'.\n");
    const flag = sb.run(['--bogus', 'ps']);
    assert.equal(flag.code, 125);
    assert.match(flag.stderr, /See 'rootlet --help'\.\n$/);
    const sub = sb.run(['network', 'ls', '--bogus']);
    assert.equal(sub.code, 125);
    assert.match(sub.stderr, /See 'rootlet network ls --help'\.\n$/);
    const group = sb.run(['network', 'nosuch']);
    assert.equal(group.code, 125);
    assert.match(group.stderr, /See 'rootlet network --help'\.\n$/);
  });

  test('-D and --debug are accepted before the command', () => {
    assert.match(sb.ok(['-D', 'ps', '-a']), /chatty/);
    assert.match(sb.ok(['--debug', 'ps', '-a']), /chatty/);
    const bad = sb.run(['--log-level', 'loud', 'ps']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /^error: option '--log-level <level>' argument 'loud' is invalid|log level/);
  });

  test('--root and --runroot put the store and the runtime state where they say, for the exit hook too', async () => {
    const root = sb.path('other-root');
    const run = sb.path('other-run');
    const g = ['--root', root, '--runroot', run];
    assert.equal(sb.ok([...g, 'images', '-q']), '');
    sb.ok([...g, 'import', busyboxTarball(), 'elsewhere']);
    assert.ok(existsSync(`${root}/state.db`));
    assert.ok(readdirSync(run).length > 0);
    // The default store does not see it, and the other store does not see the default's.
    assert.doesNotMatch(sb.ok(['images']), /elsewhere/);
    assert.doesNotMatch(sb.ok([...g, 'ps', '-a']), /chatty/);
    // A detached container's exit is recorded by conmon's hook, which must find the same store.
    const id = sb.ok([...g, 'run', '-d', 'elsewhere', 'sh', '-c', 'exit 7']).trim();
    assert.equal(sb.ok([...g, 'wait', id]).trim(), '7');
    const deadline = Date.now() + 30_000;
    let status = '';
    while (Date.now() < deadline) {
      status = sb.ok([...g, 'ps', '-a', '--format', '{{.Status}}', '--filter', `id=${id}`]).trim();
      if (/^Exited \(7\)/.test(status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(status, /^Exited \(7\)/);
    sb.ok([...g, 'system', 'reset', '--force']);
  });

});
