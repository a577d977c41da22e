import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ellipsis, goQuote, goTimeString, psRow, psTableFormat, statusText } from '../../src/cli/ps-format.js';
import { commandString, type ContainerSummary } from '../../src/engine/containers/list.js';
import { containerFilter, parseFilters, type FilterLookups, type FilterSubject } from '../../src/engine/containers/filter.js';
import { anonymousVolumes, binds, mountPoints, tmpfsMounts } from '../../src/engine/containers/mounts.js';
import { legacyNetworkSpec, tmpfsMount, type ContainerSpec } from '../../src/engine/containers/spec.js';
import { sumFileSizes } from '../../src/engine/containers/size.js';
import type { ContainerRecord } from '../../src/engine/containers/store.js';
import { EngineError } from '../../src/util/errors.js';
import { inspectImage, rfc3339Nano } from '../../src/engine/inspect.js';
import type { ImageRecord } from '../../src/image/store.js';

const VOLS = '/store/volumes';

function spec(over: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    args: ['sleep', '100'], env: [], workdir: '/', user: '', hostname: 'h', mounts: [], volumes: [], readOnly: false,
    network: 'private', net: legacyNetworkSpec('private'), init: false, tty: false, interactive: false, userns: 'host', rm: false, driver: 'overlay', layers: [],
    restart: { name: 'no', maxRetries: 0 }, stopSignal: 'SIGTERM', stopTimeout: 10, labels: {}, resources: {}, ...over,
  };
}

function rec(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: 'a'.repeat(64), name: 'web', imageId: 'sha256:' + '1'.repeat(64), imageName: 'busybox', created: 1_000_000,
    state: 'running', restartCount: 0, stoppedByUser: false, spec: spec(), ...over,
  };
}

function subject(r: ContainerRecord): FilterSubject {
  return { rec: r, mounts: mountPoints(VOLS, r.spec), networks: [r.spec.network], ports: r.spec.net.ports, exposed: r.spec.net.exposed };
}

const lookups: FilterLookups = {
  imageId: (ref) => (ref === 'busybox' || ref === '111111111111' ? 'sha256:' + '1'.repeat(64) : ref === 'alpine' ? 'sha256:' + '2'.repeat(64) : undefined),
  container: (ref) => {
    if (ref === 'mid') return { id: 'm', created: 2000 };
    throw new EngineError(`No such container: ${ref}`);
  },
};

function pick(filters: string[], recs: ContainerRecord[]): string[] {
  const f = containerFilter(filters, lookups);
  return recs.map(subject).filter((s) => f.test(s)).map((s) => s.rec.name);
}

