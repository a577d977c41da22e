import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { refusedOneLine, Sandbox } from '../helpers.js';
import { ALL_CAPS, DEFAULT_CAPS } from '../../src/runtime/capabilities.js';

// Issue 11, hardened defaults: a container gets Docker's rootless
// capability set and no more, the containers-common seccomp profile, and
// Docker's masked and read-only /proc and /sys paths; the flags that widen
// or narrow that do what they say, as the kernel reports it from inside
// (/proc/self/status), and a bad value is refused before anything is made.

const here = dirname(fileURLToPath(import.meta.url));
/** Static test programs (test/fixtures), bound into the busybox image. */
const FIXTURES = join(here, '../fixtures');

/** /proc/self/status's Name: value lines. */
function status(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** A CapEff/CapBnd mask as capability names. */
function capNames(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPS.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/** A character or block device on this host that this user cannot open read-write. */
function deviceNotOurs(): string | undefined {
  for (const n of readdirSync('/dev').sort()) {
    const p = join('/dev', n);
    try {
      const st = statSync(p);
      if (!st.isBlockDevice() && !st.isCharacterDevice()) continue;
    } catch { continue; }
    try { accessSync(p, constants.R_OK | constants.W_OK); } catch { return p; }
  }
  return undefined;
}

describe('hardened defaults: capabilities, seccomp, masked paths, and the flags that change them', () => {
  const sb = new Sandbox('secdef');
  const state = () => ({
    containers: sb.ok(['ps', '-a', '-q', '--no-trunc']),
    dirs: readdirSync(sb.path('data/rootlet/containers')).sort().join(' '),
  });
  const inCtr = (flags: string[], ...cmd: string[]) => sb.ok(['run', '--rm', ...flags, 'busybox', ...cmd]);
  const statusWith = (...flags: string[]) => status(inCtr(flags, 'cat', '/proc/self/status'));

  before(() => {
    sb.importBusybox();
  });
  after(() => sb.destroy());

  test('the default container: a seccomp filter and exactly the default capability set', () => {
    const s = statusWith();
    assert.equal(s.Seccomp, '2');
    assert.equal(s.Seccomp_filters, '1');
    assert.equal(s.NoNewPrivs, '0');
    assert.deepEqual(capNames(s.CapEff!).sort(), [...DEFAULT_CAPS].sort());
    assert.deepEqual(capNames(s.CapBnd!).sort(), [...DEFAULT_CAPS].sort());
    for (const gone of ['CAP_MKNOD', 'CAP_NET_RAW', 'CAP_AUDIT_WRITE']) assert.ok(!capNames(s.CapBnd!).includes(gone), gone);
  });

  test('--cap-drop ALL leaves none; --cap-add adds one; exec gets the container\'s set', () => {
    const none = statusWith('--cap-drop', 'ALL');
    assert.equal(BigInt(`0x${none.CapEff}`), 0n);
    assert.equal(BigInt(`0x${none.CapBnd}`), 0n);
    const more = statusWith('--cap-add', 'NET_ADMIN', '--cap-drop', 'chown');
    assert.deepEqual(capNames(more.CapEff!).sort(), [...DEFAULT_CAPS.filter((c) => c !== 'CAP_CHOWN'), 'CAP_NET_ADMIN'].sort());
    sb.ok(['run', '-d', '--name', 'nocaps', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', 'busybox', 'sleep', '600']);
    const ex = status(sb.ok(['exec', 'nocaps', 'cat', '/proc/self/status']));
    assert.equal(BigInt(`0x${ex.CapEff}`), 0n);
    assert.equal(ex.NoNewPrivs, '1');
    assert.equal(ex.Seccomp, '2');
    const hc = JSON.parse(sb.ok(['inspect', '--format', '{{json .HostConfig}}', 'nocaps'])) as Record<string, unknown>;
    assert.deepEqual(hc.CapDrop, ['ALL']);
    assert.equal(hc.CapAdd, null);
    assert.deepEqual(hc.SecurityOpt, ['no-new-privileges']);
    assert.equal(hc.Privileged, false);
    sb.ok(['rm', '-f', 'nocaps']);
  });

  test('seccomp: a syscall the default profile refuses fails with EPERM; seccomp=unconfined has no filter', () => {
    const probe = ['-v', `${FIXTURES}:/opt/fixtures:ro`];
    // Through sh: rootlet's look-up of a command does not yet see into a bind mount whose parent the image lacks (/opt).
    const blocked = sb.run(['run', '--rm', ...probe, 'busybox', 'sh', '-c', '/opt/fixtures/syscall-probe vmsplice']);
    assert.equal(blocked.stdout.trim(), 'EPERM', blocked.stderr);
    assert.equal(inCtr([...probe, '--security-opt', 'seccomp=unconfined'], 'sh', '-c', '/opt/fixtures/syscall-probe vmsplice').trim(), 'ok');
    assert.equal(statusWith('--security-opt', 'seccomp=unconfined').Seccomp, '0');
  });

  test('crun\'s compiled filter is kept after a detached start and handed back to later starts, which still filter', () => {
    const bpfs = () => (existsSync(sb.path('data/rootlet/seccomp')) ? readdirSync(sb.path('data/rootlet/seccomp')).filter((f) => f.endsWith('.bpf')) : []);
    sb.ok(['run', '-d', '--name', 'first', '--net', 'none', 'busybox', 'sleep', '600']);
    if (sb.ok(['inspect', '-f', '{{.HostConfig.Runtime}}', 'first']).trim() !== 'crun') {
      sb.ok(['rm', '-f', 'first']);
      return;
    }
    assert.ok(bpfs().length >= 1, "no compiled filter kept");
    const out = inCtr(['--net', 'none', '-v', `${FIXTURES}:/opt/fixtures:ro`], 'sh', '-c', '/opt/fixtures/syscall-probe vmsplice; grep -E "^Seccomp:" /proc/self/status');
    assert.match(out, /^EPERM\nSeccomp:\s+2\n$/);
    sb.ok(['rm', '-f', 'first']);
  });

  test('seccomp=FILE: the profile given is the one applied', () => {
    const file = sb.path('allow-all.json');
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['vmsplice'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] }));
    const out = sb.run(['run', '--rm', '-v', `${FIXTURES}:/opt/fixtures:ro`, '--security-opt', `seccomp=${file}`, 'busybox', 'sh', '-c', '/opt/fixtures/syscall-probe vmsplice']).stdout;
    assert.equal(out.trim(), 'ENOSYS');
  });

  test('masked paths read empty, read-only ones refuse writes', () => {
    // Some kernels have no /proc/kcore or /proc/sysrq-trigger: the runtime skips a path that is not there.
    const kernelHas = ['/proc/keys', '/proc/kcore'].filter((p) => existsSync(p));
    assert.ok(kernelHas.length > 0, 'neither /proc/keys nor /proc/kcore here');
    assert.equal(inCtr([], 'sh', '-c', `cat ${kernelHas.join(' ')} | wc -c`).trim(), '0');
    // /proc/sys is read-only: even the settings of the container's own network namespace, which NET_ADMIN would let it change.
    const sysctl = ['--net', 'none', '--cap-add', 'NET_ADMIN'];
    const r = sb.run(['run', '--rm', ...sysctl, 'busybox', 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
    if (existsSync('/proc/sysrq-trigger')) assert.notEqual(sb.run(['run', '--rm', 'busybox', 'sh', '-c', 'echo h > /proc/sysrq-trigger']).code, 0);
    // Masks are mounts over the paths; unmask= leaves them off, mask= adds one.
    const masks = (...flags: string[]) => Number(inCtr(flags, 'sh', '-c', 'grep -Ec " /proc/(keys|kcore|cpuinfo) " /proc/self/mountinfo || true').trim());
    assert.equal(masks(), kernelHas.length);
    assert.equal(masks('--security-opt', 'unmask=/proc/keys'), kernelHas.length - (kernelHas.includes('/proc/keys') ? 1 : 0));
    assert.equal(masks('--security-opt', 'unmask=ALL'), 0);
    assert.equal(masks('--security-opt', 'mask=/proc/cpuinfo'), kernelHas.length + 1);
    assert.equal(inCtr([...sysctl, '--security-opt', 'unmask=ALL'], 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward && echo written').trim(), 'written');
  });

  test('no-new-privileges: NoNewPrivs 1', () => {
    assert.equal(statusWith('--security-opt', 'no-new-privileges').NoNewPrivs, '1');
  });

  test('--device: a device the user can open is bound in; inspect lists it', () => {
    sb.ok(['create', '--name', 'dev', '--device', '/dev/null:/dev/mynull:rw', 'busybox', 'sh', '-c', 'echo x > /dev/mynull && test -c /dev/mynull && echo written']);
    const devs = JSON.parse(sb.ok(['inspect', '--format', '{{json .HostConfig.Devices}}', 'dev']));
    assert.deepEqual(devs, [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }]);
    assert.equal(sb.ok(['start', '-a', 'dev']).trim(), 'written');
    sb.ok(['rm', 'dev']);
  });

  test('--device of a device the user cannot open: refused in one line, nothing created', { skip: !deviceNotOurs() && 'no such device here' }, () => {
    const dev = deviceNotOurs()!;
    const was = state();
    for (const cmd of ['run', 'create']) {
      refusedOneLine(sb.run([cmd, '--device', dev, 'busybox', 'true']), new RegExp(`cannot use device ${dev}: you cannot open it`), `${cmd} --device ${dev}`);
    }
    assert.deepEqual(state(), was);
  });

  test('--privileged: what the user can do (mount a tmpfs, every capability, no filter), and inspect says it is rootless', () => {
    const plain = sb.run(['run', '--rm', 'busybox', 'sh', '-c', 'mount -t tmpfs none /run']);
    assert.notEqual(plain.code, 0);
    sb.ok(['run', '-d', '--name', 'priv', '--privileged', 'busybox', 'sleep', '600']);
    assert.equal(sb.ok(['exec', 'priv', 'sh', '-c', 'mount -t tmpfs none /run && touch /run/f && echo mounted']).trim(), 'mounted');
    const s = status(sb.ok(['exec', 'priv', 'cat', '/proc/self/status']));
    assert.ok(capNames(s.CapEff!).includes('CAP_SYS_ADMIN'));
    assert.equal(s.Seccomp, '0');
    const hc = JSON.parse(sb.ok(['inspect', '--format', '{{json .HostConfig}}', 'priv'])) as Record<string, unknown>;
    assert.equal(hc.Privileged, true);
    assert.match(String(hc.PrivilegedNote), /^rootless: /);
    assert.deepEqual(hc.MaskedPaths, []);
    // Still the user: the host's /proc/sysrq-trigger is root's.
    assert.notEqual(sb.run(['exec', 'priv', 'sh', '-c', 'echo h > /proc/sysrq-trigger']).code, 0);
    sb.ok(['rm', '-f', 'priv']);
  });

  test('--group-add: a gid joins the process\'s groups; keep-groups keeps the user\'s own', () => {
    const g = statusWith('--group-add', '1234').Groups!.split(/\s+/);
    assert.ok(g.includes('1234'), g.join(' '));
    // Without setgroups the container keeps rootlet's groups, as the user namespace shows them.
    const mine = [...new Set(process.getgroups!().map((x) => (x === process.getgid!() ? 0 : 65534)))].sort((a, b) => a - b).join(' ');
    assert.equal(statusWith('--group-add', 'keep-groups').Groups, mine);
  });

  test('bad values: exit 125, one line, nothing created', () => {
    const bad = sb.path('bad.json');
    writeFileSync(bad, '{"syscalls": []}');
    const was = state();
    const cases: Array<[string[], RegExp]> = [
      [['--cap-add', 'FLY'], /"FLY" for "--cap-add" flag: not a Linux capability/],
      [['--cap-drop', 'cap_nothing'], /"cap_nothing" for "--cap-drop" flag/],
      [['--security-opt', 'bogus'], /"bogus" for "--security-opt" flag: not a security option/],
      [['--security-opt', 'apparmor=docker-default'], /apparmor is not supported/],
      [['--security-opt', 'seccomp=/nonexistent/p.json'], /cannot read seccomp profile \/nonexistent\/p.json: no such file/],
      [['--security-opt', `seccomp=${bad}`], /invalid seccomp profile .*defaultAction/],
      [['--security-opt', 'mask=relative'], /absolute paths/],
      [['--device', '/dev/null:rel'], /"\/dev\/null:rel" for "--device" flag/],
      [['--device', '/nonexistent-dev'], /cannot use device \/nonexistent-dev: no such device/],
      [['--group-add', 'a b'], /"a b" for "--group-add" flag/],
    ];
    for (const cmd of ['run', 'create']) {
      for (const [flag, want] of cases) refusedOneLine(sb.run([cmd, ...flag, 'busybox', 'true']), want, [cmd, ...flag].join(' '));
    }
    refusedOneLine(sb.run(['run', '--group-add', 'keep-groups', '--group-add', '10', 'busybox', 'true']), /keep-groups cannot be combined/, 'keep-groups + 10');
    assert.deepEqual(state(), was);
    assert.ok(existsSync(sb.path('data/rootlet/containers')));
  });
});
