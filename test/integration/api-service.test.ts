import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService } from '../api-helpers.js';
import { BIN, Sandbox, until } from '../helpers.js';
import { sleep, waitFor } from '../lifecycle-helpers.js';

// Issue 15: the API service as a user meets it: the docker CLI in a real
// terminal (a pseudo-terminal made by script(1), as terminal.test.ts does),
// the systemd units of --install, socket activation, a client that leaves
// mid-request, and system check's hint where no systemd session runs.

/** A shell command line in a pty of `rows`x`columns`; `tty` is written the pty's name, so the test can resize it. */
function inPty(env: NodeJS.ProcessEnv, cwd: string, command: string, o: { rows: number; columns: number; ttyFile: string }) {
  const child = spawn('script', ['-qfec', `tty > ${o.ttyFile}; stty rows ${o.rows} cols ${o.columns}; exec ${command}`, '/dev/null'], {
    env: { ...env, TERM: 'xterm' }, cwd, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  const done = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return { child, out: () => out, done };
}

describe('the API service in a terminal, under systemd, and when clients leave', () => {
  const sb = new Sandbox('api-service');
  let api: ApiService;
  // The service reports its live handles (timers, sockets, pipes) on SIGUSR2, into a file per process.
  const handles = sb.path('handles');
  const preload = sb.path('report-handles.cjs');

  before(async () => {
    sb.importBusybox();
    writeFileSync(preload, [
      'let n = 0;',
      'process.on("SIGUSR2", () => {',
      '  n++;',
      '  const fs = require("fs");',
      `  const file = ${JSON.stringify(handles)} + "." + process.pid;`,
      // Whole or not at all: the test reads it while it may be written.
      '  fs.writeFileSync(file + ".new", JSON.stringify({ n, resources: process.getActiveResourcesInfo() }));',
      '  fs.renameSync(file + ".new", file);',
      '});',
    ].join('\n'));
    api = new ApiService(sb, { env: { NODE_OPTIONS: `--require ${preload}` } });
    await api.ready();
    api.dockerOk(['run', '-d', '--name', 'box', 'busybox', 'sleep', '100000']);
    // One that writes now and then: an attach learns its client left at the next write (see the leak test).
    api.dockerOk(['run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.5; done']);
  });
  after(async () => {
    await api?.stop();
    sb.destroy();
  });

  test('docker exec -it in a terminal: stty size inside is the terminal\'s, at the start and after a resize', async () => {
    const ttyFile = sb.path('exec.tty');
    const docker = `env DOCKER_HOST=${api.clientEnv.DOCKER_HOST} DOCKER_CONFIG=${api.clientEnv.DOCKER_CONFIG} docker exec -it box sh`;
    const p = inPty(process.env, sb.root, docker, { rows: 31, columns: 97, ttyFile });
    await waitFor('the prompt', () => p.out().includes('# '));
    p.child.stdin.write('stty size\r');
    await waitFor('the first size', () => p.out().includes('31 97'), 30_000).catch(() => assert.fail(p.out()));
    // The terminal changes size: the client (SIGWINCH) sends a resize, and the exec's terminal follows.
    const tty = readFileSync(ttyFile, 'utf8').trim();
    assert.equal(spawnSync('stty', ['-F', tty, 'rows', '42', 'cols', '120']).status, 0);
    // Each try asks again: the resize request may land after the first ask.
    await waitFor('the new size', () => {
      if (!p.out().includes('42 120')) p.child.stdin.write('stty size\r');
      return p.out().includes('42 120');
    }, 30_000, 500).catch(() => assert.fail(p.out()));
    p.child.stdin.write('exit 5\r');
    assert.equal(await p.done, 5, p.out());
  });

  test('docker exec -t without -i: the size still comes from the terminal', async () => {
    const p = inPty(process.env, sb.root, `env DOCKER_HOST=${api.clientEnv.DOCKER_HOST} DOCKER_CONFIG=${api.clientEnv.DOCKER_CONFIG} docker exec -t box stty size`, { rows: 23, columns: 71, ttyFile: sb.path('exec-t.tty') });
    assert.equal(await p.done, 0, p.out());
    assert.match(p.out(), /^23 71\r?$/m);
  });

  test('docker attach to a -it container in a terminal: a typed command runs; ctrl-p ctrl-q detaches and leaves it running', async () => {
    api.dockerOk(['run', '-d', '-it', '--name', 'talk', 'busybox', 'sh']);
    const p = inPty(process.env, sb.root, `env DOCKER_HOST=${api.clientEnv.DOCKER_HOST} DOCKER_CONFIG=${api.clientEnv.DOCKER_CONFIG} docker attach talk`, { rows: 24, columns: 80, ttyFile: sb.path('attach.tty') });
    // The shell printed its prompt before the attach: a newline brings a new one.
    await waitFor('the attach', () => { p.child.stdin.write('\r'); return p.out().includes('# '); }, 30_000, 500);
    p.child.stdin.write('echo hel""lo\r');
    await waitFor('the echo', () => p.out().includes('hello'));
    p.child.stdin.write('\x10\x11');
    // The client's exit code after a detach is its own (the docker CLI's attach exits 1 with this line, as against Docker).
    await p.done;
    assert.match(p.out(), /read escape sequence/);
    assert.equal(api.dockerOk(['inspect', '--format', '{{.State.Running}}', 'talk']), 'true\n');
    api.dockerOk(['rm', '-f', 'talk']);
  });

  test('a bad ConsoleSize in exec create or in a container\'s HostConfig is a 400 and makes neither', async () => {
    const r = await api.request('POST', '/containers/box/exec', JSON.stringify({ Cmd: ['true'], Tty: true, ConsoleSize: [24] }));
    assert.equal(r.status, 400, r.body);
    assert.match(JSON.parse(r.body).message as string, /invalid ConsoleSize: a \[height, width\] pair of whole numbers expected/);
    const created = await api.request('POST', '/containers/create?name=badsize', JSON.stringify({ Image: 'busybox', Tty: true, HostConfig: { ConsoleSize: [24, -1] } }));
    assert.equal(created.status, 400, created.body);
    assert.match(JSON.parse(created.body).message as string, /invalid HostConfig\.ConsoleSize: a \[height, width\] pair of whole numbers expected/);
    assert.equal((await api.request('GET', '/containers/badsize/json')).status, 404);
  });

  test('docker run -t in a terminal: the client sends its size with the create, and the first instruction sees it (crun, and gVisor, which ignores the spec\'s size)', async () => {
    for (const runtime of [[], ['--runtime', 'runsc']]) {
      const p = inPty(process.env, sb.root, `env DOCKER_HOST=${api.clientEnv.DOCKER_HOST} DOCKER_CONFIG=${api.clientEnv.DOCKER_CONFIG} docker run --rm -t ${runtime.join(' ')} busybox stty size`, { rows: 23, columns: 71, ttyFile: sb.path('run-t.tty') });
      assert.equal(await p.done, 0, p.out());
      assert.match(p.out(), /^23 71\r?$/m, runtime.join(' '));
    }
  });

  test('HostConfig.ConsoleSize: a -t container started with no client attached still has that size from its first instruction', async () => {
    const body = JSON.stringify({ Image: 'busybox', Cmd: ['stty', 'size'], Tty: true, HostConfig: { ConsoleSize: [23, 71] } });
    const created = await api.request('POST', '/containers/create?name=sized', body);
    assert.equal(created.status, 201, created.body);
    assert.equal((await api.request('POST', '/containers/sized/start')).status, 204);
    assert.equal((await api.request('POST', '/containers/sized/wait')).status, 200);
    assert.match(api.dockerOk(['logs', 'sized']), /^23 71\r?$/m);
    assert.equal(api.dockerOk(['inspect', '--format', '{{json .HostConfig.ConsoleSize}}', 'sized']), '[23,71]\n');
    api.dockerOk(['rm', 'sized']);
  });

  test('clients that leave mid-wait, mid-follow and mid-attach leave no timer, socket, pipe or child behind', async () => {
    const pid = api.child.pid!;
    const report = async () => {
      const file = `${handles}.${pid}`;
      const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { n: number }).n : 0;
      process.kill(pid, 'SIGUSR2');
      return waitFor('the handle report', () => {
        const r = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as { n: number; resources: string[] } : undefined;
        return r && r.n > before ? r.resources : undefined;
      });
    };
    const count = (rs: string[]) => {
      const by: Record<string, number> = {};
      // FSReqCallback: a file operation in flight, not something held.
      for (const r of rs) if (r !== 'FSReqCallback') by[r] = (by[r] ?? 0) + 1;
      return by;
    };
    const children = () => readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean)).length;
    const fds = () => readdirSync(`/proc/${pid}/fd`).filter((f) => { try { return !readlinkSync(`/proc/${pid}/fd/${f}`).startsWith('anon_inode:'); } catch { return false; } }).length;
    // Each kind once to the end first: what the service keeps for good (the engine, its database) is in the baseline.
    api.dockerOk(['run', '--name', 'once', 'busybox', 'echo', 'hi']);
    api.dockerOk(['logs', 'once']);
    api.dockerOk(['wait', 'once']);
    api.dockerOk(['rm', 'once']);
    const base = { handles: count(await report()), children: children(), fds: fds() };

    /** Starts a request, and leaves once its answer has begun (the headers came): the service is then waiting for the container. */
    const leave = (method: string, path: string, headers: Record<string, string> = {}) => new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: api.sock, method, path, headers }, (res) => {
        assert.equal(res.statusCode, 200);
        res.destroy();
        req.destroy();
        resolve();
      });
      req.on('upgrade', (_res, socket) => { socket.destroy(); resolve(); });
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
      req.end();
    });
    for (let i = 0; i < 30; i++) {
      await leave('POST', '/containers/box/wait');
      await leave('GET', '/containers/box/logs?follow=1&stdout=1&stderr=1');
      // The docker CLI closes its sending side at once when it has no input: on a unix socket that reads as a client that
      // left, so a hijacked attach learns the client is gone only when it writes to it (as Docker's): ticker writes.
      await leave('POST', '/containers/ticker/attach?stream=1&stdout=1&stderr=1&stdin=1', { Connection: 'Upgrade', Upgrade: 'tcp' });
    }
    // Everything the 90 requests held goes once the service has seen them gone.
    let now = base;
    const settled = () => Object.entries(now.handles).every(([k, n]) => n <= (base.handles[k] ?? 0)) && now.children <= base.children && now.fds <= base.fds;
    const deadline = Date.now() + 30_000;
    do {
      now = { handles: count(await report()), children: children(), fds: fds() };
      if (settled()) break;
      await sleep(500);
    } while (Date.now() < deadline);
    assert.ok(settled(), `held after the clients left: ${JSON.stringify(now)}; before: ${JSON.stringify(base)}`);
    // And it still answers, and the container it waited on runs on.
    assert.equal((await api.request('GET', '/_ping')).body, 'OK');
    assert.equal(api.dockerOk(['inspect', '--format', '{{.State.Running}}', 'box']), 'true\n');
    assert.equal(api.dockerOk(['inspect', '--format', '{{.State.Running}}', 'ticker']), 'true\n');
  });

  test('system service --install writes the socket and service units; --uninstall removes them', () => {
    const dir = sb.path('config', 'systemd', 'user');
    const r = sb.run(['system', 'service', '--install', '--time', '30']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /systemctl --user daemon-reload && systemctl --user enable --now rootlet\.socket/);
    assert.match(r.stdout, new RegExp(`export DOCKER_HOST=unix://${sb.env.XDG_RUNTIME_DIR}/rootlet/docker\\.sock`));
    const socket = readFileSync(join(dir, 'rootlet.socket'), 'utf8');
    const service = readFileSync(join(dir, 'rootlet.service'), 'utf8');
    assert.match(socket, /^ListenStream=%t\/rootlet\/docker\.sock$/m);
    assert.match(socket, /^SocketMode=0600$/m);
    assert.match(socket, /^DirectoryMode=0700$/m);
    assert.match(socket, /^WantedBy=sockets\.target$/m);
    // This rootlet, by absolute paths, serving what systemd passes and exiting when idle.
    assert.match(service, new RegExp(`^ExecStart=${process.execPath} ${BIN.replace(/[.]/g, '\\.')} system service --time 30$`, 'm'));
    assert.match(service, /^Requires=rootlet\.socket$/m);
    // The store it serves is this one.
    assert.match(service, new RegExp(`^Environment=XDG_DATA_HOME=${sb.env.XDG_DATA_HOME}$`, 'm'));
    for (const f of ['rootlet.socket', 'rootlet.service']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o644, f);

    // Installed again (a new rootlet, another time): replaced.
    assert.equal(sb.run(['system', 'service', '--install', '--time', '9']).code, 0);
    assert.match(readFileSync(join(dir, 'rootlet.service'), 'utf8'), /--time 9$/m);

    const u = sb.run(['system', 'service', '--uninstall']);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /Removed .*rootlet\.socket/);
    assert.match(u.stdout, /systemctl --user disable --now rootlet\.socket/);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('--install and --uninstall: bad use and files rootlet did not make are refused in one line', () => {
    const dir = sb.path('config', 'systemd', 'user');
    const refused = (args: string[], want: RegExp) => {
      const r = sb.run(['system', 'service', ...args]);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, want);
    };
    refused(['--uninstall'], /the API's units are not installed in/);
    refused(['--install', '--uninstall'], /--install and --uninstall exclude each other/);
    refused(['--uninstall', 'unix:///tmp/x.sock'], /--uninstall takes no address/);
    refused(['--install', 'http://localhost'], /invalid address http:\/\/localhost/);
    // The user's own unit of that name is neither overwritten nor removed.
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'rootlet.service'), '[Service]\nExecStart=/bin/true\n');
    refused(['--install'], /rootlet\.service exists and was not made by rootlet/);
    refused(['--uninstall'], /rootlet\.service was not made by rootlet/);
    assert.equal(readFileSync(join(dir, 'rootlet.service'), 'utf8'), '[Service]\nExecStart=/bin/true\n');
    assert.deepEqual(readdirSync(dir), ['rootlet.service']);
    // Another address: the socket unit listens there.
    writeFileSync(join(dir, 'rootlet.service'), '');
    spawnSync('rm', [join(dir, 'rootlet.service')]);
    assert.equal(sb.run(['system', 'service', '--install', `unix://${sb.path('other.sock')}`]).code, 0);
    assert.match(readFileSync(join(dir, 'rootlet.socket'), 'utf8'), new RegExp(`^ListenStream=${sb.path('other.sock')}$`, 'm'));
    assert.equal(sb.run(['system', 'service', '--uninstall']).code, 0);
  });

  test('socket activation: the service serves the socket it is passed as fd 3 (LISTEN_FDS), and exits when idle', { skip: !spawnSync('sh', ['-c', 'command -v systemd-socket-activate']).stdout?.length && 'systemd-socket-activate is not installed' }, async () => {
    const sock = sb.path('activated.sock');
    const log = sb.path('activated.log');
    // systemd-socket-activate binds, then execs the service at the first connection with LISTEN_FDS=1 and LISTEN_PID its pid.
    const env = ['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'PATH', 'HOME', 'USER'].flatMap((k) => ['-E', k]);
    const child: ChildProcess = spawn('sh', ['-c', `exec systemd-socket-activate -l ${sock} ${env.join(' ')} ${process.execPath} ${BIN} system service --time 1 > ${log} 2>&1`], { env: sb.env, cwd: sb.root, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      await until('the socket', () => existsSync(sock));
      const v = spawnSync('docker', ['version', '--format', '{{.Server.Platform.Name}} {{.Server.APIVersion}}'], { env: { ...api.clientEnv, DOCKER_HOST: `unix://${sock}` }, encoding: 'utf8', timeout: 60_000 });
      assert.equal(v.status, 0, `${v.stderr}\n${readFileSync(log, 'utf8')}`);
      assert.equal(v.stdout, 'rootlet 1.43\n');
      assert.match(api.docker(['ps', '--format', '{{.Names}}'], { env: { DOCKER_HOST: `unix://${sock}` } }).stdout, /^box$/m);
      // Idle a second: it exits by itself (systemd would start it again at the next connection), cleanly.
      assert.equal(await exited, 0, readFileSync(log, 'utf8'));
      assert.match(readFileSync(log, 'utf8'), /idle: no client for a while, exiting/);
      // The socket is systemd's: the service did not remove it.
      assert.ok(existsSync(sock));
    } finally {
      if (child.exitCode === null) child.kill();
    }
  });

  test('system check: with no systemd user session, one line says how to start the API service by hand', () => {
    // The sandbox's runtime directory has no systemd/private: no user manager answers there.
    const r = sb.run(['system', 'check']);
    const lines = r.stdout.split('\n').filter((l) => /API service/.test(l));
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0]!, /^warn\s+API service: no systemd user session/);
    const fix = r.stdout.split('\n')[r.stdout.split('\n').indexOf(lines[0]!) + 1]!;
    assert.match(fix, /fix: start it by hand: rootlet system service --time 0 & export DOCKER_HOST=unix:\/\/.*\/run\/rootlet\/docker\.sock/);
  });
});
