import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { refusedOneLine, Sandbox } from '../helpers.js';
import { destroyHard, markerFor, psStatus } from '../lifecycle-helpers.js';

// Issue "Reliability: every bad value refused up front": a malformed value
// of any flag is refused with exit 125 and one line naming the flag, before
// anything is touched (no image pulled, no container created, a running
// one left running), and files named by flags are reported with the OS's
// reason.

/** An image that is not here and whose registry does not answer: a check made after the pull would show as a pull error. */
const ABSENT = '127.0.0.1:9/absent/image:1';

describe('bad input: every value-taking flag refuses a malformed value up front', () => {
  const sb = new Sandbox('badinput');
  const marker = markerFor(sb, 'badinput');
  let state: () => Record<string, string>;

  before(() => {
    sb.importBusybox();
    // A container that prints "got-term" if it ever gets its stop signal.
    sb.ok(['run', '-d', '--name', 'target', 'busybox', 'sh', '-c', `trap "echo got-term; exit 143" TERM; while :; do sleep 0.1; done; : ${marker}`]);
    state = () => ({
      containers: sb.ok(['ps', '-a', '-q', '--no-trunc']),
      images: sb.ok(['images', '-q', '--no-trunc']),
      networks: sb.ok(['network', 'ls', '-q']),
      dirs: readdirSync(sb.path('data/rootlet/containers')).sort().join(' '),
      volumes: existsSync(sb.path('data/rootlet/volumes')) ? readdirSync(sb.path('data/rootlet/volumes')).sort().join(' ') : '',
    });
  });
  after(() => destroyHard(sb, [marker]));

  /*
   * Every flag of run and create that takes a value with a form. Not here:
   * --entrypoint, -h, --dns-search, --dns-option and --health-cmd take any
   * text; --read-only, -i, -t and such take no value.
   */
  const createCases: Array<[string[], RegExp]> = [
    [['--name', 'a b'], /"a b" for "--name" flag/],
    [['-e', '=x'], /"=x" for "-e, --env" flag/],
    [['--env-file', '/nonexistent/env'], /^Error: open \/nonexistent\/env: no such file or directory$/],
    [['-w', 'relative'], /"relative" for "-w, --workdir" flag: not an absolute path/],
    [['-u', 'a:b:c'], /"a:b:c" for "-u, --user" flag: not a user/],
    [['-v', 'a:b:c:d'], /"a:b:c:d" for "-v, --volume" flag/],
    [['--tmpfs', 'relative'], /"relative" for "--tmpfs" flag/],
    [['--network', 'a,,b'], /"a,,b" for "--net, --network" flag/],
    [['-p', '70000'], /"70000" for "-p, --publish" flag: .*not a port number/],
    [['--expose', 'abc'], /"abc" for "--expose" flag/],
    [['--network-alias', 'a b'], /"a b" for "--network-alias" flag/],
    [['--dns', 'not-an-ip'], /"not-an-ip" for "--dns" flag: not an IP address/],
    [['--add-host', 'db'], /"db" for "--add-host" flag: use NAME:IP/],
    [['--userns', 'auto'], /"auto" for "--userns" flag/],
    [['--runtime', 'youki'], /^Error: unknown OCI runtime "youki": use one of runc, crun, runsc, or name it in \[engine\.runtimes\] of the config$/],
    [['--isolation', 'vm'], /"vm" for "--isolation" flag: not an isolation: use "default" or "sandbox"/],
    [['--restart', 'sometimes'], /"sometimes" for "--restart" flag: not a restart policy/],
    [['--restart', 'always:3'], /"always:3" for "--restart" flag: .*only on-failure takes a retry count/],
    [['--stop-signal', 'BOGUS'], /"BOGUS" for "--stop-signal" flag: not a signal/],
    [['--stop-timeout', 'abc'], /"abc" for "--stop-timeout" flag: not a number of seconds/],
    [['-l', '=x'], /"=x" for "-l, --label" flag/],
    [['-m', 'abc'], /"abc" for "-m, --memory" flag: not a size/],
    [['-m', '1k'], /"1k" for "-m, --memory" flag: below the minimum memory limit of 6m/],
    [['--cpus', 'abc'], /"abc" for "--cpus" flag: not a number/],
    [['--pids-limit', 'abc'], /"abc" for "--pids-limit" flag: not a whole number/],
    [['--health-interval', 'xyz'], /"xyz" for "--health-interval" flag: not a duration/],
    [['--health-timeout', 'xyz'], /"xyz" for "--health-timeout" flag: not a duration/],
    [['--health-retries', '0'], /"0" for "--health-retries" flag: out of range/],
    [['--health-start-period', 'xyz'], /"xyz" for "--health-start-period" flag: not a duration/],
    [['--pull', 'sometimes'], /"sometimes" for "--pull" flag: not a pull policy/],
  ];

  test('run and create: refused before the image is looked for, nothing created', () => {
    const was = state();
    for (const cmd of ['run', 'create']) {
      for (const [flag, want] of createCases) {
        const args = [cmd, ...flag, ABSENT, 'true'];
        refusedOneLine(sb.run(args), want, args.join(' '));
      }
    }
    // run -d with the local image: still nothing is created.
    refusedOneLine(sb.run(['run', '-d', '--stop-timeout', 'abc', 'busybox', 'true']), /--stop-timeout/, 'run -d --stop-timeout abc');
    refusedOneLine(sb.run(['run', '--health-interval', 'xyz', '--health-cmd', 'true', 'busybox', 'true']), /--health-interval/, 'run --health-interval xyz');
    assert.deepEqual(state(), was);
  });

  test('stop -t abc, restart -t abc and kill -s BOGUS leave the container running, untouched', () => {
    const was = state();
    for (const [args, want] of [
      [['stop', '-t', 'abc', 'target'], /"abc" for "-t, --time" flag: not a number of seconds/],
      [['stop', '-t', '-1', 'target'], /"-1" for "-t, --time" flag/],
      [['restart', '-t', 'abc', 'target'], /"abc" for "-t, --time" flag/],
      [['kill', '-s', 'BOGUS', 'target'], /"BOGUS" for "-s, --signal" flag: not a signal/],
      [['kill', '--signal', '99', 'target'], /"99" for "-s, --signal" flag/],
    ] as Array<[string[], RegExp]>) {
      refusedOneLine(sb.run(args), want, args.join(' '));
    }
    assert.match(psStatus(sb, 'target', false) ?? '', /^Up /);
    // Not even the stop signal reached it.
    assert.doesNotMatch(sb.ok(['logs', 'target']), /got-term/);
    assert.deepEqual(state(), was);
  });

  test('exec: refused before the command runs', () => {
    const was = state();
    for (const [flag, want] of [
      [['-u', 'a:b:c'], /"a:b:c" for "-u, --user" flag/],
      [['-w', 'relative'], /"relative" for "-w, --workdir" flag/],
      [['-e', '=x'], /"=x" for "-e, --env" flag/],
      [['--env-file', '/nonexistent/env'], /^Error: open \/nonexistent\/env: no such file or directory$/],
    ] as Array<[string[], RegExp]>) {
      const args = ['exec', ...flag, 'target', 'sh', '-c', 'echo ran >> /tmp/ran'];
      refusedOneLine(sb.run(args), want, args.join(' '));
    }
    assert.equal(sb.run(['exec', 'target', 'test', '-e', '/tmp/ran']).code, 1);
    assert.deepEqual(state(), was);
  });

  test('logs, pull, network create, ps, save, update, search, the global --log-level', () => {
    const was = state();
    for (const [args, want] of [
      [['logs', '--tail', 'x', 'target'], /"x" for "--tail" flag/],
      [['logs', '--tail', '-1', 'target'], /"-1" for "--tail" flag/],
      [['logs', '--since', 'yesterday', 'target'], /"yesterday" for "--since" flag: not a time/],
      [['logs', '--until', 'soon', 'target'], /"soon" for "--until" flag: not a time/],
      [['pull', '--platform', 'amd64', ABSENT], /"amd64" for "--platform" flag/],
      [['pull', '--tls-verify=maybe', ABSENT], /"maybe" for "--tls-verify" flag: not a boolean/],
      [['pull', '--creds', 'nocolon', ABSENT], /for "--creds" flag: not USER:PASSWORD/],
      [['network', 'create', '-d', 'macvlan', 'n1'], /"macvlan" for "-d, --driver" flag: not a supported network driver: use "bridge"/],
      [['network', 'create', '--subnet', '10.0.0.0/33', 'n1'], /"10\.0\.0\.0\/33" for "--subnet" flag/],
      [['network', 'create', '--gateway', '10.0.0', 'n1'], /"10\.0\.0" for "--gateway" flag: not an IP address/],
      [['network', 'create', '--label', '=x', 'n1'], /"=x" for "--label" flag/],
      [['ps', '-n', 'abc'], /"abc" for "-n, --last" flag: not a whole number/],
      [['save', '--format', 'zip', '-o', sb.path('out.tar'), 'busybox'], /"zip" for "--format" flag: not an archive format/],
      [['--log-level', 'loud', 'ps'], /"loud" for "--log-level" flag: not a log level/],
      [['info', '--format', 'yaml'], /"yaml" for "-f, --format" flag: use json or a Go template/],
      [['system', 'check', '--format', 'yaml'], /"yaml" for "-f, --format" flag: only json is supported/],
      [['policy', 'show', '--format', 'yaml'], /"yaml" for "-f, --format" flag: only json is supported/],
      [['image', 'audit', '--format', 'yaml', 'busybox'], /"yaml" for "--format" flag: only json is supported/],
      [['update', '--memory', 'lots', 'target'], /"lots" for "-m, --memory" flag: not a size/],
      [['update', '--cpus', 'many', 'target'], /"many" for "--cpus" flag: not a number/],
      [['update', '--pids-limit', 'abc', 'target'], /"abc" for "--pids-limit" flag: not a whole number/],
      [['update', '--restart', 'sometimes', 'target'], /"sometimes" for "--restart" flag: not a restart policy/],
      [['search', '--limit', '0', 'localhost:5000/busy'], /"0" for "--limit" flag: out of range/],
    ] as Array<[string[], RegExp]>) {
      refusedOneLine(sb.run(args), want, args.join(' '));
    }
    assert.ok(!existsSync(sb.path('out.tar')));
    assert.equal(sb.run(['--log-level', 'debug', 'ps']).code, 0);
    assert.deepEqual(state(), was);
  });
});

