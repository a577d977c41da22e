import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAnnotations, parseLogConfig, parseMount, parseUlimit } from '../../src/grammar/create-flags.js';
import { checkUlimits, ownHardLimits, ociRlimits } from '../../src/engine/containers/ulimits.js';
import { logSettings } from '../../src/engine/containers/log-config.js';
import { buildRuntimeSpec, specText } from '../../src/runtime/spec.js';
import { fit, LineBlock, progressText } from '../../src/cli/progress-lines.js';

describe('--mount grammar', () => {
  test('Docker\'s keys and aliases, per type', () => {
    assert.deepEqual(parseMount('type=bind,src=./d,dst=/b,ro,bind-propagation=rslave', '/home/u'), { type: 'bind', source: '/home/u/d', target: '/b', readOnly: true, mustExist: true, propagation: 'rslave' });
    assert.deepEqual(parseMount('source=v1,target=/v,readonly=false,volume-opt=a=b=c', '/'), { type: 'volume', source: 'v1', target: '/v', readOnly: false, volumeOptions: { a: 'b=c' } });
    assert.deepEqual(parseMount('type=volume,destination=/anon', '/'), { type: 'volume', target: '/anon', readOnly: false });
    assert.deepEqual(parseMount('type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777', '/'), { type: 'tmpfs', target: '/t', options: [`size=${64 << 20}`, 'mode=1777'] });
  });
  test('refusals name the flag', () => {
    for (const [v, want] of [
      ['type=bind,dst=/b', /field Source must not be empty/],
      ['type=volume,src=v', /field Target must not be empty/],
      ['type=tmpfs,src=x,dst=/t', /field Source must not be specified/],
      ['type=bind,src=/a,dst=/b,volume-opt=x=y', /field VolumeOptions must not be specified/],
      ['type=bind,src=/a,dst=/b,readonly=maybe', /use true or false/],
      ['type=volume,src=/abs,dst=/v', /invalid volume name/],
      ['dst', /must be a key=value pair/],
    ] as Array<[string, RegExp]>) {
      assert.throws(() => parseMount(v, '/'), (e: Error) => /for "--mount" flag/.test(e.message) && want.test(e.message), v);
    }
  });
});

describe('--ulimit', () => {
  test('grammar: NAME=SOFT[:HARD], unlimited as -1', () => {
    assert.deepEqual(parseUlimit('nofile=1024:2048'), { name: 'nofile', soft: 1024, hard: 2048 });
    assert.deepEqual(parseUlimit('nproc=10'), { name: 'nproc', soft: 10, hard: 10 });
    assert.deepEqual(parseUlimit('core=unlimited'), { name: 'core', soft: -1, hard: -1 });
    assert.throws(() => parseUlimit('nofile'), /NAME=SOFT\[:HARD\]/);
  });
  test('the engine refuses what a user namespace cannot have, and writes RLIM_INFINITY exactly', () => {
    const own = ownHardLimits('Max open files            1024                 4096                 files\nMax core file size        0                    unlimited            bytes\n');
    assert.deepEqual(own, { nofile: 4096, core: -1 });
    assert.throws(() => checkUlimits([{ name: 'nofile', soft: 1, hard: 4097 }], own), /above your own hard limit of 4096/);
    assert.throws(() => checkUlimits([{ name: 'nofile', soft: -1, hard: -1 }], own), /above your own hard limit/);
    assert.throws(() => checkUlimits([{ name: 'nofile', soft: 5, hard: 4 }], own), /soft limit 5 is above the hard limit 4/);
    assert.throws(() => checkUlimits([{ name: 'files', soft: 1, hard: 1 }], own), /invalid ulimit type: files/);
    assert.throws(() => checkUlimits([{ name: 'core', soft: 1, hard: 1 }, { name: 'core', soft: 2, hard: 2 }], own), /given twice/);
    assert.deepEqual(checkUlimits([{ name: 'core', soft: -1, hard: -1 }], own), [{ name: 'core', soft: -1, hard: -1 }]);
    const spec = buildRuntimeSpec({
      rootfs: '/r', readonlyRootfs: false, args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [], home: '/' }, terminal: false,
      hostname: 'h', network: 'own', mounts: [], etcFiles: [], cgroupV2: false, rlimits: ociRlimits([{ name: 'core', soft: -1, hard: -1 }]), annotations: { 'com.example': 'x' },
    });
    const text = specText(spec);
    assert.match(text, /"rlimits":\[\{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615\}\]/);
    assert.match(text, /"annotations":\{"com.example":"x"\}/);
  });
});

describe('log config and annotations', () => {
  test('drivers, max-size, journald only with a journal', () => {
    assert.deepEqual(logSettings(parseLogConfig('none', [])), { driver: 'none' });
    assert.deepEqual(logSettings(parseLogConfig(undefined, ['max-size=10m'])), { driver: 'k8s-file', maxSize: 10 << 20, config: { 'max-size': '10m' } });
    assert.throws(() => logSettings(parseLogConfig('journald', []), () => false), /needs systemd-journald/);
    assert.deepEqual(logSettings(parseLogConfig('journald', []), () => true), { driver: 'journald' });
    assert.throws(() => logSettings(parseLogConfig('k8s-file', ['max-size=1k'])), /at least 8k/);
    assert.throws(() => parseLogConfig('syslog', []), /for "--log-driver" flag/);
    assert.throws(() => logSettings({ type: 'gelf' as never }), /invalid log driver "gelf"/);
  });
  test('--annotation KEY=VALUE', () => {
    assert.deepEqual(parseAnnotations(['a.b=c=d', 'e']), { 'a.b': 'c=d', e: '' });
    assert.throws(() => parseAnnotations(['=x']), /for "--annotation" flag/);
  });
});

describe('progress lines', () => {
  test('fit: cut to width - 1 visible characters, colour codes kept and closed', () => {
    assert.equal(fit('abcdef', 4), 'abc');
    assert.equal(fit('\x1b[32mabcdef\x1b[0m', 4), '\x1b[32mabc\x1b[0m');
    assert.equal(fit('ab', 80), 'ab');
  });
  test('the bar narrows with the terminal and goes on a narrow one', () => {
    const at80 = `a1b2c3d4e5f6: ${progressText('Downloading', 5 << 20, 10 << 20, 80)}`;
    assert.ok(at80.length <= 79, at80);
    assert.match(at80, /\[=+>\s+\]/);
    assert.doesNotMatch(progressText('Downloading', 1, 2, 40), /\[/);
    assert.match(progressText('Downloading', 1, 2, 200), /\[.{50}\]/);
  });
  test('a block redraws exactly the rows it drew', () => {
    let written = '';
    const out = { isTTY: true, columns: 40, write: (s: string) => { written += s; return true; } } as unknown as NodeJS.WriteStream;
    const b = new LineBlock(out);
    b.set('one', 'x'.repeat(100), true);
    b.set('two', 'y', true);
    assert.match(written, /\x1b\[1A/);
    assert.ok(written.split('\n').every((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]|\r/g, '').length <= 39));
  });
});
