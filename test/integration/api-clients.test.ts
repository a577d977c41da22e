import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { ApiService, insecureRegistryEnv } from '../api-helpers.js';
import { asUser, BIN, Sandbox, until } from '../helpers.js';
import { startRegistry, type Registry } from '../registry-helpers.js';

describe('dockerode against rootlet system service', () => {
  const sb = new Sandbox('api-dockerode');
  let api: ApiService;
  let reg: Registry;

  before(async () => {
    sb.importBusybox();
    reg = await startRegistry();
    sb.ok(['push', '--tls-verify=false', 'busybox', `${reg.host}/lib/busybox:1`]);
    sb.ok(['rmi', 'busybox']);
    api = new ApiService(sb, { env: insecureRegistryEnv(sb, reg.host) });
    await api.ready();
  });
  after(async () => {
    await api?.stop();
    reg?.stop();
    sb.destroy();
  });

  test('a script streams a pull, creates, attaches, waits and removes', async () => {
    const docker = new Docker({ socketPath: api.sock });
    const image = `${reg.host}/lib/busybox:1`;
    const events: Array<{ status?: string; error?: string }> = [];
    const pull = await docker.pull(image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(pull, (err) => (err ? reject(err) : resolve()), (e: { status?: string }) => events.push(e)));
    assert.ok(events.some((e) => /Downloaded newer image|Image is up to date/.test(e.status ?? '')), JSON.stringify(events));
    const c = await docker.createContainer({ Image: image, Cmd: ['sh', '-c', 'echo to-out; echo to-err >&2; exit 7'] });
    const stream = await c.attach({ stream: true, stdout: true, stderr: true, hijack: true });
    const out = new PassThrough();
    const err = new PassThrough();
    let outText = '';
    let errText = '';
    out.on('data', (d: Buffer) => { outText += d.toString(); });
    err.on('data', (d: Buffer) => { errText += d.toString(); });
    docker.modem.demuxStream(stream, out, err);
    const ended = new Promise((r) => stream.on('end', r));
    const waited = c.wait({ condition: 'next-exit' });
    await c.start();
    const result = await waited as { StatusCode: number };
    await ended;
    assert.equal(result.StatusCode, 7);
    assert.equal(outText, 'to-out\n');
    assert.equal(errText, 'to-err\n');
    const info = await c.inspect();
    assert.equal(info.State.ExitCode, 7);
    await c.remove();
    await assert.rejects(c.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
    // A pull that fails answers in the stream, as Docker's does.
    const bad = await docker.pull(`${reg.host}/lib/no-such:1`);
    const badEvents: Array<{ error?: string }> = [];
    await new Promise<void>((resolve) => docker.modem.followProgress(bad, () => resolve(), (e: { error?: string }) => badEvents.push(e)));
    assert.match(badEvents.at(-1)?.error ?? '', /no-such/);
  });

  test('a client that disconnects mid-attach and mid-pull leaves the service serving and the container running', async () => {
    const docker = new Docker({ socketPath: api.sock });
    const c = await docker.createContainer({ Image: `${reg.host}/lib/busybox:1`, Cmd: ['sh', '-c', 'while true; do echo x; sleep 0.2; done'] });
    await c.start();
    const stream = await c.attach({ stream: true, stdout: true, stderr: true, hijack: true }) as unknown as { destroy(): void; once(e: string, f: () => void): void };
    await new Promise<void>((r) => stream.once('data', () => r()));
    stream.destroy();
    const pull = await docker.pull(`${reg.host}/lib/busybox:1`) as unknown as { destroy(): void };
    pull.destroy();
    assert.equal((await docker.ping()).toString(), 'OK');
    assert.equal((await c.inspect()).State.Running, true);
    await c.remove({ force: true });
    assert.deepEqual(await docker.listContainers({ all: true }), []);
  });
});

// The admin policy: the second test user has one (test/fixtures/policy-rootlet-ci2.toml); a request it refuses
// through the API comes back as an authorization error that names the rule, which the docker CLI prints.
describe('the admin policy through the API', () => {
  const USER = 'rootlet-ci2';
  const pw = spawnSync('getent', ['passwd', USER], { encoding: 'utf8' }).stdout.split(':');
  let store = '';
  let env: Record<string, string> = {};
  let child: ReturnType<typeof spawn> | undefined;
  let sock = '';

  before(async () => {
    store = asUser(USER, ['mktemp', '-d', '/tmp/rootlet-api-policy-XXXXXX']).stdout.trim();
    assert.ok(store);
    env = {
      HOME: pw[5]!, USER, PATH: '/usr/local/bin:/usr/bin:/bin',
      XDG_DATA_HOME: join(store, 'data'), XDG_CONFIG_HOME: join(store, 'config'), XDG_RUNTIME_DIR: join(store, 'run'),
    };
    const made = asUser(USER, ['bash', '-c', `mkdir -m 0700 ${store}/run && mkdir -p ${store}/config/rootlet && printf '[containers]\\nkeyring = false\\n' > ${store}/config/rootlet/rootlet.toml`]);
    assert.equal(made.code, 0, made.stderr);
    sock = join(store, 'run', 'rootlet', 'docker.sock');
    child = spawn('sudo', ['-n', '-u', USER, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, 'system', 'service', '--time', '0'], { stdio: 'ignore' });
    await until('the second user\'s API socket', () => asUser(USER, ['test', '-S', sock]).code === 0, 30_000);
  });
  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (store) {
      asUser(USER, [process.execPath, BIN, 'system', 'reset', '--force'], env);
      asUser(USER, ['rm', '-rf', store]);
    }
  });

  test('a denied request: the client prints the rule, exits 125, nothing is created', () => {
    const docker = (...args: string[]) => asUser(USER, ['docker', ...args], { ...env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(store, 'docker-config') });
    const r = docker('run', '--rm', '--network', 'host', '127.0.0.1:1/x', 'true');
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /denied by policy \/etc\/rootlet\/policy\.d\/50-rootlet-tests\.toml:\d+ \(\[user\.rootlet-ci2\] (host_network|registries) = /);
    const ps = docker('ps', '-aq');
    assert.equal(ps.code, 0, ps.stderr);
    assert.equal(ps.stdout, '');
  });
});