describe('ps filters (Docker semantics)', () => {
  const recs = [
    rec({ id: 'abc1'.padEnd(64, '0'), name: 'web-1', state: 'running', created: 3000, spec: spec({ labels: { app: 'shop', tier: 'front' } }) }),
    rec({ id: 'abd2'.padEnd(64, '0'), name: 'web-2', state: 'exited', exitCode: 0, created: 2000, spec: spec({ labels: { app: 'shop', tier: 'back' } }) }),
    rec({ id: 'ffe3'.padEnd(64, '0'), name: 'db', state: 'exited', exitCode: 3, created: 1000, imageId: 'sha256:' + '2'.repeat(64), spec: spec({ network: 'none' }) }),
    rec({ id: 'ccc4'.padEnd(64, '0'), name: 'fresh', state: 'created', created: 500 }),
  ];

  test('values of one key OR, different keys AND', () => {
    assert.deepEqual(pick(['name=web-1', 'name=db'], recs), ['web-1', 'db']);
    assert.deepEqual(pick(['name=web', 'status=exited'], recs), ['web-2']);
    assert.deepEqual(pick(['status=running', 'status=created'], recs), ['web-1', 'fresh']);
  });

  test('name is a regular expression over the name, with or without its slash', () => {
    assert.deepEqual(pick(['name=^web'], recs), ['web-1', 'web-2']);
    assert.deepEqual(pick(['name=^/db$'], recs), ['db']);
    assert.deepEqual(pick(['name=-\\d'], recs), ['web-1', 'web-2']);
    // Not a valid expression: matched literally.
    assert.deepEqual(pick(['name=web-('], recs), []);
  });

  test('id matches a prefix (or any part, as Docker\'s expression match does)', () => {
    assert.deepEqual(pick(['id=ab'], recs), ['web-1', 'web-2']);
    assert.deepEqual(pick(['id=abc1'], recs), ['web-1']);
  });

  test('label: every label filter must match; KEY alone asks for presence', () => {
    assert.deepEqual(pick(['label=app'], recs), ['web-1', 'web-2']);
    assert.deepEqual(pick(['label=app=shop', 'label=tier=back'], recs), ['web-2']);
    assert.deepEqual(pick(['label=tier=middle'], recs), []);
  });

  test('exited matches exited containers by exit code', () => {
    assert.deepEqual(pick(['exited=3'], recs), ['db']);
    assert.deepEqual(pick(['exited=0', 'exited=3'], recs), ['web-2', 'db']);
    assert.deepEqual(pick(['exited=0'], [rec({ state: 'running', exitCode: 0 })]), []);
  });

  test('ancestor by name or id; an unknown image matches nothing', () => {
    assert.deepEqual(pick(['ancestor=alpine'], recs), ['db']);
    assert.deepEqual(pick(['ancestor=111111111111'], recs), ['web-1', 'web-2', 'fresh']);
    assert.deepEqual(pick(['ancestor=nosuch'], recs), []);
  });

  test('before and since compare creation with the named container\'s', () => {
    assert.deepEqual(pick(['before=mid'], recs), ['db', 'fresh']);
    assert.deepEqual(pick(['since=mid'], recs), ['web-1']);
    assert.throws(() => containerFilter(['since=ghost'], lookups), /No such container: ghost/);
  });

  test('network, volume, health, published and exposed ports; no tasks', () => {
    assert.deepEqual(pick(['network=none'], recs), ['db']);
    const withVol = rec({ name: 'v', spec: spec({ mounts: [{ type: 'bind', source: `${VOLS}/data/_data`, destination: '/d', options: ['rbind'] }], volumes: [{ name: 'data', anonymous: false }] }) });
    assert.deepEqual(pick(['volume=data'], [withVol, recs[0]!]), ['v']);
    assert.deepEqual(pick(['volume=/d'], [withVol, recs[0]!]), ['v']);
    assert.deepEqual(pick(['health=none'], recs).length, 4);
    assert.deepEqual(pick(['health=healthy'], recs), []);
    const sick = rec({ name: 'sick', health: { status: 'unhealthy', failingStreak: 3, log: [] } });
    assert.deepEqual(pick(['health=unhealthy'], [sick, recs[0]!]), ['sick']);
    assert.deepEqual(pick(['health=healthy', 'health=unhealthy'], [sick, recs[0]!]), ['sick']);
    assert.deepEqual(pick(['publish=80'], recs), []);
    const web = rec({ name: 'pub', spec: spec({ net: { ...legacyNetworkSpec('bridge'), ports: [{ hostIp: '', hostPort: 18080, containerPort: 80, protocol: 'tcp' }], exposed: ['80/tcp', '53/udp'] } }) });
    assert.deepEqual(pick(['publish=80'], [web, recs[0]!]), ['pub']);
    assert.deepEqual(pick(['publish=80/udp'], [web]), []);
    assert.deepEqual(pick(['publish=70-90/tcp'], [web]), ['pub']);
    assert.deepEqual(pick(['expose=53/udp'], [web]), ['pub']);
    assert.deepEqual(pick(['expose=53'], [web]), []);
    assert.throws(() => pick(['publish=http'], [web]), /invalid filter 'http'/);
    assert.deepEqual(pick(['is-task=false'], recs).length, 4);
  });

  test('status, before and since show stopped containers without -a', () => {
    assert.equal(containerFilter(['status=exited'], lookups).includesStopped, true);
    assert.equal(containerFilter(['before=mid'], lookups).includesStopped, true);
    assert.equal(containerFilter(['name=x', 'exited=0'], lookups).includesStopped, false);
  });

  test('bad filters are refused with Docker\'s words and exit status 1', () => {
    for (const [f, msg] of [
      ['bogus=1', /invalid filter 'bogus'/],
      ['status=sleeping', /invalid filter 'status=sleeping'.*created, restarting, running/],
      ['exited=zero', /invalid filter 'exited=zero'/],
      ['noequals', /bad format of filter \(expected name=value\)/],
      ['is-task=maybe', /invalid filter 'is-task=maybe'/],
      ['health=fine', /invalid filter 'health=fine'.*starting, healthy, unhealthy, none/],
    ] as const) {
      assert.throws(() => containerFilter([f], lookups), (e: unknown) => {
        assert.ok(e instanceof EngineError);
        assert.equal(e.exitCode, 1);
        assert.match(e.message, msg);
        return true;
      }, f);
    }
  });

  test('parseFilters keeps every value of a key, keys case-insensitive', () => {
    assert.deepEqual([...parseFilters(['name=a', 'NAME=b', 'label=x=y=z'])], [['name', ['a', 'b']], ['label', ['x=y=z']]]);
  });
});

