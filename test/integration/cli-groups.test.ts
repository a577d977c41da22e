import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';

/** Issue 12, items 1 and 2: the volume group, and the container and image groups with container prune. */
describe('volume, container and image groups', () => {
  const sb = new Sandbox('cli-groups');
  const volumesDir = () => sb.path('data', 'rootlet', 'volumes');
  const volumeNames = () => (existsSync(volumesDir()) ? readdirSync(volumesDir()).sort() : []);

  before(() => {
    sb.importBusybox();
  });
  after(() => sb.destroy());

  /** One line on stderr, the status, and nothing made or removed. */
  function refused(args: string[], code: number, message: RegExp): void {
    const volumes = volumeNames();
    const containers = sb.ok(['ps', '-aq', '--no-trunc']);
    const r = sb.run(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.deepEqual(volumeNames(), volumes);
    assert.equal(sb.ok(['ps', '-aq', '--no-trunc']), containers);
  }

  test('volume create: the name printed, labels kept, an existing name returned as it is; a made-up name without one', () => {
    assert.equal(sb.ok(['volume', 'create', '--label', 'team=blue', '--label', 'tier=db', 'data']), 'data\n');
    assert.equal(sb.ok(['volume', 'create', 'data']), 'data\n');
    const anon = sb.ok(['volume', 'create']).trim();
    assert.match(anon, /^[0-9a-f]{64}$/);
    assert.equal(sb.ok(['volume', 'create', '-d', 'local', 'plain']), 'plain\n');
  });

  test('volume create refusals: one line, 125, nothing made', () => {
    refused(['volume', 'create', '-o', 'type=tmpfs', 'opts'], 125, /^Error: volume option "type" is not supported/);
    refused(['volume', 'create', '-d', 'nfs', 'drv'], 125, /driver/);
    refused(['volume', 'create', 'bad/name'], 125, /^Error: invalid volume name "bad\/name"/);
    refused(['volume', 'create', '--label', '=x', 'lbl'], 125, /label/);
  });

  test('volume ls: Docker\'s table, -q, filters, --format json and templates', () => {
    const table = sb.ok(['volume', 'ls']).split('\n');
    assert.equal(table[0], 'DRIVER    VOLUME NAME');
    assert.ok(table.includes('local     data'));
    assert.deepEqual(sb.ok(['volume', 'ls', '-q', '-f', 'name=dat']).split('\n').filter(Boolean), ['data']);
    assert.deepEqual(sb.ok(['volume', 'ls', '-q', '-f', 'label=team=blue']).split('\n').filter(Boolean), ['data']);
    assert.deepEqual(sb.ok(['volume', 'ls', '--format', '{{.Name}} {{.Label "tier"}}', '-f', 'label=tier']), 'data db\n');
    const rows = sb.ok(['volume', 'ls', '--format', 'json', '-f', 'name=data']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.Name, 'data');
    assert.equal(rows[0]!.Driver, 'local');
    assert.equal(rows[0]!.Labels, 'team=blue,tier=db');
    assert.deepEqual(sb.ok(['volume', 'ls', '--format', 'table {{.Name}}\\t{{.Scope}}', '-f', 'name=plain']), 'VOLUME NAME   SCOPE\nplain         local\n');
    refused(['volume', 'ls', '-f', 'colour=red'], 1, /^Error: invalid filter 'colour'/);
    refused(['volume', 'ls', '--format', '{{.Nope}}'], 125, /can't evaluate field Nope/);
  });

  test('volume inspect: Docker\'s JSON, -f templates, a missing name reported after the others (status 1)', () => {
    const [doc] = JSON.parse(sb.ok(['volume', 'inspect', 'data'])) as Array<Record<string, unknown>>;
    assert.deepEqual(Object.keys(doc!), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.equal(doc!.Name, 'data');
    assert.equal(doc!.Driver, 'local');
    assert.equal(doc!.Scope, 'local');
    assert.deepEqual(doc!.Labels, { team: 'blue', tier: 'db' });
    assert.match(String(doc!.CreatedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(doc!.Mountpoint, sb.path('data', 'rootlet', 'volumes', 'data', '_data'));
    assert.equal(sb.ok(['volume', 'inspect', '-f', '{{.Name}} {{index .Labels "team"}}', 'data', 'plain']), 'data blue\nplain \n');
    const some = sb.run(['volume', 'inspect', 'data', 'nosuch']);
    assert.equal(some.code, 1);
    assert.equal(some.stderr, 'Error: no such volume: nosuch\n');
    assert.equal((JSON.parse(some.stdout) as unknown[]).length, 1);
  });

  test('volume rm: refused while a container uses it (also with -f); -f makes a missing name no error', () => {
    sb.ok(['create', '--name', 'user', '-v', 'data:/data', 'busybox', 'true']);
    refused(['volume', 'rm', 'data'], 1, /^Error: volume data is in use by container user/);
    refused(['volume', 'rm', '-f', 'data'], 1, /in use/);
    refused(['volume', 'rm', 'nosuch'], 1, /^Error: no such volume: nosuch$/m);
    assert.equal(sb.ok(['volume', 'rm', '-f', 'nosuch', 'plain']), 'plain\n');
    assert.ok(!volumeNames().includes('plain'));
  });

  test('volume prune: anonymous unused ones (all unused with -a), Docker\'s report; asks without -f', () => {
    sb.ok(['volume', 'create', 'spare']);
    sb.ok(['run', '--name', 'anon-user', '-v', '/scratch', 'busybox', 'sh', '-c', 'echo hi > /scratch/f']);
    // Declined: nothing removed.
    const no = sb.run(['volume', 'prune'], { input: 'n\n' });
    assert.equal(no.code, 0);
    assert.match(no.stdout, /^WARNING! This will remove anonymous local volumes not used by at least one container\.\nAre you sure you want to continue\? \[y\/N\] $/);
    const anon = volumeNames().filter((n) => /^[0-9a-f]{64}$/.test(n));
    assert.equal(anon.length, 2, 'the one volume create made up, and anon-user\'s');
    const used = sb.ok(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'anon-user']).trim();
    const madeUp = anon.find((n) => n !== used)!;
    // anon-user's is used until the container goes.
    assert.equal(sb.ok(['volume', 'prune', '-f']), `Deleted Volumes:\n${madeUp}\n\nTotal reclaimed space: 0B\n`);
    sb.ok(['rm', 'anon-user']);
    assert.equal(sb.ok(['volume', 'prune', '-f']), `Deleted Volumes:\n${used}\n\nTotal reclaimed space: 3B\n`);
    assert.equal(sb.ok(['volume', 'prune', '-f']), 'Total reclaimed space: 0B\n');
    assert.ok(volumeNames().includes('spare'), 'named volumes stay without -a');
    refused(['volume', 'prune', '-f', '--filter', 'dangling=true'], 1, /invalid filter 'dangling'/);
    assert.equal(sb.ok(['volume', 'prune', '-a', '-f', '--filter', 'label=nope']), 'Total reclaimed space: 0B\n');
    const all = sb.ok(['volume', 'prune', '-a', '-f']);
    assert.match(all, /^Deleted Volumes:\nspare\n\nTotal reclaimed space: 0B\n$/);
    assert.ok(volumeNames().includes('data'), 'data is still used by the container user');
  });

  test('volume --help prints the group\'s help', () => {
    const r = sb.run(['volume', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: rootlet volume COMMAND/);
    for (const c of ['create', 'ls', 'inspect', 'rm', 'prune']) assert.match(r.stdout, new RegExp(`\\n  ${c}\\b`));
  });

  test('container group: ls/list/ps, run, start, stop, logs, exec, inspect, rm are the top-level commands', () => {
    const id = sb.ok(['container', 'run', '-d', '--name', 'grp', 'busybox', 'sh', '-c', 'echo ready; sleep 600']).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    for (const ls of ['ls', 'list', 'ps']) assert.equal(sb.ok(['container', ls, '-q', '--no-trunc', '-f', 'name=grp']), `${id}\n`);
    assert.equal(sb.ok(['container', 'exec', 'grp', 'echo', 'in']), 'in\n');
    assert.equal(sb.ok(['container', 'inspect', '-f', '{{.State.Status}}', 'grp']), 'running\n');
    assert.equal(sb.ok(['container', 'stop', '-t', '0', 'grp']), 'grp\n');
    assert.equal(sb.ok(['container', 'logs', 'grp']), 'ready\n');
    assert.equal(sb.ok(['container', 'rm', 'grp']), 'grp\n');
    // The same definition: the same help text as the top-level command.
    assert.equal(sb.ok(['container', 'run', '--help']).replace('rootlet container run', 'rootlet run'), sb.ok(['run', '--help']));
    assert.equal(sb.ok(['container', 'commit', '--help']).replace('rootlet container commit', 'rootlet commit'), sb.ok(['commit', '--help']));
    assert.equal(sb.ok(['container', 'ls', '--help']).replace(/rootlet container ls\|list/, 'rootlet ps'), sb.ok(['ps', '--help']));
    const help = sb.ok(['container', '--help']);
    for (const c of ['ls', 'run', 'create', 'start', 'stop', 'restart', 'kill', 'rm', 'prune', 'logs', 'exec', 'attach', 'inspect', 'top', 'stats', 'diff', 'cp', 'export', 'port', 'rename', 'pause', 'unpause', 'wait', 'commit']) {
      assert.match(help, new RegExp(`\\n  ${c}\\b`), c);
    }
    // Docker's two lines: what was wrong, and where the help is.
    const unknown = sb.run(['container', 'nosuch']);
    assert.equal(unknown.code, 125);
    assert.equal(unknown.stderr, "error: unknown command 'nosuch'\nSee 'rootlet container --help'.\n");
  });

  test('image group: every image command, pull and push too', () => {
    const help = sb.ok(['image', '--help']);
    for (const c of ['ls', 'rm', 'tag', 'history', 'inspect', 'prune', 'save', 'load', 'import', 'pull', 'push']) assert.match(help, new RegExp(`\\n  ${c}\\b`), c);
    assert.match(sb.ok(['image', 'list']), /busybox/);
    const bad = sb.run(['image', 'pull', 'NOT_VALID']);
    assert.equal(bad.code, 125);
  });

  test('container prune: stopped containers go, running ones and filtered ones stay; Docker\'s report', () => {
    sb.ok(['run', '--name', 'done1', '--label', 'keep=yes', 'busybox', 'true']);
    sb.ok(['run', '--name', 'done2', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /big']);
    sb.ok(['create', '--name', 'fresh', 'busybox', 'true']);
    sb.ok(['run', '-d', '--name', 'alive', 'busybox', 'sleep', '600']);
    refused(['container', 'prune', '-f', '--filter', 'colour=red'], 1, /^Error: invalid filter 'colour'/);
    refused(['container', 'prune', '-f', '--filter', 'until=soon'], 1, /invalid filter 'until=soon'/);
    const no = sb.run(['container', 'prune'], { input: 'n\n' });
    assert.equal(no.stdout, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
    const ids = (name: string) => sb.ok(['inspect', '-f', '{{.Id}}', name]).trim();
    const gone = [ids('done2'), ids('fresh'), ids('user')];
    const out = sb.ok(['container', 'prune', '-f', '--filter', 'label!=keep=yes']);
    const [head, ...rest] = out.split('\n');
    assert.equal(head, 'Deleted Containers:');
    assert.deepEqual(rest.slice(0, 3).sort(), gone.sort());
    assert.equal(rest[3], '');
    assert.equal(rest[4], 'Total reclaimed space: 5kB');
    assert.deepEqual(sb.ok(['ps', '-a', '--format', '{{.Names}}']).split('\n').filter(Boolean).sort(), ['alive', 'done1']);
    assert.match(sb.ok(['container', 'prune', '-f']), /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: 0B\n$/);
    assert.equal(sb.ok(['container', 'prune', '-f']), 'Total reclaimed space: 0B\n');
    sb.ok(['rm', '-f', 'alive']);
  });
});
