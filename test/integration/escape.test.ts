import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { asUser, BIN, mountsMentioning, Sandbox } from '../helpers.js';
import { destroyHard, isAlive, markerFor, processesMentioning, waitFor } from '../lifecycle-helpers.js';

// The escape battery (issue 11): each case tries one way out of a
// container and asserts both that the attempt fails and that the host is
// as it was. The same cases run under the default runtime and again under
// --isolation sandbox (gVisor), as the unprivileged test user. Rootless
// already makes container root the user; these cases check that nothing
// reaches beyond the user, whatever the container does.
//
// Not here: the cp symlink-swap race, which is the cp slice's own test
// (test/integration/cp-race.test.ts).

const ISOLATIONS: Array<{ name: string; flags: string[] }> = [
  { name: 'default runtime', flags: [] },
  { name: '--isolation sandbox', flags: ['--isolation', 'sandbox'] },
];

/** The host's disks, as /sys/block lists them (loop, ram and zram devices are not disks), with their major:minor. */
function hostDisks(): Array<{ name: string; dev: string }> {
  return readdirSync('/sys/block').filter((n) => !/^(loop|ram|zram|dm-|md|sr)/.test(n))
    .map((name) => ({ name, dev: readFileSync(`/sys/block/${name}/dev`, 'utf8').trim() }));
}

/** Kernel log lines mentioning sysrq, when the test user may read the kernel log (dmesg_restrict = 0); else undefined. */
function sysrqLogLines(): number | undefined {
  const r = spawnSync('dmesg', [], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return r.stdout.split('\n').filter((l) => /sysrq/i.test(l)).length;
}

/** The real, effective, saved and filesystem uids of a host process (its Uid: line). */
function hostUids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'))!;
  return line.split(/\s+/).slice(1).filter(Boolean).map(Number);
}

/** Runs rootlet as another test user, with that user's own default store (as isolation.test.ts). */
function rootletAs(user: string, args: string[]) {
  const pw = spawnSync('getent', ['passwd', user], { encoding: 'utf8' }).stdout.split(':');
  return asUser(user, [process.execPath, BIN, ...args], {
    HOME: pw[5]!, USER: user, XDG_RUNTIME_DIR: `/run/user/${pw[2]!}`, PATH: '/usr/local/bin:/usr/bin:/bin',
  });
}

