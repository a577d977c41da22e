import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox } from '../helpers.js';
import { makeTar, tarBody } from '../tar-fixtures.js';

/** security.capability (vfs_cap_data v2) with `bit` permitted and effective; every byte below 0x80, as a PAX value keeps it. */
function capXattr(bit: number): string {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(0x02000001, 0);
  b.writeUInt32LE(1 << bit, 4);
  return b.toString('latin1');
}
const CAP_NET_RAW = 13;
const CAP_SYS_ADMIN = 21;

interface Audit { image: string; id: string; idLimit: number; portStart: number; findings: Array<{ kind: string; subject: string; detail: string; rootless: string; breaks: boolean }> }

function refused(r: { code: number; stderr: string }, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
}

describe('image audit', () => {
  let sb: Sandbox;
  let id: string;
  before(async () => {
    sb = new Sandbox('image-audit');
    // busybox, plus a setuid binary, two with file capabilities and a world-writable directory without sticky (whiteouts: unit tests).
    const busybox = readFileSync(busyboxTarball());
    const planted = await makeTar([
      { name: './bin/planted-su', body: busybox.subarray(0, 64), mode: 0o4755 },
      { name: './bin/planted-ping', body: 'x', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': capXattr(CAP_NET_RAW) } },
      { name: './bin/planted-admin', body: readFileSync('/bin/busybox'), mode: 0o755, pax: { 'SCHILY.xattr.security.capability': capXattr(CAP_SYS_ADMIN) } },
      { name: './drop/', type: 'directory', mode: 0o777 },
    ]);
    const file = sb.path('planted.tar');
    writeFileSync(file, Buffer.concat([tarBody(busybox), planted]));
    id = sb.ok(['import', '-c', 'EXPOSE 80', file, 'planted']).trim();
    sb.ok(['import', '-c', 'USER 1000', busyboxTarball(), 'clean']);
  });
  after(() => sb.destroy());

  test('finds the setuid binary, the file capabilities, the world-writable directory and the root user, each with what it means', () => {
    const out = sb.ok(['image', 'audit', 'planted']);
    assert.match(out, /^KIND\s+SUBJECT\s+DETAIL$/m);
    assert.match(out, /^setuid\s+\/bin\/planted-su\s+owner 0:0, mode 4755$/m);
    // NET_RAW is not among the default capabilities (hardened defaults): this one fails rootless too.
    assert.match(out, /^capability\s+\/bin\/planted-ping\s+CAP_NET_RAW \(effective\)\s+\(will not work rootless\)$/m);
    assert.match(out, /^capability\s+\/bin\/planted-admin\s+CAP_SYS_ADMIN \(effective\)\s+\(will not work rootless\)$/m);
    assert.match(out, /^world-writable\s+\/drop\s+mode 0777$/m);
    assert.match(out, /^root-user\s+USER \(none\)/m);
    assert.match(out, /^low-port\s+80\/tcp/m);
    // The busybox /tmp is 1777: sticky, not reported.
    assert.doesNotMatch(out, /\/tmp/);
    assert.match(out, /^Rootless, this means:$/m);
    assert.match(out, /^ {2}setuid: .*nothing beyond your rights/m);
  });

  test('--format json parses and says the same; the result is cached per stack of layers and dropped with the image', () => {
    const a = JSON.parse(sb.ok(['image', 'audit', '--format', 'json', 'planted'])) as Audit;
    assert.equal(a.id, id);
    assert.ok(a.idLimit > 1000);
    const got = a.findings.map((f) => `${f.kind} ${f.subject}`).sort();
    assert.deepEqual(got, ['capability /bin/planted-admin', 'capability /bin/planted-ping', 'low-port 80/tcp', 'root-user USER (none)', 'setuid /bin/planted-su', 'world-writable /drop']);
    assert.ok(a.findings.every((f) => f.rootless && !f.rootless.includes('\n')));
    // Keyed by the image's layers (diff ids, bottom first), so an image built on it reads only its own new layers.
    const layers = JSON.parse(sb.ok(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'planted'])) as string[];
    const cache = sb.path('data', 'rootlet', 'audit', `${createHash('sha256').update(layers.join('\n')).digest('hex')}.json`);
    assert.ok(existsSync(cache), 'the audit is kept beside the store');
    // An image built on it starts from that cache and reads its own layer: the same findings.
    const ctx = sb.path('audit-child');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Containerfile'), 'FROM planted\nCOPY f /f\n');
    writeFileSync(join(ctx, 'f'), 'plain\n');
    sb.ok(['build', '-q', '-t', 'planted-child', ctx]);
    const child = JSON.parse(sb.ok(['image', 'audit', '--format', 'json', 'planted-child'])) as Audit;
    assert.deepEqual(child.findings.map((f) => `${f.kind} ${f.subject}`).sort(), got);
    sb.ok(['rmi', 'planted-child']);
    sb.ok(['tag', 'planted', 'doomed']);
    sb.ok(['rmi', 'planted']);
    assert.ok(existsSync(cache), 'still named doomed');
    sb.ok(['rmi', 'doomed']);
    assert.ok(!existsSync(cache), 'gone with the image');
    sb.ok(['import', '-c', 'EXPOSE 80', sb.path('planted.tar'), 'planted']);
  });

  test('a clean image reports nothing', () => {
    assert.equal(sb.ok(['image', 'audit', 'clean']), 'image clean: nothing to report\n');
    assert.deepEqual((JSON.parse(sb.ok(['image', 'audit', '--format', 'json', 'clean'])) as Audit).findings, []);
  });

  test('run and create warn in one line for what will not work rootless, and it is true', () => {
    const r = sb.run(['run', '--rm', 'planted', 'true']);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('WARNING'));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0]!, /^WARNING: image planted: \/bin\/planted-admin, \/bin\/planted-ping need capabilities the container lacks and fail with "Operation not permitted" \(rootlet image audit planted\)$/);
    // From the cache the second time: the same line.
    assert.match(sb.run(['create', '--name', 'made', 'planted', 'true']).stderr, /^WARNING: image planted: \/bin\/planted-admin/m);
    sb.ok(['rm', 'made']);
    // The warning is right: the kernel refuses to run a file whose capabilities the container cannot have.
    const denied = sb.run(['run', '--rm', 'planted', '/bin/planted-admin', 'true']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /not permitted/i);
    // Judged by this container's own capabilities: with NET_RAW added only the admin binary is named, with SYS_ADMIN too none.
    const raw = sb.run(['run', '--rm', '--cap-add', 'NET_RAW', 'planted', 'true']);
    assert.match(raw.stderr, /^WARNING: image planted: \/bin\/planted-admin need capabilities the container lacks/m);
    assert.doesNotMatch(raw.stderr, /planted-ping/);
    const both = sb.run(['run', '--rm', '--cap-add', 'NET_RAW', '--cap-add', 'SYS_ADMIN', 'planted', '/bin/planted-admin', 'true']);
    // No warning, and the kernel runs the file: busybox itself answers (it has no applet of that name).
    assert.equal(both.stderr, 'planted-admin: applet not found\n');
    // Nothing to warn about: nothing said.
    const clean = sb.run(['run', '--rm', 'clean', 'true']);
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(clean.stderr, '');
  });

  test('an unknown image or format is refused: 125, one line', () => {
    refused(sb.run(['image', 'audit', 'nothere']), 125, /Unable to find image 'nothere' locally/);
    refused(sb.run(['image', 'audit', '--format', 'yaml', 'clean']), 125, /only json/);
  });
});
