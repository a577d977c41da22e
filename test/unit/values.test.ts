import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/engine/config.js';
import { EngineError } from '../../src/util/errors.js';
import { describeError } from '../../src/cli/report.js';
import { lastLine } from '../../src/rootless/userns.js';
import { openError, osReason } from '../../src/util/os-errors.js';
import {
  parseAbsolutePath, parseBool, parseBytes, parseChoice, parseDuration, parseExpose, parseInteger, parseIp, parsePort, parsePortRange,
  parsePositiveNumber, parsePublish, parseSeconds, parseSignal, parseTimestamp, parseUserSpec, ValueError,
} from '../../src/util/values.js';

const dir = mkdtempSync(join(tmpdir(), 'rootlet-values-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Refused as a ValueError whose one-line message matches. */
function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ValueError, `not a ValueError: ${String(e)}`);
    assert.match(e.message, message);
    assert.ok(!e.message.includes('\n'), e.message);
    return true;
  });
}

describe('values: the refusal', () => {
  test('a flag gets Docker\'s wording; any other source reads as a sentence', () => {
    refused(() => parseSeconds('abc', '-t, --time'), /^invalid argument "abc" for "-t, --time" flag: not a number of seconds/);
    refused(() => parseChoice('bogus', '/x/rootlet.toml: network.default_rootless_network_cmd', ['pasta', 'slirp4netns'], 'a network stack'),
      /^\/x\/rootlet\.toml: network\.default_rootless_network_cmd: "bogus" is not a network stack: use "pasta" or "slirp4netns"$/);
  });
  test('a ValueError is an EngineError (exit 125)', () => {
    assert.throws(() => parseInteger('x', '-n'), (e: unknown) => e instanceof EngineError && e.exitCode === 125);
  });
});

describe('values: numbers', () => {
  test('integers within bounds', () => {
    assert.equal(parseInteger('42', '-n'), 42);
    assert.equal(parseInteger('-1', '-n', -1), -1);
    assert.equal(parseInteger(' 7 ', '-n'), 7);
    refused(() => parseInteger('1.5', '-n'), /not a whole number/);
    refused(() => parseInteger('', '-n'), /not a whole number/);
    refused(() => parseInteger('0x10', '-n'), /not a whole number/);
    refused(() => parseInteger('-2', '-n', -1), /out of range: use a whole number of at least -1/);
    refused(() => parseInteger('99999999999999999999', '-n'), /out of range/);
    refused(() => parseInteger('5', '-n', 0, 3), /from 0 to 3/);
  });
  test('seconds', () => {
    assert.equal(parseSeconds('0', '-t'), 0);
    assert.equal(parseSeconds('30', '-t'), 30);
    refused(() => parseSeconds('abc', '-t'), /not a number of seconds/);
    refused(() => parseSeconds('-1', '-t'), /not a number of seconds/);
    refused(() => parseSeconds('10s', '-t'), /not a number of seconds/);
  });
  test('positive numbers', () => {
    assert.equal(parsePositiveNumber('1.5', '--cpus'), 1.5);
    assert.equal(parsePositiveNumber('.5', '--cpus'), 0.5);
    assert.equal(parsePositiveNumber('2', '--cpus'), 2);
    refused(() => parsePositiveNumber('abc', '--cpus'), /not a number/);
    refused(() => parsePositiveNumber('0', '--cpus'), /greater than 0/);
    refused(() => parsePositiveNumber('-1', '--cpus'), /not a number/);
    refused(() => parsePositiveNumber('1e400', '--cpus'), /not a number/);
    refused(() => parsePositiveNumber('Infinity', '--cpus'), /not a number/);
  });
});

