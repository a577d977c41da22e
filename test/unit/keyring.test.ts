import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isKeyringQuotaError, keyQuotaFull, keyQuotaMessage, readKeyQuota } from '../../src/runtime/keyring.js';
import { createArgs } from '../../src/runtime/runtime.js';

// The runtimes' own words when the kernel refuses a container's session
// keyring (as crun 1.8 and runc 1.1 print them on this host).
const CRUN = 'create keyring `0c59e96f41cbd7c7f7234de82b3eca519392e324cfa246fe3f7afd7139e98e9d`: Disk quota exceeded';
const RUNC = 'runc create failed: unable to start container process: error during container init: unable to join session keyring: unable to create session key: disk quota exceeded';

describe('the kernel key quota', () => {
  const root = mkdtempSync(join(tmpdir(), 'rootlet-keys-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const host = (name: string, keyUsers: string, sysctls = { maxkeys: 200, maxbytes: 20000, root_maxkeys: 1000000, root_maxbytes: 25000000 }) => {
    const dir = join(root, name);
    mkdirSync(join(dir, 'proc/sys/kernel/keys'), { recursive: true });
    for (const [k, v] of Object.entries(sysctls)) writeFileSync(join(dir, 'proc/sys/kernel/keys', k), `${v}\n`);
    writeFileSync(join(dir, 'proc/key-users'), keyUsers);
    return dir;
  };
  const users = '    0:     9 8/8 3/1000000 56/25000000\n 1000:   200 200/200 200/200 1997/20000\n 1001:     6 6/6 6/200 108/20000\n';

  test('reads the user\'s usage and limits from /proc/key-users, the sysctl names for the fix', () => {
    const dir = host('full', users);
    assert.deepEqual(readKeyQuota(1000, dir), { keys: 200, bytes: 1997, maxKeys: 200, maxBytes: 20000, keysSysctl: 'kernel.keys.maxkeys', bytesSysctl: 'kernel.keys.maxbytes' });
    assert.equal(keyQuotaFull(readKeyQuota(1000, dir)!), true);
    assert.equal(keyQuotaFull(readKeyQuota(1001, dir)!), false);
    // A user with no key yet has no line: nothing is charged.
    assert.deepEqual(readKeyQuota(1002, dir), { keys: 0, bytes: 0, maxKeys: 200, maxBytes: 20000, keysSysctl: 'kernel.keys.maxkeys', bytesSysctl: 'kernel.keys.maxbytes' });
    // Root's quota has sysctls of its own.
    assert.equal(readKeyQuota(0, dir)!.keysSysctl, 'kernel.keys.root_maxkeys');
    assert.equal(readKeyQuota(0, dir)!.maxKeys, 1000000);
    // No keys support in the kernel: nothing to check.
    assert.equal(readKeyQuota(1000, join(root, 'none')), undefined);
  });

  test('the bytes quota counts too: a keyring costs its name', () => {
    const dir = host('bytes', ' 1000:    20 20/20 20/200 19950/20000\n');
    assert.equal(keyQuotaFull(readKeyQuota(1000, dir)!), true);
  });

  test('crun\'s and runc\'s EDQUOT on the keyring are recognised, nothing else', () => {
    assert.equal(isKeyringQuotaError(CRUN), true);
    assert.equal(isKeyringQuotaError(RUNC), true);
    assert.equal(isKeyringQuotaError('mkdir /sys/fs/cgroup/x: Disk quota exceeded'), false);
    assert.equal(isKeyringQuotaError('exec: "nope": executable file not found in $PATH'), false);
  });

  test('one line: the usage, the sysctl with numbers above the current limits, and keyring = false with what it gives up', () => {
    const msg = keyQuotaMessage(readKeyQuota(1000, host('msg', users)));
    assert.doesNotMatch(msg, /\n/);
    assert.match(msg, /in use: 200 of kernel\.keys\.maxkeys=200 keys, 1997 of kernel\.keys\.maxbytes=20000 bytes/);
    assert.match(msg, /`sysctl -w kernel\.keys\.maxkeys=2000 kernel\.keys\.maxbytes=2000000`/);
    assert.match(msg, /`keyring = false` under \[containers\] in rootlet\.toml, giving up a keyring per container/);
    // Without a reading, still the fixes.
    assert.match(keyQuotaMessage(undefined), /quota is full, and each running container holds a session keyring: .*sysctl -w kernel\.keys\.maxkeys=2000/);
  });

  test('keyring = false is the runtime\'s --no-new-keyring on create and run', () => {
    assert.deepEqual(createArgs({ keyring: true }), []);
    assert.deepEqual(createArgs({ keyring: false }), ['--no-new-keyring']);
  });
});
