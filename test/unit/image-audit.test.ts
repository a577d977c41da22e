import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  AuditMerge, auditWarning, configFindings, decodeCaps, fileFindings, readLayer, type AuditHeader, type ImageAudit,
} from '../../src/engine/images/audit.js';
import { gnuEntry, paxHeader } from '../pull-native-helpers.js';
import { gzip, makeTar, type TarEntry } from '../tar-fixtures.js';

/** vfs_cap_data v2 with the permitted low word `lo`; effective bit as asked. Every byte below 0x80, as tar-stream keeps PAX values. */
function capXattr(lo: number, effective = true): string {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(0x02000000 | (effective ? 1 : 0), 0);
  b.writeUInt32LE(lo, 4);
  return b.toString('latin1');
}
const NET_RAW = 1 << 13;
const NET_BIND = 1 << 10;

async function merged(layers: TarEntry[][], idLimit = 65536) {
  const m = new AuditMerge(idLimit);
  for (const [i, l] of layers.entries()) await readLayer(Readable.from([i % 2 ? gzip(await makeTar(l)) : await makeTar(l)]), m);
  return m.files();
}

describe('image audit: the finding logic', () => {
  test('decodes security.capability (v1, v2, v3) and refuses garbage', () => {
    assert.deepEqual(decodeCaps(Buffer.from(capXattr(NET_RAW), 'latin1')), { names: ['CAP_NET_RAW'], effective: true });
    assert.deepEqual(decodeCaps(Buffer.from(capXattr(NET_RAW | NET_BIND, false), 'latin1')), { names: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'], effective: false });
    const v3 = Buffer.alloc(24);
    v3.writeUInt32LE(0x03000001, 0);
    v3.writeUInt32LE(1 << (38 - 32), 12);
    assert.deepEqual(decodeCaps(v3), { names: ['CAP_PERFMON'], effective: true });
    assert.equal(decodeCaps(Buffer.from('xy')), 'unknown');
    assert.equal(decodeCaps(Buffer.alloc(20)), 'unknown');
  });

  test('finds setuid, setgid, capabilities, outside ids and world-writable directories without sticky in one layer', async () => {
    const files = await merged([[
      { name: 'bin/', type: 'directory' },
      { name: 'bin/su', mode: 0o4755 },
      { name: 'bin/wall', mode: 0o2755, gid: 5 },
      { name: 'bin/ping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': capXattr(NET_RAW) } },
      { name: 'bin/ok', mode: 0o755 },
      { name: 'bin/link', type: 'symlink', linkname: 'su' },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'drop/', type: 'directory', mode: 0o777 },
      { name: 'sgid-dir/', type: 'directory', mode: 0o2775 },
      { name: 'home/big', uid: 70000, gid: 10 },
    ]]);
    assert.deepEqual(files.map((f) => f.path), ['/bin/ping', '/bin/su', '/bin/wall', '/drop', '/home/big']);
    const f = fileFindings(files, 65536, ['CAP_CHOWN']);
    assert.deepEqual(f.map((x) => `${x.kind} ${x.subject} ${x.breaks}`), [
      'capability /bin/ping true', 'setuid /bin/su false', 'setgid /bin/wall false', 'world-writable /drop false', 'outside-ids /home/big true',
    ]);
    assert.match(f[0]!.rootless, /lacks CAP_NET_RAW.*Operation not permitted/);
    assert.match(f[1]!.detail, /owner 0:0, mode 4755/);
    assert.ok(f.every((x) => x.rootless.length > 20 && !x.rootless.includes('\n')));
    // With the capability in the container's set, it runs.
    assert.equal(fileFindings(files, 65536, ['CAP_NET_RAW']).find((x) => x.kind === 'capability')!.breaks, false);
  });

  test('a capability with a byte above 0x7f (CAP_SETGID and CAP_SETUID, bits 6 and 7) is read byte for byte, not "unknown"', async () => {
    const cap = Buffer.alloc(20);
    cap.writeUInt32LE(0x02000001, 0);
    cap.writeUInt32LE((1 << 6) | (1 << 7), 4);
    assert.equal(cap[4], 0xc0);
    const tar = Buffer.concat([paxHeader([['SCHILY.xattr.security.capability', cap]]), gnuEntry({ name: 'bin/ids', type: '0', mode: 0o755 }, Buffer.from('x')), Buffer.alloc(1024)]);
    for (const blob of [tar, gzip(tar)]) {
      const m = new AuditMerge(65536);
      await readLayer(Readable.from([blob]), m);
      assert.deepEqual(m.files(), [{ path: '/bin/ids', dir: false, mode: 0o755, uid: 0, gid: 0, caps: { names: ['CAP_SETGID', 'CAP_SETUID'], effective: true } }]);
    }
  });

  test('upper layers: whiteouts, opaque directories and replacements remove what lower layers had', async () => {
    const files = await merged([
      [
        { name: 'bin/su', mode: 0o4755 },
        { name: 'bin/mount', mode: 0o4755 },
        { name: 'usr/x/a', mode: 0o4755 },
        { name: 'opt/y/b', mode: 0o2755 },
        { name: 'var/w/', type: 'directory', mode: 0o777 },
        { name: 'keep/s', mode: 0o4711 },
        { name: 'file-then-dir', mode: 0o4755 },
      ],
      [
        { name: 'bin/.wh.su', mode: 0o644 },
        { name: 'bin/mount', mode: 0o755 },
        { name: 'usr/.wh.x' },
        { name: 'opt/y/.wh..wh..opq' },
        { name: 'opt/y/new', mode: 0o4755 },
        { name: 'var/w/', type: 'directory', mode: 0o755 },
        { name: 'file-then-dir/inner' },
      ],
    ]);
    assert.deepEqual(files.map((f) => f.path), ['/keep/s', '/opt/y/new']);
  });

  test('overlay-style whiteouts (0/0 character devices) delete too; a later setuid entry replaces a clean one', async () => {
    const files = await merged([
      [{ name: 'a', mode: 0o4755 }, { name: 'b', mode: 0o755 }],
      [{ name: 'a', type: 'character-device', devmajor: 0, devminor: 0 }, { name: 'b', mode: 0o4755 }],
    ]);
    assert.deepEqual(files.map((f) => f.path), ['/b']);
  });

  test('a merge seeded with a lower stack\'s files (the cache of the image below) gives what merging every layer gives', async () => {
    const lower: TarEntry[][] = [
      [{ name: 'bin/su', mode: 0o4755 }, { name: 'opt/y/b', mode: 0o2755 }, { name: 'var/w/', type: 'directory', mode: 0o777 }],
      [{ name: 'keep/s', mode: 0o4711 }],
    ];
    const upper: TarEntry[] = [
      { name: 'bin/.wh.su' }, { name: 'opt/y/.wh..wh..opq' }, { name: 'opt/y/new', mode: 0o4755 }, { name: 'srv/big', uid: 70000 },
    ];
    const all = await merged([...lower, upper]);
    const seeded = new AuditMerge(65536, await merged(lower));
    await readLayer(Readable.from([await makeTar(upper)]), seeded);
    assert.deepEqual(seeded.files(), all);
    assert.deepEqual(all.map((f) => f.path), ['/keep/s', '/opt/y/new', '/srv/big', '/var/w']);
  });

  test('the config: a root user, a user outside the mapping, exposed ports below the unprivileged start', () => {
    const kinds = (c: object, limit = 65536) => configFindings({ config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: c } }, limit, 1024)
      .map((f) => `${f.kind} ${f.subject}${f.breaks ? ' !' : ''}`);
    assert.deepEqual(kinds({}), ['root-user USER (none)']);
    assert.deepEqual(kinds({ User: 'root:root' }), ['root-user USER root:root']);
    assert.deepEqual(kinds({ User: '0' }), ['root-user USER 0']);
    assert.deepEqual(kinds({ User: 'app' }), []);
    assert.deepEqual(kinds({ User: '100000:5' }), ['outside-ids USER 100000:5 !']);
    assert.deepEqual(kinds({ User: '1000', ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8080/tcp': {} } }), ['low-port 80/tcp', 'low-port 53/udp']);
  });

  test('run\'s warning: one line for what breaks, none for what only informs', () => {
    const audit = (findings: ImageAudit['findings']): ImageAudit => ({ id: 'sha256:x', idLimit: 65536, portStart: 1024, findings });
    const info = fileFindings([{ path: '/bin/su', dir: false, mode: 0o4755, uid: 0, gid: 0 }], 65536);
    assert.equal(auditWarning('img', audit([...info, ...configFindings({ config: { architecture: 'a', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } } }, 65536, 1024)])), undefined);
    const bad = fileFindings([
      { path: '/bin/ping', dir: false, mode: 0o755, uid: 0, gid: 0, caps: { names: ['CAP_NET_RAW'], effective: true } },
      { path: '/srv/a', dir: false, mode: 0o644, uid: 99999, gid: 0 },
    ], 65536, ['CAP_CHOWN']);
    const line = auditWarning('img', audit(bad))!;
    assert.equal(line.split('\n').length, 1);
    assert.match(line, /^WARNING: image img: 1 file\(s\) owned by ids outside.*\/bin\/ping need capabilities.*rootlet image audit img\)$/);
  });

  test('a header AuditMerge never saw as a parent: names with .. are ignored, as extraction refuses them', () => {
    const m = new AuditMerge(10);
    m.entry({ name: '../evil', mode: 0o4755, type: 'file' } satisfies AuditHeader);
    assert.deepEqual(m.files(), []);
  });
});