describe('values: durations and times', () => {
  test('Go durations in milliseconds', () => {
    assert.equal(parseDuration('30s', '--d'), 30_000);
    assert.equal(parseDuration('1m30s', '--d'), 90_000);
    assert.equal(parseDuration('500ms', '--d'), 500);
    assert.equal(parseDuration('1.5h', '--d'), 5_400_000);
    assert.equal(parseDuration('2h45m', '--d'), 9_900_000);
    assert.equal(parseDuration('1000us', '--d'), 1);
    assert.equal(parseDuration('0', '--d'), 0);
    for (const bad of ['xyz', '', '30', '-1s', '1d', 's', '1m x', '5 s']) refused(() => parseDuration(bad, '--health-interval'), /"--health-interval" flag: not a duration/);
  });
  test('timestamps: RFC 3339, Unix time, a duration back from now', () => {
    const now = 1_700_000_000_000;
    assert.equal(parseTimestamp('10m', '--since', now), now - 600_000);
    assert.equal(parseTimestamp('1600000000', '--since', now), 1_600_000_000_000);
    assert.equal(parseTimestamp('1600000000.5', '--since', now), 1_600_000_000_500);
    assert.equal(parseTimestamp('2020-01-01T00:00:00Z', '--since', now), Date.parse('2020-01-01T00:00:00Z'));
    assert.equal(parseTimestamp('2020-01-01', '--since', now), Date.parse('2020-01-01'));
    for (const bad of ['yesterday', 'May', '', '2020-13-45T99:00:00Z']) refused(() => parseTimestamp(bad, '--since', now), /not a time/);
  });
});

describe('values: sizes', () => {
  test('bytes with binary units', () => {
    assert.equal(parseBytes('512', '-m'), 512);
    assert.equal(parseBytes('512b', '-m'), 512);
    assert.equal(parseBytes('64m', '-m'), 64 * 1024 ** 2);
    assert.equal(parseBytes('64MiB', '-m'), 64 * 1024 ** 2);
    assert.equal(parseBytes('1g', '-m'), 1024 ** 3);
    assert.equal(parseBytes('1.5G', '-m'), 1.5 * 1024 ** 3);
    assert.equal(parseBytes('1gb', '-m'), 1024 ** 3);
    assert.equal(parseBytes('512k', '-m'), 512 * 1024);
    for (const bad of ['abc', '64x', '-1m', '', 'm']) refused(() => parseBytes(bad, '-m, --memory'), /"-m, --memory" flag: not a size/);
    refused(() => parseBytes('99999999p', '-m'), /too large/);
  });
});

describe('values: ports', () => {
  test('ports and ranges', () => {
    assert.equal(parsePort('80', '--p'), 80);
    assert.deepEqual(parsePortRange('8000-8002', '--p'), [8000, 8001, 8002]);
    for (const bad of ['0', '65536', 'http', '-1', '80.5']) refused(() => parsePort(bad, '--p'), /not a port number \(1-65535\)/);
    refused(() => parsePortRange('81-80', '--p'), /ends before it starts/);
  });
  test('-p and --expose name the flag and the part that is wrong', () => {
    assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' }]);
    refused(() => parsePublish('70000'), /^invalid argument "70000" for "-p, --publish" flag: not a valid port specification: container port "70000" is not a port number/);
    refused(() => parsePublish('x:80'), /host port "x" is not a port number/);
    refused(() => parsePublish('80-79:80-79'), /the range 80-79 ends before it starts/);
    assert.deepEqual(parseExpose('90-91/udp'), ['90/udp', '91/udp']);
    refused(() => parseExpose('abc'), /^invalid argument "abc" for "--expose" flag: .*port "abc" is not a port number/);
    refused(() => parseExpose('80/sctp'), /sctp is not supported/);
  });
});

