import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildSpec, DEFAULT_PATH, keepIdMap, keepIdShift, mergeEnv, networkFromRequest, tmpfsMount } from '../../src/engine/containers/spec.js';
import { validateName } from '../../src/engine/containers/names.js';
import type { CreateRequest } from '../../src/engine/containers/request.js';
import { parseUserns, parseVolume, readEnvFile, splitTmpfs, toCreateRequest, type CreateFlags } from '../../src/grammar/create-flags.js';
import { EngineError } from '../../src/util/errors.js';
import type { ImageRuntimeConfig } from '../../src/image/oci.js';
import type { ImageRecord } from '../../src/image/store.js';
import type { MapEntry } from '../../src/rootless/userns.js';

const dir = mkdtempSync(join(tmpdir(), 'rootlet-spec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** --tmpfs as run takes it: the grammar's split, then the engine's defaults. */
function parseTmpfs(t: string) {
  const m = splitTmpfs(t) as { target: string; options: string[] };
  return tmpfsMount(m.target, m.options);
}

function engineError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof EngineError, `not an EngineError: ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

describe('parseVolume', () => {
  test('bind mounts: absolute, relative to cwd, ~, with options', () => {
    assert.deepEqual(parseVolume('/host/dir:/ctr', '/cwd'),
      { kind: 'bind', source: '/host/dir', destination: '/ctr', readonly: false, propagation: undefined });
    assert.deepEqual(parseVolume('./rel:/ctr:ro', '/cwd'),
      { kind: 'bind', source: '/cwd/rel', destination: '/ctr', readonly: true, propagation: undefined });
    assert.equal(parseVolume('../up:/ctr', '/cwd/sub').source, '/cwd/up');
    assert.equal(parseVolume('~/data:/ctr', '/cwd', '/home/u').source, '/home/u/data');
    const v = parseVolume('/h:/c:ro,rshared,z', '/');
    assert.equal(v.readonly, true);
    assert.equal(v.propagation, 'rshared');
    assert.equal(parseVolume('/h:/c:ro,rw', '/').readonly, false);
  });

  test('named volumes', () => {
    assert.deepEqual(parseVolume('mydata:/var/lib/db', '/'),
      { kind: 'named', source: 'mydata', destination: '/var/lib/db', readonly: false, propagation: undefined });
    assert.equal(parseVolume('my.data_1-x:/d:ro', '/').readonly, true);
  });

  test('anonymous volumes, with or without options', () => {
    assert.deepEqual(parseVolume('/data', '/'), { kind: 'anonymous', source: '', destination: '/data', readonly: false });
    const ro = parseVolume('/data:ro', '/');
    assert.equal(ro.kind, 'anonymous');
    assert.equal(ro.destination, '/data');
    assert.equal(ro.readonly, true);
  });

  test('the destination is normalized', () => {
    assert.equal(parseVolume('/h:/a/../b/', '/').destination, '/b');
    assert.equal(parseVolume('/h://x//y', '/').destination, '/x/y');
  });

  test('bad specifications are refused with the reason', () => {
    engineError(() => parseVolume('', '/'), /invalid volume specification/);
    engineError(() => parseVolume('/a:/b:ro:x', '/'), /invalid volume specification/);
    engineError(() => parseVolume(':/b', '/'), /invalid volume specification/);
    engineError(() => parseVolume('/a:', '/'), /invalid volume specification/);
    engineError(() => parseVolume('relative', '/'), /must be absolute/);
    engineError(() => parseVolume('name:relative', '/'), /must be absolute/);
    engineError(() => parseVolume('/h:/', '/'), /root/);
    engineError(() => parseVolume('/h:/a/..', '/'), /root/);
    engineError(() => parseVolume('/h:/c:bogus', '/'), /unknown option "bogus"/);
    engineError(() => parseVolume('/h:rel', '/'), /unknown option "rel"/);
    engineError(() => parseVolume('bad name:/c', '/'), /invalid volume name/);
    engineError(() => parseVolume('-x:/c', '/'), /invalid volume name/);
  });
});

describe('parseTmpfs', () => {
  test('Docker defaults nosuid,nodev,noexec', () => {
    assert.deepEqual(parseTmpfs('/run'), { type: 'tmpfs', source: 'tmpfs', destination: '/run', options: ['nosuid', 'nodev', 'noexec'] });
  });

  test('options are appended; an explicit opposite drops the default', () => {
    assert.deepEqual(parseTmpfs('/scratch/:size=64m,exec').options, ['nosuid', 'nodev', 'size=64m', 'exec']);
    assert.deepEqual(parseTmpfs('/x:suid,dev').options, ['noexec', 'suid', 'dev']);
    assert.deepEqual(parseTmpfs('/x:noexec').options, ['nosuid', 'nodev', 'noexec']);
    assert.equal(parseTmpfs('/a/./b').destination, '/a/b');
  });

  test('a trailing slash is dropped, as for volumes, so duplicates and lookups under it match', () => {
      assert.equal(parseTmpfs('/a/b/').destination, '/a/b');
    });

  test('a relative path is refused', () => {
    engineError(() => parseTmpfs('scratch'), /must be absolute/);
  });
});

describe('environment', () => {
  test('mergeEnv: later lists win, each name keeps its first position', () => {
    assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'], ['A=5', 'D=a=b']), ['A=5', 'B=3', 'C=4', 'D=a=b']);
    assert.deepEqual(mergeEnv(), []);
    assert.deepEqual(mergeEnv(['X='], ['X=1']), ['X=1']);
  });

  test('readEnvFile: comments, blank lines, CRLF, bare names from the host', () => {
    const f = join(dir, 'env.list');
    writeFileSync(f, [
      '# a comment', '', '   # indented comment', 'A=1', '  B=two words  ', 'FROM_HOST', 'NOT_ON_HOST',
      'C=x\r', 'D==y', 'E=', '',
    ].join('\n'));
    assert.deepEqual(readEnvFile(f, { FROM_HOST: 'host value' }),
      ['A=1', 'B=two words  ', 'FROM_HOST=host value', 'C=x', 'D==y', 'E=']);
  });

  test('readEnvFile: errors name the file and line', () => {
    const f = join(dir, 'bad.list');
    writeFileSync(f, 'OK=1\nBAD NAME=2\n');
    engineError(() => readEnvFile(f, {}), /bad\.list:2: variable "BAD NAME" contains whitespaces/);
    writeFileSync(f, '=nothing\n');
    engineError(() => readEnvFile(f, {}), /no name/);
    engineError(() => readEnvFile(join(dir, 'missing.list'), {}), /open .*missing\.list: no such file or directory/);
  });
});

/** Which ids a map covers on each side, each at most once. */
function sides(map: MapEntry[]): { inside: number[]; outside: number[] } {
  const inside: number[] = [];
  const outside: number[] = [];
  for (const e of map) {
    assert.ok(e.count > 0, `empty map line ${JSON.stringify(e)}`);
    for (let i = 0; i < e.count; i++) {
      inside.push(e.inside + i);
      outside.push(e.outside + i);
    }
  }
  assert.equal(new Set(inside).size, inside.length, 'an inside id is mapped twice');
  assert.equal(new Set(outside).size, outside.length, 'an outside id is mapped twice');
  return { inside: inside.sort((a, b) => a - b), outside: outside.sort((a, b) => a - b) };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function apply(map: MapEntry[], id: number): number | undefined {
  const e = map.find((m) => id >= m.inside && id < m.inside + m.count);
  return e ? e.outside + (id - e.inside) : undefined;
}

describe('--userns=keep-id maps', () => {
  test('uid 1001 in 65537 ids: both sides cover 0..65536 exactly once, 1001 is the user', () => {
    const map = keepIdMap(1001, 65537);
    const s = sides(map);
    assert.deepEqual(s.inside, range(65537));
    assert.deepEqual(s.outside, range(65537));
    assert.equal(apply(map, 1001), 0);
    assert.equal(apply(map, 0), 1);
    assert.equal(apply(map, 1000), 1001);
    assert.equal(apply(map, 1002), 1002);
    assert.deepEqual(map, [
      { inside: 0, outside: 1, count: 1001 },
      { inside: 1001, outside: 0, count: 1 },
      { inside: 1002, outside: 1002, count: 64535 },
    ]);
  });

  test('edge cases: uid 0, the last id, an id beyond the namespace, a namespace of one id', () => {
    for (const [hostId, size] of [[0, 65537], [1, 65537], [65535, 65537], [65536, 65537], [1001, 1002], [0, 1], [5, 6]] as const) {
      const s = sides(keepIdMap(hostId, size));
      assert.deepEqual(s.outside, range(size), `outside, ${hostId}/${size}`);
      assert.deepEqual(s.inside, range(size), `inside, ${hostId}/${size}`);
      assert.equal(apply(keepIdMap(hostId, size), hostId), 0);
    }
    // A uid beyond the namespace (typical of LDAP): the user still maps to itself, every outside id is used once.
    const big = keepIdMap(200000, 65537);
    const s = sides(big);
    assert.deepEqual(s.outside, range(65537));
    assert.equal(apply(big, 200000), 0);
    assert.deepEqual(s.inside, [...range(65536), 200000]);
  });

  test('keepIdShift gives a file the owner the keep-id map turns back into its original id', () => {
    for (const [hostId, size] of [[1001, 65537], [0, 65537], [65536, 65537], [5, 6]] as const) {
      const map = keepIdMap(hostId, size);
      for (const id of [0, 1, 2, hostId - 1, hostId, hostId + 1, size - 2, size - 1].filter((i) => i >= 0 && i < size)) {
        const shifted = keepIdShift(id, hostId, size);
        assert.equal(apply(map, id), shifted, `id ${id}, user ${hostId}, ${size} ids`);
      }
    }
  });

  test('keepIdShift stays inside the namespace for a uid beyond it', () => {
    const size = 65537;
    for (const id of [0, 65534, 65535, 65536]) assert.ok(keepIdShift(id, 200000, size) < size, `id ${id} -> ${keepIdShift(id, 200000, size)}`);
  });
});

describe('networkFromRequest, parseUserns, validateName', () => {
  test('network modes', () => {
    const mode = (network?: string) => networkFromRequest(opts({ command: ['x'], network })).mode;
    assert.equal(mode(undefined), 'bridge');
    assert.deepEqual(networkFromRequest(opts({ command: ['x'] })).networks, [{ name: 'rootlet', aliases: [] }]);
    assert.equal(mode('none'), 'none');
    assert.equal(mode('host'), 'host');
    assert.equal(mode('pasta'), 'pasta');
    assert.equal(mode('slirp4netns'), 'slirp4netns');
    assert.equal(mode('container:web'), 'container');
    assert.deepEqual(networkFromRequest(opts({ command: ['x'], network: 'n1,n2', networkAliases: ['a'] })).networks,
      [{ name: 'n1', aliases: ['a'] }, { name: 'n2', aliases: ['a'] }]);
    engineError(() => networkFromRequest(opts({ command: ['x'], network: 'none', publish: ['8080:80'] })), /conflicting options: port publishing/);
    engineError(() => networkFromRequest(opts({ command: ['x'], network: 'host', networkAliases: ['a'] })), /--network-alias needs a rootlet network/);
    engineError(() => networkFromRequest(opts({ command: ['x'], network: 'container:web', dns: ['1.1.1.1'] })), /conflicting options: --dns/);
  });

  test('-P publishes the image\'s and --expose\'d ports on free host ports', () => {
    const n = networkFromRequest(opts({ command: ['x'], publishAll: true, expose: ['9000-9001/udp'], publish: ['18080:80'] }), ['80/tcp', '443/tcp']);
    assert.deepEqual(n.exposed, ['80/tcp', '443/tcp', '9000/udp', '9001/udp']);
    assert.deepEqual(n.ports.map((p) => `${p.hostPort}:${p.containerPort}/${p.protocol}`), ['18080:80/tcp', '0:443/tcp', '0:9000/udp', '0:9001/udp']);
  });

  test('--userns: keep-id or the default mapping (keep-id for root is refused by the engine, below)', () => {
    assert.equal(parseUserns('keep-id'), 'keep-id');
    assert.equal(parseUserns(undefined), undefined);
    assert.equal(parseUserns('host'), 'host');
    engineError(() => parseUserns('auto'), /"auto" for "--userns" flag/);
  });

  test('container names', () => {
    assert.equal(validateName('web-1.a_b'), 'web-1.a_b');
    engineError(() => validateName('a'), /invalid container name/);
    engineError(() => validateName('-web'), /invalid container name/);
    engineError(() => validateName('we b'), /invalid container name/);
  });
});

function image(config: ImageRuntimeConfig): ImageRecord {
  return {
    id: `sha256:${'1'.repeat(64)}`,
    manifestDigest: `sha256:${'2'.repeat(64)}`,
    created: 0,
    config: { architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [`sha256:${'3'.repeat(64)}`] } },
    layers: [`sha256:${'3'.repeat(64)}`],
    size: 0,
    tags: [],
  };
}

/** run's flags as the CLI passes them, through the grammar, from /cwd with HOSTV in the environment. */
type Opts = Omit<CreateFlags, 'env'> & { command?: string[]; env?: string[]; envFiles?: string[]; volumes?: string[]; networkAliases?: string[] };
function opts(o: Opts): CreateRequest {
  const { command = [], envFiles, volumes, networkAliases, ...flags } = o;
  return toCreateRequest('img', command, { ...flags, envFile: envFiles, volume: volumes, networkAlias: networkAliases }, { cwd: '/cwd', env: { HOSTV: 'h' } });
}

const ctx = { id: 'abcdef0123456789'.repeat(4), isRoot: false, driver: 'overlay' as const, hostHostname: 'hosty' };

describe('buildSpec', () => {
  const img = image({ Entrypoint: ['/entry', '-x'], Cmd: ['default', 'args'], Env: ['PATH=/img/bin', 'IMG=1'], WorkingDir: '/app', User: 'app' });

  test('entrypoint and command combine as Docker does', () => {
    const args = (o: Opts, i = img) => buildSpec(opts(o), i, ctx).spec.args;
    assert.deepEqual(args({}), ['/entry', '-x', 'default', 'args']);
    assert.deepEqual(args({ command: ['mine'] }), ['/entry', '-x', 'mine']);
    // --entrypoint replaces the image's and clears its CMD.
    assert.deepEqual(args({ entrypoint: '/other' }), ['/other']);
    assert.deepEqual(args({ entrypoint: '/other', command: ['a'] }), ['/other', 'a']);
    assert.deepEqual(args({ entrypoint: '', command: ['ls', '-l'] }), ['ls', '-l']);
    const cmdOnly = image({ Cmd: ['sh'] });
    assert.deepEqual(args({}, cmdOnly), ['sh']);
    assert.deepEqual(args({ command: ['echo', 'hi'] }, cmdOnly), ['echo', 'hi']);
  });

  test('no command at all is an error', () => {
    engineError(() => buildSpec(opts({}), image({}), ctx), /no command specified/);
    engineError(() => buildSpec(opts({ entrypoint: '' }), img, ctx), /no command specified/);
    engineError(() => buildSpec(opts({}), image({ Entrypoint: null, Cmd: null }), ctx), /no command specified/);
  });

  test('environment: default PATH and HOSTNAME, then image, env files, -e (a bare -e NAME comes from the host)', () => {
    const f = join(dir, 'spec.env');
    writeFileSync(f, 'FILE=1\nIMG=file\n');
    const { spec } = buildSpec(opts({ command: ['x'], env: ['IMG=flag', 'HOSTV', 'NOPE'], envFiles: [f] }), img, ctx);
    assert.deepEqual(spec.env, ['PATH=/img/bin', `HOSTNAME=${ctx.id.slice(0, 12)}`, 'IMG=flag', 'FILE=1', 'HOSTV=h']);
    const plain = buildSpec(opts({ command: ['x'], tty: true }), image({}), ctx).spec;
    assert.deepEqual(plain.env, [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${ctx.id.slice(0, 12)}`, 'TERM=xterm']);
  });

  test('workdir, user, hostname defaults and overrides', () => {
    const s = buildSpec(opts({ command: ['x'] }), img, ctx).spec;
    assert.equal(s.workdir, '/app');
    assert.equal(s.user, 'app');
    assert.equal(s.hostname, ctx.id.slice(0, 12));
    assert.equal(s.network, 'bridge');
    assert.equal(s.userns, 'host');
    assert.deepEqual(s.layers, img.layers);
    const o = buildSpec(opts({ command: ['x'], workdir: '/w/../v', user: '0:0', hostname: 'box', network: 'host' }), img, ctx).spec;
    assert.equal(o.workdir, '/v');
    assert.equal(o.user, '0:0');
    assert.equal(o.hostname, 'box');
    assert.equal(buildSpec(opts({ command: ['x'], network: 'host' }), img, ctx).spec.hostname, 'hosty');
    assert.equal(buildSpec(opts({ command: ['x'] }), image({}), ctx).spec.workdir, '/');
    assert.equal(buildSpec(opts({ command: ['x'] }), image({}), ctx).spec.user, '');
    engineError(() => buildSpec(opts({ command: ['x'], workdir: 'rel' }), img, ctx), /must be an absolute path/);
  });

  test('volumes and tmpfs are parsed; the same destination twice is refused', () => {
    const { spec, volumes } = buildSpec(opts({ command: ['x'], volumes: ['./d:/data:ro', 'named:/n'], tmpfs: ['/t'] }), img, ctx);
    assert.deepEqual(volumes.map((v) => [v.kind, v.source, v.destination, v.readonly]),
      [['bind', '/cwd/d', '/data', true], ['named', 'named', '/n', false]]);
    assert.deepEqual(spec.mounts.map((m) => m.destination), ['/t']);
    engineError(() => buildSpec(opts({ command: ['x'], volumes: ['/a:/d', 'v:/d/'] }), img, ctx), /duplicate mount point: \/d/);
    engineError(() => buildSpec(opts({ command: ['x'], volumes: ['/a:/d'], tmpfs: ['/d'] }), img, ctx), /duplicate mount point/);
  });

  test('keep-id as root and a privileged host port are refused before anything runs', () => {
    engineError(() => buildSpec(opts({ command: ['x'], userns: 'keep-id' }), img, { ...ctx, isRoot: true }), /never maps host root/);
    engineError(() => buildSpec(opts({ command: ['x'], publish: ['80:80'] }), img, ctx), /net.ipv4.ip_unprivileged_port_start/);
  });
});
