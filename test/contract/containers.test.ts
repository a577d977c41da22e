// The container service's contract, driven directly: no CLI, no text
// parsing; in-memory streams stand in for a caller (as an API connection
// would), real containers run under the real runtime as the test user.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { CreateRequest, Services } from '../../src/engine/index.js';
import { EngineError } from '../../src/util/errors.js';
import { memoryContext as caller, openContractStore, type ContractStore } from '../contract-helpers.js';
import { until } from '../helpers.js';

function request(cmd: string[], over: Partial<CreateRequest> = {}): CreateRequest {
  return { image: 'busybox', cmd, ...over, host: { networkMode: 'none', ...over.host } };
}

let store: ContractStore;
let svc: Services;

before(async () => {
  store = await openContractStore('contract-containers');
  store.sb.importBusybox();
  svc = store.services;
});

after(() => store?.close());

describe('containers through the service', () => {
  test('run in the foreground: the output bytes on the caller\'s streams, the exit code returned', async () => {
    const c = caller();
    const r = await svc.containers.run(request(['sh', '-c', 'echo hello; echo oops >&2; exit 3'], { host: { autoRemove: true } }), { detach: false }, c.ctx);
    assert.deepEqual(r, { exitCode: 3 });
    assert.equal(c.out(), 'hello\n');
    assert.equal(c.err(), 'oops\n');
  });

  test('run -i: the caller\'s input reaches the container', async () => {
    const c = caller({ stdin: 'line one\nline two\n' });
    const r = await svc.containers.run(request(['sh', '-c', 'wc -l; cat'], { openStdin: true, host: { autoRemove: true } }), { detach: false }, c.ctx);
    assert.equal(r.exitCode, 0);
    assert.equal(c.out().trim(), '2');
  });

  test('run without --rm keeps the output for logs; tail and timestamps are the service\'s', async () => {
    const c = caller();
    const r = await svc.containers.run(request(['sh', '-c', 'echo a; echo b; echo c >&2'], { name: 'kept' }), { detach: false }, c.ctx);
    assert.equal(r.exitCode, 0);
    const all = caller();
    await svc.containers.logs('kept', {}, all.ctx);
    assert.equal(all.out(), 'a\nb\n');
    assert.equal(all.err(), 'c\n');
    const last = caller();
    await svc.containers.logs('kept', { tail: 1 }, last.ctx);
    assert.equal(last.out() + last.err(), 'c\n');
    await svc.containers.remove('kept');
    assert.ok(!(await svc.containers.list({ all: true })).some((s) => s.name === 'kept'));
  });

  test('a detached container\'s life: run -d, list, exec, attach, logs, stop, wait, rm', async () => {
    const c = caller();
    const { id } = await svc.containers.run(request(['sh', '-c', 'echo started; while read -r l; do echo "got $l"; done'], { name: 'life', openStdin: true }), { detach: true }, c.ctx);
    assert.ok(id && /^[0-9a-f]{64}$/.test(id));
    const row = (await svc.containers.list()).find((s) => s.id === id);
    assert.ok(row, 'listed');
    assert.equal(row.state, 'running');
    assert.equal(typeof row.created, 'number');
    assert.deepEqual(row.ports, []);

    const e = caller({ env: { IGNORED: 'x' } });
    const code = await svc.containers.exec('life', { command: ['sh', '-c', 'echo "$FOO $(pwd)"; exit 5'], env: ['FOO=bar'], workingDir: '/tmp' }, e.ctx);
    assert.equal(code, 5);
    assert.equal(e.out(), 'bar /tmp\n');

    // Attached input reaches the container; the detach keys leave it running (its input stays open, as Docker's without --sig-proxy).
    const input = new PassThrough();
    const a = caller({ stdin: input });
    const attached = svc.containers.attach('life', { stdin: true, detachKeys: Buffer.from([0x10, 0x11]) }, a.ctx);
    input.write('ping\n');
    await until('the echo of the attached input', () => a.out().includes('got ping'), 60_000);
    input.write(Buffer.from([0x10, 0x11]));
    assert.deepEqual(await attached, { detached: true });
    assert.equal((await svc.containers.list()).find((s) => s.id === id)?.state, 'running');

    const logs = caller();
    await svc.containers.logs('life', {}, logs.ctx);
    assert.equal(logs.out(), 'started\ngot ping\n');
    await svc.containers.stop('life', { timeoutSec: 5 });
    // sh as PID 1 ignores SIGTERM: the stop ends in SIGKILL.
    assert.equal(await svc.containers.wait('life'), 137);
    await svc.containers.remove('life');
  });

  test('stop wins over a sleeping process: SIGKILL after the timeout, exit code 137', async () => {
    const { id } = await svc.containers.run(request(['sleep', '600'], { name: 'sleeper' }), { detach: true }, caller().ctx);
    await svc.containers.stop('sleeper', { timeoutSec: 1 });
    assert.equal(await svc.containers.wait(id!), 137);
    const doc = await svc.containers.inspect('sleeper') as { State: { Running: boolean; ExitCode: number } };
    assert.equal(doc.State.Running, false);
    assert.equal(doc.State.ExitCode, 137);
    await svc.containers.remove(id!);
    await assert.rejects(svc.containers.inspect(id!), (e: unknown) => e instanceof EngineError && /No such container/.test(e.message));
  });

  test('published ports come back as objects', async () => {
    const { id } = await svc.containers.run({
      image: 'busybox', cmd: ['sleep', '600'], name: 'published',
      host: { portBindings: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }] },
    }, { detach: true }, caller().ctx);
    const row = (await svc.containers.list()).find((s) => s.id === id)!;
    assert.equal(row.ports.length, 1);
    assert.equal(row.ports[0]!.containerPort, 80);
    assert.equal(row.ports[0]!.hostIp, '127.0.0.1');
    assert.ok(row.ports[0]!.hostPort > 0, 'a free host port was bound');
    assert.deepEqual((await svc.containers.ports(id!)).ports, row.ports);
    await svc.containers.remove(id!, { force: true });
  });

  test('cp resolves a relative host path against the caller\'s cwd, not the engine\'s', async () => {
    const { id } = await svc.containers.run(request(['sleep', '600']), { detach: true }, caller().ctx);
    const dir = mkdtempSync(join(store.sb.root, 'cwd-'));
    await svc.containers.copyFrom(id!, '/etc/passwd', 'copied', { follow: false, archive: false }, caller({ cwd: dir }).ctx);
    assert.ok(existsSync(join(dir, 'copied')));
    assert.match(readFileSync(join(dir, 'copied'), 'utf8'), /^root:/);
    // DEST "-": a tar on the caller's output stream.
    const tar = caller();
    await svc.containers.copyFrom(id!, '/etc/passwd', '-', { follow: false, archive: false }, tar.ctx);
    assert.ok(tar.out().startsWith('passwd'), 'a tar whose first member is passwd');
    await svc.containers.remove(id!, { force: true });
  });

  test('a bad request is refused with an EngineError before anything is created', async () => {
    const before = (await svc.containers.list({ all: true })).length;
    const refused = (req: CreateRequest, re: RegExp) => assert.rejects(svc.containers.create(req, { pull: 'never' }), (e: unknown) => e instanceof EngineError && e.exitCode === 125 && re.test(e.message));
    await refused(request(['x'], { host: { resources: { memoryBytes: 1024 } } }), /memory limit .* below the minimum/);
    await refused(request(['x'], { host: { mounts: [{ type: 'bind', source: 'relative', target: '/x' }] } }), /must be an absolute path/);
    await refused(request(['x'], { host: { mounts: [{ type: 'volume', source: 'v', target: '/' }] } }), /cannot mount over the container's root/);
    await refused(request(['x'], { env: ['NOVALUE'] }), /invalid environment variable/);
    await refused(request(['x'], { host: { autoRemove: true, restartPolicy: { name: 'always', maxRetries: 0 } } }), /conflicting options/);
    await refused({ image: 'nosuchimage', cmd: ['x'] }, /nosuchimage/);
    // Issue 12's values, checked for a door that has no flag grammar (the API) as for the CLI.
    await refused(request(['x'], { host: { ulimits: [{ name: 'nofile', soft: 10, hard: 5 }] } }), /soft limit 10 is above the hard limit 5/);
    await refused(request(['x'], { host: { ulimits: [{ name: 'openfiles', soft: 1, hard: 1 }] } }), /invalid ulimit type: openfiles/);
    await refused(request(['x'], { host: { annotations: { 'run.oci.keep_original_groups': '1' } } }), /run\.oci\.\* annotations/);
    await refused(request(['x'], { host: { logConfig: { type: 'syslog' as never } } }), /invalid log driver "syslog"/);
    await refused(request(['x'], { host: { logConfig: { type: 'k8s-file', config: { 'max-file': '3' } } } }), /unknown log opt 'max-file'/);
    await refused(request(['x'], { host: { mounts: [{ type: 'bind', source: '/nonexistent/src', target: '/x', mustExist: true }] } }), /bind source path does not exist/);
    await refused(request(['x'], { platform: 'linux/s390x' }), /not the --platform asked \(linux\/s390x\)/);
    assert.equal((await svc.containers.list({ all: true })).length, before);
  });
});