for (const iso of ISOLATIONS) {
  describe(`escape battery (${iso.name}): every attempt fails and the host is unchanged`, () => {
    const sb = new Sandbox(`escape-${iso.flags.length ? 'sandbox' : 'default'}`);
    /** `run --rm` of a shell script in busybox under this isolation; extra flags before the image. */
    const sh = (script: string, extra: string[] = []) => sb.run(['run', '--rm', ...iso.flags, ...extra, 'busybox', 'sh', '-c', script]);

    before(() => {
      sb.importBusybox();
      // The isolation itself must be had: a battery that silently ran on crun would prove nothing about gVisor.
      const probe = sb.run(['run', '--rm', ...iso.flags, 'busybox', 'true']);
      assert.equal(probe.code, 0, probe.stderr);
    });
    after(() => destroyHard(sb));

    test('write through a read-only bind mount: refused, the host files unchanged', () => {
      const dir = sb.path('ro-data');
      mkdirSync(dir);
      writeFileSync(`${dir}/f`, 'original\n');
      const mode = statSync(`${dir}/f`).mode;
      const r = sh('echo changed > /data/f; echo new > /data/new; rm -f /data/f; chmod 777 /data/f; mount -o remount,rw /data; echo again > /data/f; cat /data/f',
        ['-v', `${dir}:/data:ro`]);
      assert.equal(r.stdout, 'original\n', r.stderr);
      assert.match(r.stderr, /Read-only file system/);
      assert.equal(readFileSync(`${dir}/f`, 'utf8'), 'original\n');
      assert.equal(statSync(`${dir}/f`).mode, mode);
      assert.deepEqual(readdirSync(dir), ['f']);
    });

    test('mount a filesystem (proc, tmpfs, a bind of /): refused without CAP_SYS_ADMIN, no mount appears on the host', () => {
      const marker = markerFor(sb, 'escape-mount');
      const r = sh(`mkdir -p /m1 /m2 /m3; mount -t tmpfs ${marker} /m1 && echo tmpfs-mounted; mount -t proc proc /m2 && echo proc-mounted; mount --bind / /m3 && echo bind-mounted; exit 0`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '', 'no mount succeeds in a default container (no CAP_SYS_ADMIN)');
      assert.match(r.stderr, /Operation not permitted|permission denied/i);
      assert.deepEqual(mountsMentioning(marker), []);
    });

    test('load a kernel module: init_module refused, the host\'s module list unchanged', () => {
      // A kernel built without modules has no /proc/modules: nothing could be loaded, and nothing is.
      const modules = () => (existsSync('/proc/modules') ? readFileSync('/proc/modules', 'utf8') : '');
      const before = modules();
      // Not a real module: the kernel checks CAP_SYS_MODULE (in the initial user namespace) before it reads the image.
      const r = sh('head -c 4096 /dev/zero > /tmp/x.ko; insmod /tmp/x.ko && echo loaded; modprobe -q dummy && echo probed; exit 0');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /Operation not permitted|Function not implemented|not found|No such file/);
      assert.doesNotMatch(r.stderr, /Invalid module format|Exec format error/, 'the kernel must refuse before it reads the module');
      assert.equal(modules(), before);
    });

    test('write /proc/sysrq-trigger: refused; the host\'s kernel logged no sysrq', () => {
      const logged = sysrqLogLines();
      const r = sh('echo h > /proc/sysrq-trigger && echo written; exit 0');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /Read-only file system|Permission denied|No such file|not permitted|nonexistent directory/);
      if (logged !== undefined) assert.equal(sysrqLogLines(), logged);
    });

    test('read /proc/kcore: nothing of the host\'s memory comes out', () => {
      const r = sh('dd if=/proc/kcore bs=4096 count=1 2>/dev/null | wc -c');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), '0');
    });

    test('open a raw disk of the host (bound in, or made with mknod): nothing is read', () => {
      const disks = hostDisks();
      assert.ok(disks.length > 0, 'this host has a disk in /sys/block');
      for (const disk of disks) {
        // Reads only: a battery that wrote to a raw disk would destroy the host if it ever failed.
        const [maj, min] = disk.dev.split(':');
        const bound = sh('dd if=/disk bs=512 count=1 2>/dev/null | wc -c', ['-v', `/dev/${disk.name}:/disk:ro`]);
        // rootlet may refuse the bind itself (125): that is the attempt failing too.
        if (bound.code !== 125) {
          assert.equal(bound.code, 0, bound.stderr);
          assert.equal(bound.stdout.trim(), '0', `/dev/${disk.name} bound in must not be readable`);
        }
        const made = sh(`mknod /tmp/disk b ${maj} ${min} 2>&1; dd if=/tmp/disk bs=512 count=1 2>/dev/null | wc -c`);
        assert.equal(made.code, 0, made.stderr);
        assert.match(made.stdout, /(^|\n)0\n$/, `a node for ${disk.dev} must not be readable: ${made.stdout}`);
      }
    });

    test('mknod: a device node cannot be made, or is unusable (the host\'s memory through /dev/mem, 1:1)', () => {
      const r = sh('mknod /tmp/mem c 1 1 2>&1; dd if=/tmp/mem bs=16 count=1 2>/dev/null | wc -c');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /(^|\n)0\n$/, `nothing read through a /dev/mem node: ${r.stdout}`);
    });

    test('signal a host process by its host pid (kill -9 of it and kill -9 -1): it lives on', async () => {
      const victim = spawn('sleep', ['600'], { stdio: 'ignore' });
      try {
        const pid = victim.pid!;
        await waitFor('the host sleep to run', () => isAlive(pid));
        const r = sh(`kill -9 ${pid} && echo killed; kill -9 -1; echo done`);
        assert.equal(r.stdout.includes('killed'), false, r.stdout);
        assert.ok(isAlive(pid), 'the host process survived');
        assert.equal(victim.exitCode, null);
        assert.equal(victim.signalCode, null);
      } finally {
        victim.kill('SIGKILL');
      }
    });

    test('change the hostname: the host\'s stays what it was', () => {
      const mine = hostname();
      const r = sh('hostname escaped-host 2>&1; hostname');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(hostname(), mine);
      assert.equal(spawnSync('hostname', [], { encoding: 'utf8' }).stdout.trim(), mine);
      assert.notEqual(r.stdout.trim().split('\n').pop(), mine, 'the container has a hostname of its own');
    });

    test('write the host\'s /proc/sys: refused, the value unchanged', () => {
      const file = '/proc/sys/vm/stat_interval';
      const was = readFileSync(file, 'utf8');
      const r = sh(`echo ${Number(was) + 1} > ${file} && echo written; cat ${file}`);
      assert.doesNotMatch(r.stdout, /written/);
      assert.equal(readFileSync(file, 'utf8'), was);
    });

    test('a setuid-root binary inside gains container root at most: the user\'s rights, not a root-only host file', async () => {
      // /etc/shadow is root's on the host (mode 0640): the test user cannot read it, so no one in its containers may.
      const shadow = statSync('/etc/shadow');
      assert.notEqual(shadow.uid, process.getuid!());
      const name = `setuid-${iso.flags.length ? 's' : 'd'}`;
      const r = sb.run(['run', '-d', '--name', name, ...iso.flags, '-v', '/etc/shadow:/shadow:ro', 'busybox', 'sleep', '600']);
      if (r.code === 125) return; // rootlet refused the bind: the attempt failed before it began
      assert.equal(r.code, 0, r.stderr);
      try {
        // Not in /tmp: under gVisor that is a tmpfs of the sandbox's own, which rootlet's look at the files before exec does not see.
        // As container root: a setuid-root busybox (named busybox*, so it takes the applet from argv[1]), and a root
        // without a password, so that su (an applet that keeps the privilege the bit gives) asks for none.
        sb.ok(['exec', name, 'sh', '-c', [
          'cp /bin/busybox /busybox-suid && chmod 4755 /busybox-suid',
          "{ echo 'root::0:0:root:/root:/bin/sh'; grep -v '^root:' /etc/passwd; } > /tmp/passwd && cat /tmp/passwd > /etc/passwd",
        ].join(' && ')]);
        // As uid 1000, through the setuid binary, to container root, then at the host's file.
        const got = sb.run(['exec', '-u', '1000:1000', name, '/busybox-suid', 'su', 'root', '-c', 'id -u; cat /shadow && echo READ-SHADOW']);
        assert.doesNotMatch(got.stdout, /READ-SHADOW|^root:/m, got.stdout);
        if (!iso.flags.length) {
          assert.match(got.stdout, /^0$/m, `the setuid binary did make uid 1000 container root, so the check means something: ${got.stdout}${got.stderr}`);
          assert.match(got.stderr, /Permission denied/);
        } else {
          // gVisor may not honour the bit at all (su then says it must be suid): no gain either way.
          assert.match(got.stdout + got.stderr, /Permission denied|must be suid/);
        }
        assert.equal(statSync('/etc/shadow').mtimeMs, shadow.mtimeMs);
      } finally {
        sb.run(['rm', '-f', name]);
      }
    });

    test('unshare -U inside maps container root, never host root: every process of the container runs as the user on the host', async () => {
      const marker = markerFor(sb, `escape-unshare-${iso.flags.length ? 's' : 'd'}`);
      const name = `unshare-${iso.flags.length ? 's' : 'd'}`;
      sb.ok(['run', '-d', '--name', name, ...iso.flags, 'busybox', 'sh', '-c',
        `unshare -r sh -c 'cat /proc/self/uid_map > /tmp/map; while :; do sleep 0.1; done; : ${marker}' || touch /tmp/refused; while :; do sleep 0.1; done`]);
      try {
        await waitFor('the nested namespace to be tried', () => sb.run(['exec', name, 'sh', '-c', 'test -s /tmp/map || test -e /tmp/refused']).code === 0);
        const map = sb.run(['exec', name, 'cat', '/tmp/map']);
        if (map.code === 0) {
          // Inside: root of the new namespace is container root (0), whose host id is the user's.
          assert.match(map.stdout, /^\s*0\s+0\s+1\s*$/);
        }
        // Outside: whatever the container runs (its processes, or gVisor's sandbox and gofer), none is host root.
        const pids = [sb.root, marker].flatMap(processesMentioning).map((l) => Number(l.split(' ')[0]));
        assert.ok(pids.length > 0);
        const ours = spawnSync('pgrep', ['-u', '0', '-f', sb.root], { encoding: 'utf8' }).stdout.trim();
        assert.equal(ours, '', 'no host-root process mentions this store');
        for (const pid of pids) {
          let uids: number[];
          try { uids = hostUids(pid); } catch { continue; }
          assert.ok(uids.every((u) => u !== 0), `pid ${pid} runs as ${uids.join(' ')} on the host`);
        }
      } finally {
        sb.run(['rm', '-f', name]);
      }
    });

    test('another user sees none of this user\'s containers and cannot signal their processes', async () => {
      // isolation.test.ts covers the default runtime's case in full; here the same for this isolation's processes.
      const name = `private-${iso.flags.length ? 's' : 'd'}`;
      sb.ok(['run', '-d', '--name', name, ...iso.flags, 'busybox', 'sleep', '600']);
      try {
        const ps = rootletAs('rootlet-ci2', ['ps', '-a']);
        assert.equal(ps.code, 0, ps.stderr);
        assert.doesNotMatch(ps.stdout, new RegExp(name));
        const pids = processesMentioning(sb.root).map((l) => l.split(' ')[0]!);
        assert.ok(pids.length > 0);
        const kill = asUser('rootlet-ci2', ['kill', '-KILL', ...pids]);
        assert.notEqual(kill.code, 0);
        assert.match(kill.stderr, /not permitted/i);
        assert.match(sb.ok(['ps']), new RegExp(name));
      } finally {
        sb.run(['rm', '-f', name]);
      }
    });

    test('--privileged reaches nothing the user could not: no /etc/shadow through a bind, no host sysctl, no disk, no host name', () => {
      const sysctl = '/proc/sys/vm/swappiness';
      const before = { swappiness: readFileSync(sysctl, 'utf8'), host: hostname() };
      const disks = hostDisks();
      // All the user namespace's capabilities, no seccomp filter, /proc/sys writable: what is left is the user's own rights.
      const r = sh([
        'cat /hostetc/shadow && echo READ-SHADOW',
        `echo 17 > ${sysctl} && echo WROTE-SYSCTL`,
        ...disks.map((d) => `head -c 512 /dev/${d.name} >/dev/null && echo READ-DISK`),
        'hostname escaped-host',
        'echo 1 > /proc/sys/kernel/sysrq && echo WROTE-SYSRQ',
        'mknod /tmp/disk b 8 0 && head -c 512 /tmp/disk >/dev/null && echo READ-MKNOD',
        'echo done',
      ].join('; '), ['--privileged', '-v', '/etc:/hostetc:ro']);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /READ-SHADOW|WROTE-SYSCTL|READ-DISK|WROTE-SYSRQ|READ-MKNOD/, r.stdout + r.stderr);
      assert.match(r.stdout, /done/);
      assert.equal(readFileSync(sysctl, 'utf8'), before.swappiness);
      assert.equal(hostname(), before.host);
    });
  });
}