describe('mounts as Docker shows them', () => {
  const s = spec({
    mounts: [
      { type: 'bind', source: '/home/u/src', destination: '/src', options: ['rbind', 'ro'] },
      { type: 'bind', source: '/home/u/x', destination: '/x', options: ['rbind', 'rshared'] },
      { type: 'bind', source: `${VOLS}/named/_data`, destination: '/data', options: ['rbind'] },
      { type: 'bind', source: `${VOLS}/${'f'.repeat(64)}/_data`, destination: '/anon', options: ['rbind'] },
      tmpfsMount('/run'),
      tmpfsMount('/cache', ['size=64m', 'exec']),
    ],
    volumes: [{ name: 'named', anonymous: false }, { name: 'f'.repeat(64), anonymous: true }],
  });

  test('Mounts: binds and volumes, tmpfs left to HostConfig.Tmpfs', () => {
    assert.deepEqual(mountPoints(VOLS, s), [
      { Type: 'bind', Source: '/home/u/src', Destination: '/src', Mode: 'ro', RW: false, Propagation: 'rprivate' },
      { Type: 'bind', Source: '/home/u/x', Destination: '/x', Mode: 'rshared', RW: true, Propagation: 'rshared' },
      { Type: 'volume', Name: 'named', Source: `${VOLS}/named/_data`, Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
      { Type: 'volume', Name: 'f'.repeat(64), Source: `${VOLS}/${'f'.repeat(64)}/_data`, Destination: '/anon', Driver: 'local', Mode: '', RW: true, Propagation: '' },
    ]);
  });

  test('Binds: what -v named, not anonymous volumes', () => {
    assert.deepEqual(binds(VOLS, s), ['/home/u/src:/src:ro', '/home/u/x:/x:rshared', 'named:/data']);
    assert.equal(binds(VOLS, spec()), null);
  });

  test('Tmpfs: the options the user gave; Volumes: anonymous volume paths', () => {
    assert.deepEqual(tmpfsMounts(s), { '/cache': 'size=64m,exec', '/run': '' });
    assert.deepEqual(anonymousVolumes(VOLS, s), { '/anon': {} });
    assert.equal(anonymousVolumes(VOLS, spec()), null);
  });
});

describe('ps rows', () => {
  const now = 10 * 60_000 + 1_000_000;
  const base: ContainerSummary = {
    id: 'b'.repeat(64), name: 'web', image: 'busybox', imageId: 'sha256:' + '1'.repeat(64), command: commandString(['sh', '-c', 'echo "hi there"; sleep 5']),
    created: 1_000_000, state: 'running', startedAt: 1_000_000 + 60_000, labels: { b: '2', a: '1' },
    mounts: mountPoints(VOLS, spec({ mounts: [{ type: 'bind', source: `${VOLS}/averylongvolumename/_data`, destination: '/d', options: ['rbind'] }], volumes: [{ name: 'averylongvolumename', anonymous: false }] })),
    networks: ['private'],
    ports: [],
    exposed: [],
  };

  test('Docker\'s command string quotes arguments with spaces, not the executable', () => {
    assert.equal(commandString(['sh', '-c', 'echo hi']), "sh -c 'echo hi'");
    assert.equal(commandString(['/bin/my prog', 'a']), '/bin/my prog a');
    assert.equal(commandString(['true']), 'true');
  });

  test('fields, truncated', () => {
    const r = psRow(base, { trunc: true, now });
    assert.equal(r.ID, 'bbbbbbbbbbbb');
    assert.equal(r.Command, '"sh -c \'echo \\"hi the…"');
    assert.equal(r.Image, 'busybox');
    assert.equal(r.Labels, 'a=1,b=2');
    assert.equal(r.Mounts, 'averylongvolum…');
    assert.equal(r.LocalVolumes, '1');
    assert.equal(r.Networks, 'private');
    assert.equal(r.Ports, '');
    assert.equal(r.RunningFor, '10 minutes ago');
    assert.equal(r.Status, 'Up 9 minutes');
    assert.equal(r.State, 'running');
    assert.equal(r.Size, '0B');
    assert.equal((r.Label as (k: string) => string)('b'), '2');
  });

  test('fields, not truncated; sizes; an image id when the name moved on', () => {
    const r = psRow({ ...base, image: base.imageId, size: { rw: 1234, rootFs: 2_140_160 } }, { trunc: false, now });
    assert.equal(r.ID, base.id);
    assert.equal(r.Command, '"sh -c \'echo \\"hi there\\"; sleep 5\'"');
    assert.equal(r.Mounts, 'averylongvolumename');
    assert.equal(r.Image, base.imageId);
    assert.equal(r.Size, '1.23kB (virtual 2.14MB)');
    assert.equal(psRow({ ...base, image: base.imageId }, { trunc: true, now }).Image, '111111111111');
  });

  test('{{json .}} keys are Docker\'s, sorted', () => {
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(psRow(base, { trunc: true, now })))), [
      'Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Ports', 'RunningFor', 'Size', 'State', 'Status',
    ]);
  });

  test('status text for each state', () => {
    assert.equal(statusText({ ...base, state: 'created' }, now), 'Created');
    assert.equal(statusText({ ...base, state: 'exited', exitCode: 137, finishedAt: now - 2 * 3600_000 }, now), 'Exited (137) 2 hours ago');
    assert.equal(statusText({ ...base, state: 'removing' }, now), 'Removal In Progress');
    assert.equal(statusText({ ...base, health: 'starting' }, now), 'Up 9 minutes (health: starting)');
    assert.equal(statusText({ ...base, health: 'unhealthy' }, now), 'Up 9 minutes (unhealthy)');
  });

  test('default table, with -s a SIZE column', () => {
    assert.equal(psTableFormat(false), 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}');
    assert.match(psTableFormat(true), /\t\{\{\.Size\}\}$/);
  });

  test('helpers: ellipsis, Go quoting, Go time', () => {
    assert.equal(ellipsis('abcdef', 4), 'abc…');
    assert.equal(ellipsis('abcd', 4), 'abcd');
    assert.equal(goQuote('a"b\\c\nd\te\x01'), '"a\\"b\\\\c\\nd\\te\\x01"');
    assert.equal(goQuote('sh -c sleep 1 ~'), '"sh -c sleep 1 ~"');
    assert.equal(goQuote('echo é\x7f'), '"echo é\\x7f"');
    // Code points, not UTF-16 units: four emoji fit in four.
    assert.equal(ellipsis('\u{1F600}'.repeat(4), 4), '\u{1F600}'.repeat(4));
    assert.equal(ellipsis('\u{1F600}'.repeat(5), 4), `${'\u{1F600}'.repeat(3)}…`);
    const t = goTimeString(Date.UTC(2024, 2, 5, 14, 7, 9, 500));
    assert.match(t, /^2024-03-0\d \d\d:\d7:09 [+-]\d{4} \S+$/);
    if (new Date().getTimezoneOffset() === 0 && !process.env.TZ) assert.equal(t, '2024-03-05 14:07:09 +0000 UTC');
  });
});

