import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathsOf, DEFAULT_SECURITY } from '../../src/engine/containers/security.js';
import { parseDevice, parseSecurityOpts } from '../../src/grammar/create-flags.js';
import { capabilitySet, DEFAULT_CAPS, normalizeCap } from '../../src/runtime/capabilities.js';
import {
  compiledFilter, DEFAULT_SECCOMP_PROFILE, keepCompiledFilter, kernelAtLeast, parseProfile, readProfile, seccompSection, translateProfile, type SeccompProfile,
} from '../../src/runtime/seccomp.js';
import { buildRuntimeSpec, MASKED_PATHS, READONLY_PATHS } from '../../src/runtime/spec.js';

// The default seccomp profile is data (containers-common's seccomp.json);
// what a container gets is a selection of it: the host's architectures and
// the rules whose includes/excludes hold for the container's capabilities,
// architecture and kernel, as containers-common's pkg/seccomp selects them.

const X86 = { arch: 'amd64', kernel: '6.1.0-13-amd64' };

const PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
    { names: ['cacheflush'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
    { names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['bpf'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['both'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
    { names: ['notmips'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
    { names: ['newish'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.8' } },
    { names: ['oldonly'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.8' } },
    { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
  ],
};

const names = (s: ReturnType<typeof translateProfile>, action?: string) =>
  s.syscalls.filter((r) => !action || r.action === action).flatMap((r) => r.names);

describe('seccomp: the profile for a container', () => {
  test('architectures: the host\'s archMap entry and its sub-architectures', () => {
    assert.deepEqual(translateProfile(PROFILE, { ...X86, caps: [] }).architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.deepEqual(translateProfile(PROFILE, { arch: 'arm64', kernel: '6.1', caps: [] }).architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.deepEqual(translateProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'] }, { ...X86, caps: [] }).architectures, ['SCMP_ARCH_X86_64']);
  });

  test('includes.arches and excludes.arches against the host\'s Go architecture', () => {
    const x = names(translateProfile(PROFILE, { ...X86, caps: [] }));
    assert.ok(x.includes('arch_prctl'));
    assert.ok(!x.includes('cacheflush'));
    assert.ok(!x.includes('notmips'));
    const a = names(translateProfile(PROFILE, { arch: 'arm64', kernel: '6.1', caps: [] }));
    assert.ok(!a.includes('arch_prctl'));
    assert.ok(a.includes('cacheflush'));
    assert.ok(a.includes('notmips'));
  });

  test('includes.caps needs every capability in the bounding set; excludes.caps drops the rule when any is there', () => {
    const without = translateProfile(PROFILE, { ...X86, caps: DEFAULT_CAPS });
    assert.deepEqual(names(without).filter((n) => n === 'bpf'), ['bpf']);
    assert.deepEqual(without.syscalls.find((r) => r.names.includes('bpf')), { names: ['bpf'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 });
    assert.ok(!names(without).includes('both'));
    const admin = translateProfile(PROFILE, { ...X86, caps: [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'] });
    assert.deepEqual(admin.syscalls.filter((r) => r.names.includes('bpf')), [{ names: ['bpf'], action: 'SCMP_ACT_ALLOW' }]);
    assert.ok(!names(admin).includes('both'));
    assert.ok(names(translateProfile(PROFILE, { ...X86, caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] })).includes('both'));
  });

  test('minKernel in includes and excludes, against the running kernel\'s release', () => {
    assert.ok(kernelAtLeast('6.1.0-13-amd64', '5.8'));
    assert.ok(kernelAtLeast('5.8.0', '5.8'));
    assert.ok(!kernelAtLeast('5.4.0-150-generic', '5.8'));
    const newK = names(translateProfile(PROFILE, { ...X86, caps: [] }));
    assert.ok(newK.includes('newish') && !newK.includes('oldonly'));
    const oldK = names(translateProfile(PROFILE, { arch: 'amd64', kernel: '5.4.0', caps: [] }));
    assert.ok(!oldK.includes('newish') && oldK.includes('oldonly'));
  });

  test('actions, errno values and argument conditions pass through as the OCI spec has them', () => {
    const s = translateProfile(PROFILE, { ...X86, caps: [] });
    assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(s.defaultErrnoRet, 38);
    assert.deepEqual(s.syscalls.find((r) => r.names.includes('personality')), {
      names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
    });
  });

  test('a file that is not a profile is refused in one line', () => {
    assert.throws(() => parseProfile('{', '/p.json'), /^EngineError: invalid seccomp profile \/p.json: not JSON/);
    assert.throws(() => parseProfile('{"syscalls": []}', '/p.json'), /defaultAction must be an SCMP_ACT_ action/);
    assert.throws(() => parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}', '/p.json'), /names no syscall/);
    assert.throws(() => readProfile('/nonexistent/profile.json'), /cannot read seccomp profile \/nonexistent\/profile.json: no such file/);
  });

  test('Debian\'s containers-common profile: default capabilities keep bpf, mount-time and module syscalls out; arch_prctl stays', { skip: !existsSync(DEFAULT_SECCOMP_PROFILE) }, () => {
    const p = parseProfile(readProfile(DEFAULT_SECCOMP_PROFILE).text, DEFAULT_SECCOMP_PROFILE);
    const s = translateProfile(p, { ...X86, caps: DEFAULT_CAPS });
    const allowed = names(s, 'SCMP_ACT_ALLOW');
    for (const n of ['bpf', 'init_module', 'perf_event_open', 'kcmp', 'vmsplice', 'userfaultfd']) assert.ok(!allowed.includes(n), n);
    for (const n of ['read', 'clone', 'arch_prctl', 'chroot']) assert.ok(allowed.includes(n), n);
    const all = translateProfile(p, { ...X86, caps: capabilitySet({ privileged: true }) });
    assert.ok(names(all, 'SCMP_ACT_ALLOW').includes('bpf'));
  });

  test('the translated section is cached by the profile\'s content, the capabilities and the kernel; a new profile is translated anew', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rootlet-seccomp-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const text = JSON.stringify(PROFILE);
    const prof = { sha: 'a'.repeat(64), text };
    const first = seccompSection(dir, prof, 'p', DEFAULT_CAPS, X86);
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    // The cache is what a second start reads: a changed entry shows it was not translated again.
    writeFileSync(join(dir, files[0]!), JSON.stringify({ ...first, defaultAction: 'SCMP_ACT_LOG' }));
    assert.equal(seccompSection(dir, prof, 'p', [...DEFAULT_CAPS].reverse(), X86).defaultAction, 'SCMP_ACT_LOG');
    assert.equal(seccompSection(dir, prof, 'p', [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], X86).defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(seccompSection(dir, { sha: 'b'.repeat(64), text }, 'p', DEFAULT_CAPS, X86).defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(readdirSync(dir).length, 3);
  });

  test('a compiled filter is kept once per section and handed back as base64; a file that is not BPF is not kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rootlet-bpf-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(compiledFilter(dir, 'k1'), undefined);
    writeFileSync(join(dir, 'odd.bpf'), Buffer.alloc(13));
    keepCompiledFilter(dir, 'k1', join(dir, 'odd.bpf'));
    assert.equal(compiledFilter(dir, 'k1'), undefined);
    const prog = Buffer.from([6, 0, 0, 0, 0, 0, 0xff, 0x7f]);
    writeFileSync(join(dir, 'prog.bpf'), prog);
    keepCompiledFilter(dir, 'k1', join(dir, 'prog.bpf'));
    assert.equal(compiledFilter(dir, 'k1'), prog.toString('base64'));
    keepCompiledFilter(dir, 'k2', join(dir, 'missing.bpf'));
    assert.equal(compiledFilter(dir, 'k2'), undefined);
  });
});

describe('capabilities, masks, and their flags', () => {
  test('the default set is exactly the eleven of Docker\'s and Podman\'s rootless default', () => {
    assert.deepEqual([...DEFAULT_CAPS].sort(), ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
      'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT']);
    assert.deepEqual(capabilitySet({}), DEFAULT_CAPS);
  });

  test('--cap-add, --cap-drop and ALL, by Docker\'s rule', () => {
    assert.deepEqual(capabilitySet({ capDrop: ['ALL'] }), []);
    assert.deepEqual(capabilitySet({ capDrop: ['ALL'], capAdd: ['CAP_KILL'] }), ['CAP_KILL']);
    assert.ok(capabilitySet({ capAdd: ['CAP_NET_ADMIN'] }).includes('CAP_NET_ADMIN'));
    assert.ok(!capabilitySet({ capDrop: ['CAP_CHOWN'] }).includes('CAP_CHOWN'));
    const all = capabilitySet({ capAdd: ['ALL'], capDrop: ['CAP_SYS_ADMIN'] });
    assert.ok(all.includes('CAP_SYS_PTRACE') && !all.includes('CAP_SYS_ADMIN'));
    assert.equal(normalizeCap('net_admin'), 'CAP_NET_ADMIN');
    assert.equal(normalizeCap('CAP_SYS_ADMIN'), 'CAP_SYS_ADMIN');
    assert.throws(() => normalizeCap('FLY', '--cap-add'), /^EngineError: invalid --cap-add "FLY": not a Linux capability/);
  });

  test('masked and read-only paths: Docker\'s by default, none when privileged, mask= adds, unmask= removes (ALL, globs)', () => {
    assert.deepEqual(pathsOf(DEFAULT_SECURITY), { masked: MASKED_PATHS, readonly: READONLY_PATHS });
    assert.deepEqual(pathsOf({ ...DEFAULT_SECURITY, privileged: true }), { masked: [], readonly: [] });
    assert.deepEqual(pathsOf({ ...DEFAULT_SECURITY, unmask: ['ALL'] }), { masked: [], readonly: [] });
    const some = pathsOf({ ...DEFAULT_SECURITY, unmask: ['/proc/kcore', '/sys/*'], mask: ['/proc/cpuinfo'] });
    assert.ok(!some.masked.includes('/proc/kcore') && !some.masked.includes('/sys/firmware'));
    assert.ok(some.masked.includes('/proc/keys') && some.masked.includes('/proc/cpuinfo'));
    assert.deepEqual(some.readonly, READONLY_PATHS);
  });

  test('--security-opt and --device as Docker writes them; bad ones refused in one line', () => {
    assert.deepEqual(parseSecurityOpts(['no-new-privileges', 'seccomp=unconfined', 'mask=/a:/b', 'unmask=ALL'], '/w'),
      { noNewPrivileges: true, seccomp: 'unconfined', mask: ['/a', '/b'], unmask: ['ALL'] });
    assert.deepEqual(parseSecurityOpts(['seccomp=p.json', 'no-new-privileges:false'], '/w'), { seccomp: '/w/p.json', noNewPrivileges: false });
    assert.throws(() => parseSecurityOpts(['seccomp'], '/w'), /^ValueError: invalid argument "seccomp" for "--security-opt" flag: not a security option/);
    assert.throws(() => parseSecurityOpts(['apparmor=x'], '/w'), /apparmor is not supported/);
    assert.throws(() => parseSecurityOpts(['mask=rel'], '/w'), /absolute paths/);
    assert.deepEqual(parseDevice('/dev/null'), { pathOnHost: '/dev/null', pathInContainer: '/dev/null', cgroupPermissions: 'rwm' });
    assert.deepEqual(parseDevice('/dev/null:r'), { pathOnHost: '/dev/null', pathInContainer: '/dev/null', cgroupPermissions: 'r' });
    assert.deepEqual(parseDevice('/dev/null:/dev/x:rw'), { pathOnHost: '/dev/null', pathInContainer: '/dev/x', cgroupPermissions: 'rw' });
    assert.throws(() => parseDevice('/dev/null:/dev/x:q'), /--device/);
    assert.throws(() => parseDevice('null'), /absolute/);
  });

  test('the OCI config carries the set, no_new_privs, the filter, devices and annotations', () => {
    const o = buildRuntimeSpec({
      rootfs: '/r', readonlyRootfs: false, args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
      terminal: false, hostname: 'h', network: 'own', mounts: [], etcFiles: [], cgroupV2: true,
      security: {
        caps: ['CAP_KILL'], noNewPrivileges: true, seccomp: { defaultAction: 'SCMP_ACT_ALLOW', architectures: [], syscalls: [] },
        maskedPaths: ['/proc/kcore'], readonlyPaths: [], devices: [{ source: '/dev/fuse', destination: '/dev/fuse', readOnly: false }],
        annotations: { 'run.oci.keep_original_groups': '1' },
      },
    }) as { process: { capabilities: Record<string, string[]>; noNewPrivileges: boolean }; linux: Record<string, unknown>; mounts: Array<{ destination: string; options: string[] }>; annotations: Record<string, string> };
    assert.deepEqual(o.process.capabilities, { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [] });
    assert.equal(o.process.noNewPrivileges, true);
    assert.deepEqual(o.linux.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', architectures: [], syscalls: [] });
    assert.deepEqual(o.linux.maskedPaths, ['/proc/kcore']);
    const dev = o.mounts.find((m) => m.destination === '/dev/fuse')!;
    assert.ok(!dev.options.includes('nodev'));
    assert.deepEqual(o.annotations, { 'run.oci.keep_original_groups': '1' });
  });
});
