import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { chooseRuntime, createArgs, isSandbox, runtimeArgs, runtimeKind } from '../../src/runtime/runtime.js';
import { EngineError } from '../../src/util/errors.js';

describe('runtimes: runsc (the sandbox) and runtimes named in the config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rootlet-isolation-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const fails = (fn: () => unknown, message: RegExp) => assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.match(e.message, message);
    assert.ok(!e.message.includes('\n'));
    return true;
  });

  test('a configured runtime speaks the dialect its binary is named after; runsc is the sandbox', () => {
    assert.equal(runtimeKind('gvisor', '/opt/gvisor/runsc'), 'runsc');
    assert.equal(runtimeKind('fast', '/usr/local/bin/crun-1.8'), 'crun');
    assert.equal(runtimeKind('youki', '/usr/local/bin/youki'), 'runc');
    assert.equal(runtimeKind('runsc', '/opt/x/gvisor-runtime'), 'runsc');
    assert.equal(isSandbox({ kind: 'runsc' }), true);
    assert.equal(isSandbox({ kind: 'crun' }), false);
  });

  test('a configured runtime whose binary is missing is an error naming the path, never another runtime', () => {
    fails(() => chooseRuntime('gvisor', 'v2', { gvisor: join(dir, 'no-such-runsc') }),
      new RegExp(`^OCI runtime gvisor cannot be used: ${dir}/no-such-runsc \\(from \\[engine\\.runtimes\\] in the config\\) is not an executable file$`));
    const notExec = join(dir, 'runsc-not-exec');
    writeFileSync(notExec, '#!/bin/sh\n');
    fails(() => chooseRuntime('gvisor', 'v2', { gvisor: notExec }), /is not an executable file$/);
    const ok = join(dir, 'runsc');
    writeFileSync(ok, '#!/bin/sh\n');
    chmodSync(ok, 0o755);
    assert.deepEqual(chooseRuntime('gvisor', 'v2', { gvisor: ok }), { name: 'gvisor', kind: 'runsc', path: ok });
    fails(() => chooseRuntime('youki', 'v2', { gvisor: ok }), /^unknown OCI runtime "youki": use one of runc, crun, runsc, gvisor, or name it in \[engine\.runtimes\] of the config$/);
  });

  test('runsc gets its configuration on every command, and no --no-new-keyring (gVisor has its own keyring)', () => {
    const args = runtimeArgs({ kind: 'runsc' }, '/run/r', '/b/runtime.log');
    assert.deepEqual(args.slice(0, 6), ['--root', '/run/r', '--log', '/b/runtime.log', '--log-format', 'json']);
    assert.ok(args.includes('--ignore-cgroups'));
    assert.deepEqual(createArgs({ keyring: false }, { kind: 'runsc' }), []);
    assert.deepEqual(createArgs({ keyring: false }, { kind: 'crun' }), ['--no-new-keyring']);
  });
});