describe('inspect pieces', () => {
  test('times are RFC 3339 with trailing zeros dropped; never is Go\'s zero time', () => {
    assert.equal(rfc3339Nano(Date.UTC(2024, 0, 2, 3, 4, 5, 120)), '2024-01-02T03:04:05.12Z');
    assert.equal(rfc3339Nano(Date.UTC(2024, 0, 2, 3, 4, 5, 0)), '2024-01-02T03:04:05Z');
    assert.equal(rfc3339Nano(undefined), '0001-01-01T00:00:00Z');
  });

  test('sizes count each inode once', () => {
    assert.equal(sumFileSizes('10 100\n11 5\n10 100\n\n'), 105);
    assert.equal(sumFileSizes(''), 0);
  });

  test('image inspect in Docker\'s shape', () => {
    const img: ImageRecord = {
      id: 'sha256:' + 'c'.repeat(64), manifestDigest: 'sha256:' + 'd'.repeat(64), created: Date.UTC(2024, 0, 1), size: 2048,
      tags: ['docker.io/library/busybox:latest', 'localhost/mine:1'],
      layers: ['sha256:' + 'e'.repeat(64)],
      config: {
        architecture: 'amd64', os: 'linux', created: '2023-05-06T07:08:09.5Z',
        config: { Cmd: ['sh'], Env: ['PATH=/bin'], Labels: { z: '1', a: '2' }, ExposedPorts: { '80/tcp': {} }, WorkingDir: '/w' },
        rootfs: { type: 'layers', diff_ids: ['sha256:' + 'e'.repeat(64)] },
        history: [{ comment: 'first' }, { created_by: 'x' }],
      },
    };
    const doc = inspectImage(img) as Record<string, unknown> & { Config: Record<string, unknown> };
    assert.equal(doc.Id, img.id);
    assert.deepEqual(doc.RepoTags, ['busybox:latest', 'localhost/mine:1']);
    assert.deepEqual(doc.RepoDigests, [`busybox@${img.manifestDigest}`, `localhost/mine@${img.manifestDigest}`]);
    assert.deepEqual(doc.Metadata, { LastTagTime: '0001-01-01T00:00:00Z' });
    assert.equal(doc.Created, '2023-05-06T07:08:09.5Z');
    assert.equal(doc.Comment, 'first');
    assert.equal(doc.Architecture, 'amd64');
    assert.equal(doc.Os, 'linux');
    assert.equal(doc.Size, 2048);
    assert.deepEqual(doc.RootFS, { Type: 'layers', Layers: ['sha256:' + 'e'.repeat(64)] });
    assert.deepEqual(doc.Config.Cmd, ['sh']);
    assert.equal(doc.Config.Entrypoint, null);
    assert.equal(doc.Config.WorkingDir, '/w');
    assert.deepEqual(Object.keys(doc.Config.Labels as object), ['a', 'z']);
    assert.deepEqual(doc.Config.ExposedPorts, { '80/tcp': {} });
    assert.equal('StopSignal' in doc.Config, false);
  });
});