describe('values: signals, booleans, choices, addresses, users, paths', () => {
  test('signals', () => {
    assert.equal(parseSignal('TERM'), 'SIGTERM');
    assert.equal(parseSignal('sigkill'), 'SIGKILL');
    assert.equal(parseSignal('15'), '15');
    assert.equal(parseSignal('RTMIN+3'), 'SIGRTMIN+3');
    for (const bad of ['BOGUS', '0', '65', '', 'SIG']) refused(() => parseSignal(bad, '-s, --signal'), /"-s, --signal" flag: not a signal/);
  });
  test('booleans', () => {
    assert.equal(parseBool('true', '--b'), true);
    assert.equal(parseBool('0', '--b'), false);
    assert.equal(parseBool('FALSE', '--b'), false);
    refused(() => parseBool('maybe', '--tls-verify'), /"maybe" for "--tls-verify" flag: not a boolean: use true or false/);
  });
  test('choices', () => {
    assert.equal(parseChoice('always', '--pull', ['missing', 'always', 'never']), 'always');
    refused(() => parseChoice('sometimes', '--pull', ['missing', 'always', 'never'], 'a pull policy'), /not a pull policy: use "missing", "always" or "never"/);
    refused(() => parseChoice('x', '-d', ['bridge'], 'a driver'), /use "bridge"$/);
  });
  test('addresses', () => {
    assert.equal(parseIp('10.0.0.1', '--dns'), '10.0.0.1');
    assert.equal(parseIp('::1', '--dns'), '::1');
    refused(() => parseIp('10.0.0', '--dns'), /not an IP address/);
  });
  test('user[:group]', () => {
    assert.deepEqual(parseUserSpec('1000:1000'), { user: '1000', group: '1000' });
    assert.deepEqual(parseUserSpec('nobody'), { user: 'nobody', group: undefined });
    assert.deepEqual(parseUserSpec('www-data:adm'), { user: 'www-data', group: 'adm' });
    for (const bad of ['', ':', 'a:b:c', '1000:', ':1000', 'us er']) refused(() => parseUserSpec(bad), /"-u, --user" flag: not a user/);
    refused(() => parseUserSpec('4294967296'), /out of range/);
  });
  test('absolute paths', () => {
    assert.equal(parseAbsolutePath('/srv', '-w'), '/srv');
    refused(() => parseAbsolutePath('srv', '-w, --workdir'), /not an absolute path/);
  });
});

describe('values: files and the OS reason', () => {
  test('open errors read as Docker prints them', () => {
    const missing = (() => { try { readFileSync('/nonexistent/x'); } catch (e) { return e; } })();
    assert.equal(osReason(missing), 'no such file or directory');
    assert.equal(openError('/nonexistent/x', missing).message, 'open /nonexistent/x: no such file or directory');
    const isDir = (() => { try { readFileSync(dir); } catch (e) { return e; } })();
    assert.equal(openError(dir, isDir).message, `open ${dir}: is a directory`);
  });
});

