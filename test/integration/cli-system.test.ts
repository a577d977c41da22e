import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';

/** Issue 12, items 3 and 5: system df, system prune, version and info --format as Docker prints them. */
describe('system df, system prune, version, info --format', () => {
  const sb = new Sandbox('cli-system');

  before(() => {
    sb.importBusybox();
  });
  after(() => sb.destroy());

  test('system df: Docker\'s four rows, json, templates and -v', () => {
    sb.ok(['run', '--name', 'writer', '-v', 'dv:/d', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /d/f; head -c 3000 /dev/zero > /f']);
    const lines = sb.ok(['system', 'df']).split('\n');
    assert.match(lines[0]!, /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$/);
    assert.match(lines[1]!, /^Images +1 +1 +[\d.]+[kM]B +0B \(0%\)$/);
    assert.match(lines[2]!, /^Containers +1 +0 +3kB +3kB \(100%\)$/);
    assert.match(lines[3]!, /^Local Volumes +1 +1 +5kB +0B \(0%\)$/);
    assert.match(lines[4]!, /^Build Cache +0 +0 +0B +0B$/);
    const rows = sb.ok(['system', 'df', '--format', 'json']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(rows.map((r) => r.Type), ['Images', 'Containers', 'Local Volumes', 'Build Cache']);
    assert.deepEqual(Object.keys(rows[0]!), ['Type', 'TotalCount', 'Active', 'Size', 'Reclaimable']);
    assert.equal(sb.ok(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']), 'Images=1\nContainers=1\nLocal Volumes=1\nBuild Cache=0\n');
    const v = sb.ok(['system', 'df', '-v']);
    assert.match(v, /^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\nbusybox +latest /);
    assert.match(v, /\nContainers space usage:\n\nCONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES\n[0-9a-f]{12} +busybox .* 1 +3kB .* exited +writer\n/);
    assert.match(v, /\nLocal Volumes space usage:\n\nVOLUME NAME +LINKS +SIZE\ndv +1 +5kB\n/);
    assert.match(v, /\nBuild cache usage: 0B\n/);
    const bad = sb.run(['system', 'df', '--format', '{{.Nope}}']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr.split('\n').filter(Boolean).length, 1);
  });

  test('version: Client and Server blocks; --format json and templates', () => {
    const text = sb.ok(['version']);
    assert.match(text, /^Client:\n Version: +\d+\.\d+\.\d+\n API version: +1\.\d+\n/);
    assert.match(text, /\n\nServer:\n Engine:\n  Version: +\d+\.\d+\.\d+\n/);
    assert.match(text, /\n (crun|runc|runsc|krun):\n  Version: /);
    const doc = JSON.parse(sb.ok(['version', '--format', 'json'])) as { Client: Record<string, unknown>; Server: { Components: Array<{ Name: string }> } };
    assert.equal(doc.Client.Context, 'default');
    assert.equal(doc.Server.Components[0]!.Name, 'Engine');
    assert.equal(sb.ok(['version', '-f', '{{.Server.ApiVersion}}']), `${String(doc.Client.ApiVersion)}\n`);
    for (const [args, code] of [[['version', '-f', '{{.Client.Nope}}'], 125], [['version', '-f', '{{.Client'], 125], [['version', '-f', 'yaml'], 125]] as const) {
      const r = sb.run([...args]);
      assert.equal(r.code, code, r.stderr);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr, /^Error: /);
    }
  });

  test('info --format: Docker\'s fields; json keeps rootlet\'s document', () => {
    const [ver, driver, ncpu, containers, images] = sb.ok(['info', '--format', '{{.ServerVersion}} {{.Driver}} {{.NCPU}} {{.Containers}} {{.Images}}']).trim().split(' ');
    assert.match(ver!, /^\d+\.\d+\.\d+$/);
    assert.match(driver!, /^(overlay|fuse-overlayfs|vfs)$/);
    assert.ok(Number(ncpu) >= 1);
    assert.equal(containers, '1');
    assert.equal(images, '1');
    const docker = JSON.parse(sb.ok(['info', '--format', '{{json .}}'])) as Record<string, unknown>;
    for (const k of ['ContainersRunning', 'ContainersStopped', 'OperatingSystem', 'KernelVersion', 'Architecture', 'DockerRootDir', 'MemTotal']) assert.ok(k in docker, k);
    assert.equal(docker.DockerRootDir, sb.path('data', 'rootlet'));
    const own = JSON.parse(sb.ok(['info', '--format', 'json'])) as { storage: { root: string } };
    assert.equal(own.storage.root, sb.path('data', 'rootlet'));
    const bad = sb.run(['info', '--format', '{{.Host.Os}}']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /^Error: .*Host/);
  });

  test('system prune: asks; stopped containers, unused networks, dangling images and with --volumes anonymous volumes', () => {
    sb.ok(['network', 'create', 'spare-net']);
    sb.ok(['run', '--name', 'anon', '-v', '/scratch', 'busybox', 'true']);
    sb.ok(['run', '-d', '--name', 'alive', 'busybox', 'sleep', '600']);
    sb.ok(['tag', 'busybox', 'second:tag']);
    const no = sb.run(['system', 'prune', '--volumes'], { input: 'n\n' });
    assert.equal(no.code, 0);
    assert.equal(no.stdout, 'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n'
      + '  - all anonymous volumes not used by at least one container\n  - all dangling images\n\nAre you sure you want to continue? [y/N] ');
    assert.match(sb.ok(['ps', '-a']), /anon/);
    // Everything here is younger than an hour: until=1h keeps it all, networks too.
    assert.equal(sb.ok(['system', 'prune', '-f', '--volumes', '--filter', 'until=1h']), 'Total reclaimed space: 0B\n');
    assert.match(sb.ok(['network', 'ls']), /spare-net/);
    const bad = sb.run(['system', 'prune', '-f', '--filter', 'colour=red']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.split('\n').filter(Boolean).length, 1);
    assert.match(sb.ok(['ps', '-a']), /anon/);
    const ids = sb.ok(['ps', '-a', '--no-trunc', '--filter', 'status=exited', '--format', '{{.ID}}']).split('\n').filter(Boolean).sort();
    const anonVolume = sb.ok(['volume', 'ls', '-q']).split('\n').filter((n) => /^[0-9a-f]{64}$/.test(n));
    assert.equal(anonVolume.length, 1);
    const out = sb.ok(['system', 'prune', '-f', '--volumes']);
    const sections = out.split('\n\n');
    assert.match(sections[0]!, /^Deleted Containers:\n/);
    assert.deepEqual(sections[0]!.split('\n').slice(1).sort(), ids);
    assert.equal(sections[1], 'Deleted Networks:\nspare-net');
    assert.equal(sections[2], `Deleted Volumes:\n${anonVolume[0]}`);
    assert.match(sections[3]!, /^Total reclaimed space: \S+\n$/);
    // Named volumes and named images stay without -a; the running container and its image stay.
    assert.match(sb.ok(['volume', 'ls', '-q']), /^dv$/m);
    assert.match(sb.ok(['images']), /second/);
    assert.deepEqual(sb.ok(['ps', '-a', '--format', '{{.Names}}']).trim(), 'alive');
    sb.ok(['rm', '-f', 'alive']);
    const all = sb.ok(['system', 'prune', '-a', '-f']);
    assert.match(all, /^Deleted Images:\n(untagged: (busybox:latest|second:tag)\n){2}deleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: [\d.]+[kM]B\n$/);
    assert.equal(sb.ok(['images', '-q']), '');
  });

  test('stats --format and network inspect --format json', () => {
    // system prune -a above removed it.
    sb.importBusybox();
    sb.ok(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '600']);
    const rows = sb.ok(['stats', '--no-stream', '--format', 'json', 'busy']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.equal(rows.length, 1);
    assert.deepEqual(Object.keys(rows[0]!), ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
    assert.equal(rows[0]!.Name, 'busy');
    assert.match(sb.ok(['stats', '--no-stream', '--format', 'table {{.Name}}\t{{.PIDs}}', 'busy']), /^NAME +PIDS\nbusy +1\n$/);
    const bad = sb.run(['stats', '--no-stream', '--format', '{{.Name', 'busy']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /^Error: template parsing error/);
    sb.ok(['rm', '-f', 'busy']);
    sb.ok(['network', 'create', 'fmt-net']);
    const doc = JSON.parse(sb.ok(['network', 'inspect', '--format', 'json', 'fmt-net'])) as Array<{ Name: string }>;
    assert.equal(doc[0]!.Name, 'fmt-net');
    sb.ok(['network', 'rm', 'fmt-net']);
  });
});
