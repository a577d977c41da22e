import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sandbox, until } from '../helpers.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

type Doc = Record<string, any>;


describe('ps and inspect', () => {
  const sb = new Sandbox('inspect');
  const names = (args: string[]) => sb.ok(['ps', ...args, '--format', '{{.Names}}']).split('\n').filter(Boolean);
  const inspect = (...refs: string[]): Doc[] => JSON.parse(sb.ok(['inspect', ...refs])) as Doc[];
  let bgId = '';

  before(() => {
    sb.importBusybox();
    const dir = sb.path('share');
    mkdirSync(dir);
    // fg: exited 3, wrote 3 bytes; bg: running; made: created, never started. Created in that order.
    const fg = sb.run(['run', '--name', 'fg', '-l', 'role=web', '-l', 'tier=back', '-v', `${dir}:/share:ro`, '--tmpfs', '/run',
      'busybox', 'sh', '-c', 'echo hi > /file; exit 3']);
    assert.equal(fg.code, 3, fg.stderr);
    bgId = sb.ok(['run', '-d', '--name', 'bg', '--restart', 'on-failure:2', '-l', 'role=db', '-v', 'vol1:/data', 'busybox', 'sleep', '300']).trim();
    sb.ok(['create', '--name', 'made', 'busybox', 'true']);
  });
  after(() => {
    sb.run(['rm', '-f', 'bg', 'fg', 'made']);
    sb.destroy();
  });

  test('ps: running containers only, in Docker\'s table', () => {
    const lines = sb.ok(['ps']).trimEnd().split('\n');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^CONTAINER ID   IMAGE     COMMAND\s+CREATED\s+STATUS\s+PORTS     NAMES$/);
    assert.match(lines[1]!, new RegExp(`^${bgId.slice(0, 12)}   busybox   "sleep 300"\\s+.* ago\\s+Up .*\\s+bg$`));
    // Columns line up under their headers.
    assert.equal(lines[1]!.indexOf('busybox'), lines[0]!.indexOf('IMAGE'));
    assert.equal(lines[1]!.lastIndexOf('bg'), lines[0]!.indexOf('NAMES'));
  });

  test('ps -a, -n, -l, -q, --no-trunc', () => {
    assert.deepEqual(names(['-a']), ['made', 'bg', 'fg']);
    assert.deepEqual(names(['-n', '2']), ['made', 'bg']);
    assert.deepEqual(names(['-l']), ['made']);
    assert.equal(sb.ok(['ps', '-q']).trim(), bgId.slice(0, 12));
    assert.equal(sb.ok(['ps', '-q', '--no-trunc']).trim(), bgId);
    const all = sb.ok(['ps', '-aq']).trim().split('\n');
    assert.equal(all.length, 3);
    assert.ok(all.every((id) => /^[0-9a-f]{12}$/.test(id)));
    // -q wins over --format, as in Docker.
    assert.equal(sb.ok(['ps', '-q', '--format', '{{.Names}}']).trim(), bgId.slice(0, 12));
    assert.match(sb.ok(['ps', '-a', '--no-trunc', '--format', '{{.Command}}']), /"sh -c 'echo hi > \/file; exit 3'"/);
    assert.match(sb.ok(['ps', '-a', '--format', '{{.Command}}']), /"sh -c 'echo hi > \/f…"/);
  });

  test('ps --filter: one key ORs, keys AND; status shows stopped containers without -a', () => {
    assert.deepEqual(names(['-f', 'status=exited']), ['fg']);
    assert.deepEqual(names(['-f', 'status=created']), ['made']);
    assert.deepEqual(names(['-f', 'status=created', '-f', 'status=running']), ['made', 'bg']);
    assert.deepEqual(names(['-a', '-f', 'exited=3']), ['fg']);
    assert.deepEqual(names(['-a', '-f', 'exited=0']), []);
    assert.deepEqual(names(['-a', '-f', 'label=role']), ['bg', 'fg']);
    assert.deepEqual(names(['-a', '-f', 'label=role=web']), ['fg']);
    assert.deepEqual(names(['-a', '-f', 'label=role', '-f', 'label=tier=back']), ['fg']);
    assert.deepEqual(names(['-a', '-f', 'name=^b']), ['bg']);
    assert.deepEqual(names(['-a', '-f', 'name=fg', '-f', 'name=bg']), ['bg', 'fg']);
    assert.deepEqual(names(['-a', '-f', 'name=g', '-f', 'status=running']), ['bg']);
    assert.deepEqual(names(['-a', '-f', 'ancestor=busybox']), ['made', 'bg', 'fg']);
    assert.deepEqual(names(['-a', '-f', `id=${bgId.slice(0, 6)}`]), ['bg']);
    assert.deepEqual(names(['-a', '-f', 'volume=vol1']), ['bg']);
    assert.deepEqual(names(['-f', 'since=fg']), ['made', 'bg']);
    assert.deepEqual(names(['-f', 'before=made']), ['bg', 'fg']);
    assert.deepEqual(names(['-n', '1', '-f', 'status=exited']), ['fg']);
    const bad = sb.run(['ps', '-f', 'colour=red']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error: invalid filter 'colour'/);
    const badStatus = sb.run(['ps', '-f', 'status=asleep']);
    assert.equal(badStatus.code, 1);
    assert.match(badStatus.stderr, /invalid filter 'status=asleep'/);
  });

  test('ps --format: table with Docker\'s headers, json, .Label, errors', () => {
    const table = sb.ok(['ps', '-a', '--format', 'table {{.Names}}\\t{{.State}}\\t{{.Label "role"}}']).split('\n');
    assert.equal(table[0], 'NAMES     STATE     ROLE');
    assert.equal(table[1]!.trimEnd(), 'made      created');
    assert.equal(table[2], 'bg        running   db');
    assert.equal(table[3], 'fg        exited    web');
    const rows = sb.ok(['ps', '-a', '--format', '{{json .}}']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(Object.keys(rows[0]!), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks',
      'Ports', 'RunningFor', 'Size', 'State', 'Status']);
    const fg = rows.find((r) => r.Names === 'fg')!;
    assert.equal(fg.Labels, 'role=web,tier=back');
    assert.equal(fg.State, 'exited');
    assert.match(fg.Status ?? '', /^Exited \(3\) .* ago$/);
    assert.equal(fg.Mounts, sb.path('share').slice(0, 14) + '…');
    const bg = rows.find((r) => r.Names === 'bg')!;
    assert.equal(bg.Mounts, 'vol1');
    assert.equal(bg.LocalVolumes, '1');
    assert.match(bg.CreatedAt ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+$/);
    // Two invocations: the times they show may differ by a second.
    const timeless = (o: Record<string, string> | undefined) => o && { ...o, Status: '', RunningFor: '' };
    assert.deepEqual(timeless(JSON.parse(sb.ok(['ps', '--format', 'json']).trim()) as Record<string, string>), timeless(rows.find((r) => r.Names === 'bg')));
    const err = sb.run(['ps', '--format', '{{.Nope}}']);
    assert.equal(err.code, 125);
    assert.match(err.stderr, /can't evaluate field Nope/);
    const parse = sb.run(['ps', '--format', '{{.Names']);
    assert.equal(parse.code, 125);
    assert.match(parse.stderr, /template parsing error/);
  });

  test('ps -s: what the container wrote, and with its image', () => {
    const out = sb.ok(['ps', '-a', '-s']).split('\n');
    assert.match(out[0]!, /NAMES\s+SIZE$/);
    assert.match(sb.ok(['ps', '-a', '-f', 'name=fg', '--format', '{{.Size}}']).trim(), /^3B \(virtual [\d.]+[kM]B\)$/);
    assert.match(sb.ok(['ps', '-a', '-f', 'name=made', '--format', '{{.Size}}']).trim(), /^0B \(virtual [\d.]+[kM]B\)$/);
  });

  test('inspect an exited container', () => {
    const [c] = inspect('fg');
    assert.ok(c);
    assert.equal(c.Name, '/fg');
    assert.match(c.Id, /^[0-9a-f]{64}$/);
    assert.match(c.Created, RFC3339);
    assert.equal(c.Path, 'sh');
    assert.deepEqual(c.Args, ['-c', 'echo hi > /file; exit 3']);
    assert.equal(c.State.Status, 'exited');
    assert.equal(c.State.Running, false);
    assert.equal(c.State.ExitCode, 3);
    assert.equal(c.State.Pid, 0);
    assert.match(c.State.StartedAt, RFC3339);
    assert.match(c.State.FinishedAt, RFC3339);
    assert.notEqual(c.State.FinishedAt, ZERO_TIME);
    assert.match(c.Image, /^sha256:[0-9a-f]{64}$/);
    assert.equal(c.Config.Image, 'busybox');
    assert.equal(c.Platform, 'linux');
    assert.equal(c.RestartCount, 0);
    assert.deepEqual(c.Config.Labels, { role: 'web', tier: 'back' });
    assert.deepEqual(c.Config.Cmd, ['sh', '-c', 'echo hi > /file; exit 3']);
    assert.equal(c.Config.Entrypoint, null);
    assert.ok((c.Config.Env as string[]).some((e) => e.startsWith('PATH=')));
    assert.deepEqual(c.Mounts, [{ Type: 'bind', Source: sb.path('share'), Destination: '/share', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);
    assert.deepEqual(c.HostConfig.Binds, [`${sb.path('share')}:/share:ro`]);
    assert.deepEqual(c.HostConfig.Tmpfs, { '/run': '' });
    assert.deepEqual(c.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
    assert.equal(c.HostConfig.AutoRemove, false);
    assert.equal(c.HostConfig.ReadonlyRootfs, false);
    assert.deepEqual(c.NetworkSettings.Ports, {});
    assert.equal(c.NetworkSettings.IPAddress, '');
  });

  test('inspect a running foreground container: its pid comes from the runtime (the record has none)', async () => {
    const child = sb.spawn(['run', '--name', 'fg-inspect', 'busybox', 'sleep', '300']);
    try {
      await until('fg-inspect to run', () => sb.run(['inspect', '-f', '{{.State.Status}}', 'fg-inspect']).stdout.trim() === 'running');
      const [c] = inspect('fg-inspect');
      assert.ok(c);
      assert.equal(c.State.Running, true);
      assert.equal(c.State.Paused, false);
      assert.ok(c.State.Pid > 0, `pid ${c.State.Pid}`);
      assert.match(readFileSync(`/proc/${c.State.Pid}/cmdline`, 'utf8'), /^sleep\x00300\x00$/);
    } finally {
      sb.ok(['rm', '-f', 'fg-inspect']);
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.on('close', r)));
    }
  });

  test('inspect a running detached container', () => {
    const [c] = inspect(bgId.slice(0, 12));
    assert.ok(c);
    assert.equal(c.Id, bgId);
    assert.equal(c.State.Status, 'running');
    assert.equal(c.State.Running, true);
    assert.ok(c.State.Pid > 0);
    assert.ok(existsSync(`/proc/${c.State.Pid}`));
    assert.equal(c.State.FinishedAt, ZERO_TIME);
    assert.deepEqual(c.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
    assert.equal(c.Mounts.length, 1);
    assert.equal(c.Mounts[0].Type, 'volume');
    assert.equal(c.Mounts[0].Name, 'vol1');
    assert.equal(c.Mounts[0].Destination, '/data');
    assert.equal(c.Mounts[0].RW, true);
    assert.deepEqual(c.HostConfig.Binds, ['vol1:/data']);
    assert.ok(existsSync(c.LogPath), c.LogPath);
    assert.deepEqual(c.Config.Labels, { role: 'db' });
  });

  test('inspect a created container; -s adds sizes', () => {
    const [c] = inspect('made');
    assert.equal(c!.State.Status, 'created');
    assert.equal(c!.State.StartedAt, ZERO_TIME);
    assert.equal(c!.SizeRw, undefined);
    const [sized] = JSON.parse(sb.ok(['inspect', '-s', 'fg'])) as Doc[];
    assert.equal(sized!.SizeRw, 3);
    assert.ok(sized!.SizeRootFs > 3);
  });

  test('inspect -f: one line per name, with the template module', () => {
    assert.equal(sb.ok(['inspect', '-f', '{{.Name}} {{.State.Status}} {{.State.ExitCode}}', 'bg', 'fg']), '/bg running 0\n/fg exited 3\n');
    assert.equal(sb.ok(['inspect', '--format', '{{json .Config.Labels}}', 'fg']), '{"role":"web","tier":"back"}\n');
    assert.equal(sb.ok(['inspect', '-f', '{{index .Config.Labels "role"}}', 'fg']), 'web\n');
    assert.equal(sb.ok(['container', 'inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'bg']), 'vol1\n');
    const err = sb.run(['inspect', '-f', '{{.State.Status', 'fg']);
    assert.equal(err.code, 125);
    assert.match(err.stderr, /template parsing error/);
  });

  test('inspect an image; names resolve to containers first, then images', () => {
    const [img] = inspect('busybox');
    assert.ok(img);
    assert.match(img.Id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(img.RepoTags, ['busybox:latest']);
    assert.match((img.RepoDigests as string[])[0]!, /^busybox@sha256:[a-f0-9]{64}$/, 'the manifest under each repository, as Podman shows it');
    assert.equal(img.Os, 'linux');
    assert.ok(img.Size > 0);
    assert.equal(img.RootFS.Type, 'layers');
    assert.equal(img.RootFS.Layers.length, 1);
    assert.equal(sb.ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox']).trim(), img.Id);
    assert.equal(sb.ok(['inspect', '--type', 'image', '-f', '{{.Id}}', img.Id.slice(7, 19)]).trim(), img.Id);
    const both = inspect('fg', 'busybox');
    assert.deepEqual(both.map((d) => d.Name ?? d.RepoTags[0]), ['/fg', 'busybox:latest']);
  });

  test('missing names: Docker\'s error, exit status 1, the others still printed', () => {
    const none = sb.run(['inspect', 'nosuch']);
    assert.equal(none.code, 1);
    assert.equal(none.stdout, '[]\n');
    assert.equal(none.stderr, 'Error: No such object: nosuch\n');
    const some = sb.run(['inspect', '-f', '{{.Name}}', 'fg', 'nosuch']);
    assert.equal(some.code, 1);
    assert.equal(some.stdout, '/fg\n');
    assert.match(some.stderr, /No such object: nosuch/);
    const ctr = sb.run(['container', 'inspect', 'busybox']);
    assert.equal(ctr.code, 1);
    assert.match(ctr.stderr, /^Error: No such container: busybox$/m);
    const img = sb.run(['inspect', '--type', 'image', 'fg']);
    assert.equal(img.code, 1);
    assert.match(img.stderr, /^Error: No such image: fg$/m);
    const bad = sb.run(['inspect', 'Not/A:valid:ref']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /No such object/);
  });

  test('a stopped container reads as exited with the kill\'s code, and leaves ps', () => {
    sb.ok(['stop', '-t', '1', 'bg']);
    assert.equal(sb.ok(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}', 'bg']), 'exited false 137 0\n');
    assert.deepEqual(names([]), []);
    assert.deepEqual(names(['-f', 'exited=137']), []);
    assert.deepEqual(names(['-a', '-f', 'exited=137']), ['bg']);
  });

  test('health: the status column, the health filter, State.Health and Config.Healthcheck', async () => {
    // Failing probes keep it "starting" (retries are many) until the flag file appears.
    const flag = sb.path('health-flag');
    mkdirSync(flag);
    sb.ok(['run', '-d', '--name', 'hc', '-v', `${flag}:/flag`, '--health-cmd', 'test -e /flag/ok', '--health-interval', '200ms',
      '--health-retries', '1000', 'busybox', 'sleep', '300']);
    try {
      assert.deepEqual(names(['-f', 'health=starting']), ['hc']);
      assert.match(sb.ok(['ps', '-f', 'name=hc', '--format', '{{.Status}}']), /^Up .* \(health: starting\)$/m);
      writeFileSync(join(flag, 'ok'), '');
      await until('hc to be healthy', () => names(['-f', 'health=healthy']).includes('hc'));
      assert.deepEqual(names(['-a', '-f', 'health=none']), ['made', 'bg', 'fg']);
      assert.match(sb.ok(['ps', '-f', 'name=hc', '--format', '{{.Status}}']), /^Up .* \(healthy\)$/m);
      const [c] = inspect('hc');
      assert.equal(c!.State.Health.Status, 'healthy');
      assert.equal(c!.State.Health.FailingStreak, 0);
      const log = c!.State.Health.Log as Doc[];
      assert.ok(log.length >= 1 && log.length <= 5);
      assert.equal(log[log.length - 1]!.ExitCode, 0);
      assert.match(log[0]!.Start, RFC3339);
      assert.deepEqual(c!.Config.Healthcheck, { Test: ['CMD-SHELL', 'test -e /flag/ok'], Interval: 200e6, Timeout: 30e9, StartPeriod: 0, Retries: 1000 });
      assert.equal(inspect('fg')[0]!.State.Health, undefined);
    } finally {
      sb.run(['rm', '-f', 'hc']);
    }
  });

  test('ps --help names the flags', () => {
    const help = sb.ok(['ps', '--help']);
    for (const flag of ['--all', '--filter', '--format', '--last', '--latest', '--no-trunc', '--quiet', '--size']) assert.match(help, new RegExp(flag));
    // Every filter the engine knows is listed.
    for (const key of ['id', 'name', 'label', 'status', 'exited', 'ancestor', 'before', 'since', 'volume', 'network', 'health', 'publish', 'expose', 'is-task', 'isolation']) {
      assert.match(help, new RegExp(`^  ${key}=`, 'm'), key);
    }
  });
});

describe('ps and inspect over a store of many containers', () => {
  const sb = new Sandbox('inspect-many');

  before(() => {
    sb.importBusybox();
  });
  after(() => {
    sb.run(['rm', '-f', ...sb.ok(['ps', '-aq']).split('\n').filter(Boolean)]);
    sb.destroy();
  });

  test('ps -a shows every state, also of a container killed -9 with its monitor behind the engine\'s back; inspect by name and id prefix', async () => {
    const created = Array.from({ length: 24 }, (_v, i) => sb.ok(['create', '--net', 'none', '--name', `many${i}`, 'busybox', 'true']).trim());
    const ended = sb.ok(['run', '-d', '--net', 'none', '--name', 'ended', 'busybox', 'sh', '-c', 'exit 3']).trim();
    const up = sb.ok(['run', '-d', '--net', 'none', '--name', 'up', 'busybox', 'sleep', '300']).trim();
    const gone = sb.ok(['run', '-d', '--net', 'none', '--name', 'gone', 'busybox', 'sleep', '300']).trim();
    await until('ended to exit', () => sb.ok(['inspect', '-f', '{{.State.Status}}', 'ended']).trim() === 'exited');
    // Its monitor first, so that nothing records the end: the next look must find it out by itself.
    const pid = Number(sb.ok(['inspect', '-f', '{{.State.Pid}}', 'gone']).trim());
    assert.ok(pid > 0);
    const monitor = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    assert.match(readFileSync(`/proc/${monitor}/cmdline`, 'utf8'), new RegExp(gone), 'the parent is the container\'s monitor');
    process.kill(monitor, 'SIGKILL');
    process.kill(pid, 'SIGKILL');
    await until('its process to be gone', () => !existsSync(`/proc/${pid}`));

    const rows = new Map(sb.ok(['ps', '-a', '--no-trunc', '--format', '{{.Names}} {{.ID}} {{.State}}']).trim().split('\n')
      .map((l) => { const [name, id, state] = l.split(' '); return [name!, { id, state }]; }));
    assert.equal(rows.size, 27);
    created.forEach((id, i) => assert.deepEqual(rows.get(`many${i}`), { id, state: 'created' }));
    assert.deepEqual(rows.get('ended'), { id: ended, state: 'exited' });
    assert.deepEqual(rows.get('up'), { id: up, state: 'running' });
    assert.deepEqual(rows.get('gone'), { id: gone, state: 'exited' });
    assert.deepEqual(sb.ok(['ps', '--format', '{{.Names}}']).trim().split('\n'), ['up']);
    // Its exit code was seen by nobody: inspect, ps and wait all say 255.
    assert.equal(sb.ok(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}}', 'gone']), 'exited false 0 255\n');
    assert.match(sb.ok(['ps', '-a', '--filter', 'name=gone', '--format', '{{.Status}}']), /^Exited \(255\) /);
    assert.equal(sb.ok(['wait', 'gone']).trim(), '255');

    // By name (with or without the slash), by full id, by a unique prefix.
    const fmt = '{{.Id}} {{.Name}} {{.State.Status}} {{.State.ExitCode}}';
    assert.equal(sb.ok(['inspect', '-f', fmt, 'ended']), `${ended} /ended exited 3\n`);
    assert.equal(sb.ok(['inspect', '-f', fmt, '/ended']), `${ended} /ended exited 3\n`);
    assert.equal(sb.ok(['inspect', '-f', fmt, up]), `${up} /up running 0\n`);
    assert.equal(sb.ok(['inspect', '-f', fmt, created[7]!.slice(0, 12)]), `${created[7]} /many7 created 0\n`);
    // 27 ids over 16 first digits: some two share one, which names neither.
    const ids = [...created, ended, up, gone];
    const shared = ids.map((id) => id[0]!).find((c, i, all) => all.indexOf(c) !== i)!;
    const ambiguous = sb.run(['inspect', '--type', 'container', shared]);
    assert.notEqual(ambiguous.code, 0);
    assert.match(ambiguous.stderr, /multiple containers match the id prefix/);
  });
});
