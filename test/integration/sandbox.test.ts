import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { BIN, Sandbox, shq } from '../helpers.js';
import { destroyHard, logs, psStatus, storeDirs, waitFor } from '../lifecycle-helpers.js';

// --isolation sandbox: the container runs on gVisor's user-space kernel
// (runsc), started rootless in the user's namespace like crun is. What
// cannot be had is refused in one line (exit 125), never run on crun.

const SANDBOX = ['--isolation', 'sandbox'];

function fetchText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('--isolation sandbox (gVisor runsc)', () => {
  const sb = new Sandbox('sandbox');

  before(() => {
    sb.importBusybox();
  });
  after(() => destroyHard(sb));

  test('the container runs on gVisor\'s kernel, not the host\'s', () => {
    const dmesg = sb.ok(['run', '--rm', ...SANDBOX, 'busybox', 'dmesg']);
    assert.match(dmesg, /gVisor/);
    const host = sb.ok(['run', '--rm', 'busybox', 'sh', '-c', 'dmesg 2>&1; true']);
    assert.doesNotMatch(host, /gVisor/);
  });

  test('run --rm: output, exit codes (7, 127, 126), and nothing left behind', () => {
    assert.equal(sb.ok(['run', '--rm', ...SANDBOX, 'busybox', 'sh', '-c', 'echo hello; id -u']), 'hello\n0\n');
    assert.equal(sb.run(['run', '--rm', ...SANDBOX, 'busybox', 'sh', '-c', 'exit 7']).code, 7);
    assert.equal(sb.run(['run', '--rm', ...SANDBOX, 'busybox', 'no-such-command']).code, 127);
    assert.equal(sb.run(['run', '--rm', ...SANDBOX, 'busybox', '/etc/passwd']).code, 126);
    assert.equal(sb.ok(['run', '--rm', '-i', ...SANDBOX, 'busybox', 'cat'], { input: 'through stdin\n' }), 'through stdin\n');
    assert.equal(sb.ok(['ps', '-aq']), '');
    assert.deepEqual(readdirSync(storeDirs(sb).containers), []);
  });

  test('output into a file the caller\'s shell opened lands after what was written before (gVisor keeps an offset of its own)', () => {
    const file = sb.path('out.txt');
    const script = `{ echo before; "${process.execPath}" ${BIN} run --rm ${SANDBOX.join(' ')} busybox sh -c 'echo inside; echo err >&2'; echo after; } > ${file} 2>&1`;
    const r = spawnSync('sh', ['-c', script], { env: sb.env, cwd: sb.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readFileSync(file, 'utf8').split('\n').sort(), ['', 'after', 'before', 'err', 'inside']);
    assert.match(readFileSync(file, 'utf8'), /^before\n(inside\nerr|err\ninside)\nafter\n$/);
  });

  test('--privileged and --cap-add ALL: every capability gVisor has', () => {
    for (const flags of [['--privileged'], ['--cap-add', 'ALL']]) {
      const caps = sb.ok(['run', '--rm', ...SANDBOX, ...flags, 'busybox', 'grep', 'CapEff', '/proc/self/status']);
      assert.match(caps, /^CapEff:\s+0000003fffffffff|^CapEff:\s+0000003[0-9a-f]{9}\n$/, flags.join(' '));
    }
  });

  test('inspect shows the isolation and the runtime; --runtime runsc alone is the sandbox too', () => {
    sb.ok(['create', '--name', 'iso-flag', ...SANDBOX, 'busybox', 'true']);
    sb.ok(['create', '--name', 'iso-runtime', '--runtime', 'runsc', 'busybox', 'true']);
    sb.ok(['create', '--name', 'iso-default', 'busybox', 'true']);
    const show = (n: string) => sb.ok(['inspect', '-f', '{{.HostConfig.Isolation}} {{.HostConfig.Runtime}}', n]).trim();
    assert.equal(show('iso-flag'), 'sandbox runsc');
    assert.equal(show('iso-runtime'), 'sandbox runsc');
    assert.match(show('iso-default'), /^default (crun|runc)$/);
    sb.ok(['rm', 'iso-flag', 'iso-runtime', 'iso-default']);
  });

  test('top lists the sandbox\'s own processes; stats counts its host processes only; cp and export refuse a running sandbox, and work once it stopped', async () => {
    const name = 'looked-at';
    sb.ok(['run', '-d', '--name', name, ...SANDBOX, 'busybox', 'sh', '-c', 'echo kept > /root/made; echo ready; exec sleep 600']);
    await waitFor(`${name} to start`, () => logs(sb, name).includes('ready'));
    // A process of the user's outside the container, which the host's pid namespace shares with the Sentry.
    const outsider = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const top = sb.ok(['top', name]);
      const rows = top.trim().split('\n');
      assert.match(rows[0]!, /^UID\s+PID\s+PPID\s+C\s+.*CMD$/);
      assert.deepEqual(rows.slice(1).map((r) => r.trim().split(/\s+/).pop()), ['sleep'], top);
      const withOptions = sb.run(['top', name, '-o', 'pid']);
      assert.equal(withOptions.code, 1);
      assert.match(withOptions.stderr, /^Error: top with ps options cannot look into a sandboxed container \(gVisor\).*\n$/);
      const stats = sb.ok(['stats', '--no-stream', name]).trim().split('\n').pop()!.trim().split(/\s+/).pop()!;
      // The Sentry, the gofer and their threads: a few dozen, never every process of the user (the suite runs hundreds).
      assert.ok(Number(stats) > 0 && Number(stats) < 100, `PIDs ${stats}`);
      for (const args of [['cp', `${name}:/root/made`, '-'], ['export', name]]) {
        const r = sb.run(args);
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, new RegExp(`^Error: cannot reach into the files of ${name} while it runs in a sandbox \\(gVisor\\): stop it first.*\\n$`));
      }
    } finally {
      outsider.kill('SIGKILL');
    }
    sb.ok(['stop', '-t', '1', name]);
    const tar = sb.run(['cp', `${name}:/root/made`, sb.path('made-out')]);
    assert.equal(tar.code, 0, tar.stderr);
    assert.equal(readFileSync(sb.path('made-out'), 'utf8'), 'kept\n');
    sb.ok(['rm', name]);
  });

  test('-d, exec, logs, stop, start again, rm', async () => {
    const name = 'sandboxed';
    sb.ok(['run', '-d', '--name', name, ...SANDBOX, 'busybox', 'sh', '-c', 'trap "exit 143" TERM; echo started; while :; do sleep 0.1; done']);
    await waitFor(`${name} to start`, () => logs(sb, name).includes('started'));
    assert.match(sb.ok(['exec', name, 'dmesg']), /gVisor/);
    assert.equal(sb.run(['exec', name, 'sh', '-c', 'exit 5']).code, 5);
    assert.equal(sb.ok(['stop', name]).trim(), name);
    assert.match(psStatus(sb, name) ?? '', /^Exited \(143\) /);
    sb.ok(['start', name]);
    await waitFor(`${name} to start again`, () => logs(sb, name).split('started').length === 3);
    assert.equal(sb.ok(['rm', '-f', name]).trim(), name);
    assert.equal(sb.ok(['ps', '-aq']), '');
  });

  test('run -t and exec -t: a terminal of the caller\'s size from the first instruction, with or without -i, or with no terminal on our side; all output and the exit code arrive', () => {
    sb.ok(['run', '-d', '--name', 'tty-sandbox', ...SANDBOX, 'busybox', 'sleep', '1000']);
    // gVisor's terminal has no /dev/pts name (`tty` says "not a tty"), but is one: isatty and its size hold.
    const lines = 'stty size; [ -t 0 ] && [ -t 1 ] && echo terminal; exit 3';
    try {
      for (const args of [
      ['run', '--rm', '-t', ...SANDBOX, 'busybox', 'sh', '-c', lines],
      ['run', '--rm', '-it', ...SANDBOX, 'busybox', 'sh', '-c', lines],
      ['exec', '-t', 'tty-sandbox', 'sh', '-c', lines],
      ['exec', '-it', 'tty-sandbox', 'sh', '-c', lines],
      ]) {
        const cmd = `stty rows 23 cols 71; exec ${[process.execPath, BIN, ...args].map(shq).join(' ')}`;
        const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: sb.env, encoding: 'utf8', timeout: 60_000, stdio: ['pipe', 'pipe', 'pipe'] });
        assert.equal(r.status, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        // script(1) types a NUL when its input ends, which -i passes on and the terminal echoes (^@), with crun too;
        // without -i our terminal is not made raw (as Docker's client): its own newline translation adds a \r.
        assert.match(r.stdout, /^(\^@)?23 71\r?\r\nterminal\r?\r\n$/, args.join(' '));
      }
      for (const args of [['run', '--rm', '-t', ...SANDBOX, 'busybox', 'sh', '-c', '[ -t 1 ] && echo terminal; exit 3'], ['exec', '-t', 'tty-sandbox', 'sh', '-c', '[ -t 1 ] && echo terminal; exit 3']]) {
        const none = sb.run(args);
        assert.equal(none.code, 3, none.stdout + none.stderr);
        assert.equal(none.stdout, 'terminal\r\n', args.join(' '));
      }
    } finally {
      sb.run(['rm', '-f', 'tty-sandbox']);
    }
  });

  test('--network none: gVisor\'s loopback only, in the foreground and detached', async () => {
    assert.equal(sb.ok(['run', '--rm', ...SANDBOX, '--network', 'none', 'busybox', 'sh', '-c', 'ip -o addr | grep -c "inet "']).trim(), '1');
    sb.ok(['run', '-d', '--name', 'no-net', ...SANDBOX, '--network', 'none', 'busybox', 'sleep', '600']);
    assert.match(sb.ok(['exec', 'no-net', 'ip', '-o', 'addr']), /inet 127\.0\.0\.1/);
    sb.ok(['rm', '-f', 'no-net']);
  });

  test('the default network: a published port reaches a server in the sandbox, which reaches a crun container by address', async () => {
    const www = sb.path('www');
    mkdirSync(www, { recursive: true });
    writeFileSync(`${www}/index.html`, 'from the sandbox\n');
    const port = 20000 + (process.pid % 20000);
    sb.ok(['run', '-d', '--name', 'web-sandboxed', ...SANDBOX, '-p', `127.0.0.1:${port}:8080`, '-v', `${www}:/www:ro`, 'busybox', 'httpd', '-f', '-p', '8080', '-h', '/www']);
    sb.ok(['run', '-d', '--name', 'web-crun', 'busybox', 'httpd', '-f', '-p', '8080', '-h', '/www']);
    try {
      let body: string | undefined;
      for (const deadline = Date.now() + 30_000; body === undefined && Date.now() < deadline;) {
        try { body = await fetchText(port); } catch { await new Promise((r) => setTimeout(r, 100)); }
      }
      assert.equal(body, 'from the sandbox\n');
      const ip = sb.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web-crun']).trim();
      assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal(sb.ok(['run', '--rm', ...SANDBOX, 'busybox', 'wget', '-qO-', `http://${ip}:8080/`]), 'hello from rootlet\n');
    } finally {
      sb.run(['rm', '-f', 'web-sandboxed', 'web-crun']);
    }
  });

  test('a sandbox\'s foreground run leaves no ready namespace: gVisor took its address, and the next runs on the default network have theirs', async () => {
    // Two, so that both ready namespaces a network keeps would be the sandboxes' if they were kept.
    for (let i = 0; i < 2; i++) sb.ok(['run', '--rm', ...SANDBOX, 'busybox', 'true']);
    assert.match(sb.ok(['run', '--rm', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']), /inet \d+\.\d+\.\d+\.\d+\//);
    assert.match(sb.ok(['run', '--rm', ...SANDBOX, 'busybox', 'ip', '-o', '-4', 'addr']), /eth0\s+inet \d+\.\d+\.\d+\.\d+\//);
  });

  test('what cannot be had is one line (125), never a run on the host\'s kernel, and creates nothing', () => {
    // A runtime binary that is not there: simulated through the config rather than by uninstalling runsc.
    const configDir = sb.path('config', 'rootlet');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(`${configDir}/rootlet.toml`, '[engine.runtimes]\nmissing = "/nonexistent/runsc"\nrunsc = "/nonexistent/gvisor/runsc"\n');
    try {
      const cases: Array<{ args: string[]; message: RegExp }> = [
        { args: [...SANDBOX], message: /^Error: --isolation sandbox cannot be had: OCI runtime runsc cannot be used: \/nonexistent\/gvisor\/runsc \(from \[engine\.runtimes\] in the config\) is not an executable file\n$/ },
        { args: ['--runtime', 'missing'], message: /^Error: OCI runtime missing cannot be used: \/nonexistent\/runsc .* is not an executable file\n$/ },
        { args: [...SANDBOX, '--runtime', 'crun'], message: /^Error: --isolation sandbox needs gVisor's runsc, but --runtime crun runs containers on the host's kernel: drop --runtime or name runsc\n$/ },
        { args: ['--isolation', 'vm'], message: /^Error: invalid argument "vm" for "--isolation" flag: not an isolation: use "default" or "sandbox"\n$/ },
      ];
      for (const c of cases) {
        for (const cmd of ['run', 'create']) {
          const r = sb.run([cmd, ...(cmd === 'run' ? ['--rm'] : []), ...c.args, 'busybox', 'true']);
          assert.equal(r.code, 125, `${cmd} ${c.args.join(' ')}: ${r.stdout}${r.stderr}`);
          assert.match(r.stderr, c.message);
          assert.equal(r.stdout, '');
        }
      }
    } finally {
      writeFileSync(`${configDir}/rootlet.toml`, '');
    }
    const refusals: Array<{ args: string[]; message: RegExp }> = [
      { args: [...SANDBOX, '-m', '64m'], message: /^Error: --memory cannot be enforced under the sandbox \(runsc\): rootless runsc runs without cgroups; run without it, or without --isolation sandbox\n$/ },
      { args: [...SANDBOX, '--network', 'host'], message: /^Error: --network host cannot be used with the sandbox \(runsc\): .*\n$/ },
      { args: [...SANDBOX, '--network', 'pasta'], message: /^Error: --network pasta cannot be used with the sandbox \(runsc\): use the default network or a named one\n$/ },
      { args: [...SANDBOX, '--cap-add', 'BPF'], message: /^Error: --cap-add CAP_BPF cannot be used with the sandbox \(runsc\): gVisor does not have that capability\n$/ },
      { args: [...SANDBOX, '--userns', 'keep-id'], message: /^Error: --userns keep-id cannot be used with the sandbox \(runsc\) here: .*\n$/ },
    ];
    for (const c of refusals) {
      const r = sb.run(['run', '--rm', ...c.args, 'busybox', 'true']);
      assert.equal(r.code, 125, `${c.args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, c.message);
    }
    assert.equal(sb.ok(['ps', '-aq']), '');
    assert.deepEqual(readdirSync(storeDirs(sb).containers), []);
  });
});
