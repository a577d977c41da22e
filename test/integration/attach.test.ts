import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Sandbox, until } from '../helpers.js';

describe('attach and start -a', () => {
  const sb = new Sandbox('attach');
  before(() => sb.importBusybox());
  after(() => {
    sb.run(['rm', '-f', 'echoer', 'once', 'stays', 'stopped']);
    sb.destroy();
  });

  test('attach passes input in and output out, and exits with the container\'s code', () => {
    // Two lines, then it ends by itself: a detached container's input stays open after an attach session.
    sb.ok(['run', '-d', '-i', '--name', 'echoer', 'busybox', 'sh', '-c', 'for i in 1 2; do read l; echo "got $l"; echo "err $l" >&2; done; exit 3']);
    const r = sb.run(['attach', 'echoer'], { input: 'one\ntwo\n' });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'got one\ngot two\n');
    assert.equal(r.stderr, 'err one\nerr two\n');
  });

  test('start -a shows the output from the first line and exits with the code', () => {
    sb.ok(['create', '--name', 'once', 'busybox', 'sh', '-c', 'echo first; echo second; exit 4']);
    const r = sb.run(['start', '-a', 'once']);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, 'first\nsecond\n');
  });

  test('the detach keys leave the container running', async () => {
    sb.ok(['run', '-d', '-i', '--name', 'stays', 'busybox', 'sh', '-c', 'while read l; do echo "got $l"; done']);
    const child = sb.spawn(['attach', 'stays'], { stdin: 'pipe' });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stdin!.write('hello\n');
    await until('the echo', () => out.includes('got hello'));
    child.stdin!.write(Buffer.from([0x10, 0x11]));
    const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
    assert.equal(code, 0);
    assert.match(sb.ok(['ps']), /\bstays\b/);
    assert.match(sb.ok(['logs', 'stays']), /got hello/);
  });

  test('attach to a container that is not running is one clear error', () => {
    sb.ok(['create', '--name', 'stopped', 'busybox', 'true']);
    const r = sb.run(['attach', 'stopped']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /not running/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});