describe('bad input: the cases as the user meets them', () => {
  const sb = new Sandbox('badfiles');
  const config = sb.path('config/rootlet/rootlet.toml');

  before(() => {
    sb.importBusybox();
  });
  after(() => {
    rmSync(config, { force: true });
    if (existsSync(sb.path('locked'))) chmodSync(sb.path('locked'), 0o700);
    sb.destroy();
  });

  test('--env-file: a missing or unreadable file, refused by rootlet (not by node); a good one works', () => {
    const unreadable = sb.path('secret.env');
    writeFileSync(unreadable, 'A=1\n', { mode: 0o000 });
    const was = sb.ok(['ps', '-a', '-q']);
    refusedOneLine(sb.run(['run', '--rm', '--env-file', sb.path('none.env'), 'busybox', 'true']), /^Error: open .*none\.env: no such file or directory$/, 'missing');
    refusedOneLine(sb.run(['run', '--rm', `--env-file=${sb.path('none.env')}`, 'busybox', 'true']), /no such file or directory/, '--env-file=');
    refusedOneLine(sb.run(['run', '--rm', '--env-file', unreadable, 'busybox', 'true']), /^Error: open .*secret\.env: permission denied$/, 'unreadable');
    assert.equal(sb.ok(['ps', '-a', '-q']), was);
    const good = sb.path('good.env');
    writeFileSync(good, 'GREETING=hello from the file\n');
    assert.equal(sb.ok(['run', '--rm', '--env-file', good, 'busybox', 'sh', '-c', 'echo $GREETING']), 'hello from the file\n');
    // Checked without being read: a pipe (`--env-file <(...)`) is read once, for real.
    const fifo = sb.path('env.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // The writer blocks until rootlet opens the pipe, and ends when rootlet has read it.
    const writer = spawn('sh', ['-c', `printf 'GREETING=hello from a pipe\\n' > ${fifo}`], { stdio: 'ignore' });
    try {
      assert.equal(sb.ok(['run', '--rm', '--env-file', fifo, 'busybox', 'sh', '-c', 'echo $GREETING']), 'hello from a pipe\n');
    } finally {
      writer.kill();
    }
    refusedOneLine(sb.run(['run', '--rm', '--env-file', sb.root, 'busybox', 'true']), /^Error: read .*: is a directory$/, 'a directory');
  });

  test('save -o, export -o, load -i and import name the file and the reason; nothing is left behind', () => {
    sb.ok(['create', '--name', 'box', 'busybox', 'true']);
    const images = sb.ok(['images', '-q', '--no-trunc']);
    refusedOneLine(sb.run(['save', '-o', '/proc/nope', 'busybox']), /^Error: open \/proc\/nope: no such file or directory$/, 'save -o /proc/nope');
    refusedOneLine(sb.run(['save', '-o', sb.path('no/such/dir/out.tar'), 'busybox']), /^Error: open .*no\/such\/dir\/out\.tar: no such file or directory$/, 'save -o missing dir');
    refusedOneLine(sb.run(['export', '-o', '/proc/nope', 'box']), /^Error: open \/proc\/nope: no such file or directory$/, 'export -o /proc/nope');
    refusedOneLine(sb.run(['load', '-i', sb.path('absent.tar')]), /^Error: open .*absent\.tar: no such file or directory$/, 'load -i');
    refusedOneLine(sb.run(['import', sb.path('absent.tar'), 'x']), /^Error: open .*absent\.tar: no such file or directory$/, 'import');
    // An export that fails for another reason does not leave the file it opened.
    const r = sb.run(['export', '-o', sb.path('gone.tar'), 'no-such-container']);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!existsSync(sb.path('gone.tar')));
    assert.equal(sb.ok(['images', '-q', '--no-trunc']), images);
    assert.deepEqual(readdirSync(sb.root).filter((f) => f.includes('.tar')), []);
    sb.ok(['rm', 'box']);
  });

  test('a config key with a value rootlet does not know is refused, naming the file and the key', () => {
    mkdirSync(sb.path('config/rootlet'), { recursive: true });
    try {
      writeFileSync(config, '[network]\ndefault_rootless_network_cmd = "bogus"\n');
      const esc = config.replace(/[.]/g, '\\.');
      refusedOneLine(sb.run(['ps']),
        new RegExp(`^Error: ${esc}: network\\.default_rootless_network_cmd: "bogus" is not a network stack: use "pasta" or "slirp4netns"$`), 'network stack');
      writeFileSync(config, '[engine]\nruntime = "youki"\n');
      refusedOneLine(sb.run(['images']), /engine\.runtime: "youki" is not an OCI runtime/, 'runtime');
    } finally {
      rmSync(config, { force: true });
    }
    sb.ok(['ps']);
  });

  test('an existing but unreadable bind source is "permission denied", not "does not exist"', () => {
    const locked = sb.path('locked');
    mkdirSync(`${locked}/inside`, { recursive: true });
    chmodSync(locked, 0o000);
    const was = sb.ok(['ps', '-a', '-q']);
    refusedOneLine(sb.run(['run', '--rm', '-v', `${locked}/inside:/x`, 'busybox', 'true']), /bind mount source .*locked\/inside: permission denied/, 'mode 000');
    refusedOneLine(sb.run(['create', '-v', `${locked}/inside:/x:ro`, 'busybox', 'true']), /permission denied/, 'create, ro');
    // Another user's home, as a user meets it (unless this user may look in /root: then /root/x is just missing).
    if (!canList('/root')) {
      refusedOneLine(sb.run(['run', '--rm', '-v', '/root/x:/x', 'busybox', 'true']), /bind mount source \/root\/x: permission denied/, '/root/x');
    }
    assert.equal(sb.ok(['ps', '-a', '-q']), was);
    chmodSync(locked, 0o700);
    assert.ok(existsSync(`${locked}/inside`));
  });
});

/** Whether this user may look inside a directory (then /root/x is simply missing, and created). */
function canList(dir: string): boolean {
  try {
    readdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