describe('config: every key is checked when the file is read', () => {
  const file = join(dir, 'rootlet.toml');
  const load = (text: string) => {
    writeFileSync(file, text);
    return loadConfig(file);
  };
  const rejects = async (text: string, message: RegExp) => {
    await assert.rejects(load(text), (e: unknown) => {
      assert.ok(e instanceof EngineError, String(e));
      assert.match(e.message, message);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  };
  test('good values are taken; unknown keys are ignored as before', async () => {
    const c = await load('[storage]\nroot = "/srv/r"\ndriver = "vfs"\n[engine]\nruntime = "crun"\n[images]\nremap_outside_ids = true\n[network]\ndefault_rootless_network_cmd = "slirp4netns"\n[other]\nx = 1\n');
    assert.deepEqual(c, { storage: { root: '/srv/r', driver: 'vfs' }, engine: { runtime: 'crun' }, images: { remapOutsideIds: true }, network: { defaultRootlessNetworkCmd: 'slirp4netns' }, containers: {} });
  });
  test('an unknown value of an enumerated key names the file and the key', async () => {
    await rejects('[network]\ndefault_rootless_network_cmd = "bogus"\n',
      new RegExp(`^${file.replace(/[.]/g, '\\.')}: network\\.default_rootless_network_cmd: "bogus" is not a network stack: use "pasta" or "slirp4netns"$`));
    await rejects('[storage]\ndriver = "zfs"\n', /storage\.driver: "zfs" is not a storage driver: use "overlay", "fuse-overlayfs" or "vfs"/);
    await rejects('[engine]\nruntime = "youki"\n', /engine\.runtime: "youki" is not an OCI runtime: use "runc", "crun" or "runsc"/);
    await rejects('[storage]\nroot = "relative/dir"\n', /storage\.root: "relative\/dir" is not an absolute path/);
    await rejects('[images]\nremap_outside_ids = "yes"\n', /images\.remap_outside_ids must be true or false/);
    await rejects('[engine]\nruntime = 1\n', /engine\.runtime must be a string/);
    await rejects('network = 1\n', /\[network\] must be a table/);
  });
  test('[engine.runtimes] names more runtimes by absolute path; engine.runtime may name one of them', async () => {
    const c = await load('[engine]\nruntime = "gvisor"\n[engine.runtimes]\ngvisor = "/opt/gvisor/runsc"\n');
    assert.deepEqual(c.engine, { runtime: 'gvisor', runtimes: { gvisor: '/opt/gvisor/runsc' } });
    await rejects('[engine.runtimes]\ngvisor = "runsc"\n', /engine\.runtimes\.gvisor: "runsc" is not an absolute path/);
    await rejects('[engine]\nruntimes = ["runsc"]\n', /engine\.runtimes must be a table of NAME = "\/path\/to\/runtime"/);
    await rejects('[engine.runtimes]\n"a b" = "/x"\n', /engine\.runtimes: "a b" is not a runtime name/);
  });
});

/** Runs fn with XDG_RUNTIME_DIR (where the debug log goes) set to dir, and puts it back. */
function withRuntimeDir(dir: string, fn: () => void): void {
  const saved = process.env.XDG_RUNTIME_DIR;
  process.env.XDG_RUNTIME_DIR = dir;
  try {
    fn();
  } finally {
    process.env.XDG_RUNTIME_DIR = saved;
  }
}

describe('the main error handler', () => {
  test('an engine error is its own line and code', () => {
    assert.deepEqual(describeError(new EngineError('No such container: x', 1)), { line: 'Error: No such container: x', exitCode: 1 });
  });
  test('an internal error is one line naming the debug log, which holds the trace', () => {
    const run = join(dir, 'run');
    mkdirSync(run, { mode: 0o700 });
    withRuntimeDir(run, () => {
      const err = new TypeError('Cannot read properties of undefined (reading \'spec\')');
      const { line, exitCode } = describeError(err, ['node', 'rootlet', 'ps']);
      assert.equal(exitCode, 125);
      const log = join(run, 'rootlet', 'debug.log');
      assert.equal(line, `Error: internal error: Cannot read properties of undefined (reading 'spec') (its trace is in ${log})`);
      const text = readFileSync(log, 'utf8');
      assert.match(text, /rootlet ps\nTypeError: Cannot read properties/);
      assert.match(text, /\n {4}at /);
    });
  });
  test('an OS error nobody caught names the call and the reason', () => {
    const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', errno: -28 });
    assert.match(describeError(err, ['node', 'rootlet', 'x']).line, /^Error: internal error: write: no space left on device \(/);
  });
  test('when the log cannot be written, the line says so', () => {
    const run = join(dir, 'ro');
    mkdirSync(run, { mode: 0o500 });
    try {
      withRuntimeDir(run, () => {
        // Root writes anyway: the check holds only for the unprivileged user the tests run as.
        if (process.getuid?.() === 0) return;
        assert.match(describeError(new Error('boom')).line, /^Error: internal error: boom \(its trace could not be written to .*debug\.log: permission denied\)$/);
      });
    } finally {
      chmodSync(run, 0o700);
    }
  });
  test('a crashed helper\'s message is never Node\'s version line', () => {
    assert.equal(lastLine('__extract-layer: write: no space left on device\n'), '__extract-layer: write: no space left on device');
    assert.equal(lastLine('/x/rootlet-helper.cjs:1\n    at foo (x:1)\nError: boom\n\nNode.js v20.20.2\n'), 'Error: boom');
  });
});
