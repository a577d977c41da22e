import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { keepIdMap } from '../../src/engine/containers/spec.js';
import { resourcesSpec } from '../../src/engine/containers/resources.js';
import type { CgroupHost } from '../../src/runtime/cgroups.js';
import { buildRuntimeSpec, DEFAULT_CAPS, INIT_PATH, type SpecInput } from '../../src/runtime/spec.js';

// The OCI config.json rootlet hands crun/runc, built from what a container
// asked for (run's flags, resolved by the engine into a SpecInput). The
// runtime reads nothing else: a field wrong here is a container that runs
// differently from what was asked, so each case checks the fields its flag
// decides, and that the rest stays as without it.

interface Oci {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[] };
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  linux: {
    namespaces: Array<{ type: string; path?: string }>;
    resources?: unknown;
    cgroupsPath?: string;
    uidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
    gidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

const ROOT = { uid: 0, gid: 0, additionalGids: [], home: '/root' };

/** `run busybox sh`: the defaults, one field changed per case. */
function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    rootfs: '/store/containers/c1/merged',
    readonlyRootfs: false,
    args: ['sh'],
    env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'],
    cwd: '/',
    user: ROOT,
    terminal: false,
    hostname: 'c1',
    network: 'own',
    mounts: [],
    etcFiles: [],
    cgroupV2: true,
    ...over,
  };
}

const spec = (over: Partial<SpecInput> = {}) => buildRuntimeSpec(input(over)) as Oci;
const nsTypes = (o: Oci) => o.linux.namespaces.map((n) => n.type);
const mountAt = (o: Oci, dst: string) => o.mounts.filter((m) => m.destination === dst);

describe('buildRuntimeSpec: the OCI config of a container', () => {
  test('the defaults: the command as the process, root with Docker\'s capabilities, a writable root, no terminal', () => {
    const o = spec();
    assert.equal(o.ociVersion, '1.0.2');
    assert.deepEqual(o.process.args, ['sh']);
    assert.deepEqual(o.process.env, ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root']);
    assert.equal(o.process.cwd, '/');
    assert.deepEqual(o.process.user, { uid: 0, gid: 0, additionalGids: [] });
    assert.equal(o.process.terminal, false);
    assert.deepEqual(o.process.capabilities, { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS, inheritable: [] });
    assert.deepEqual(o.root, { path: '/store/containers/c1/merged', readonly: false });
    assert.equal(o.hostname, 'c1');
    // A namespace of its own for each, the network one new (no path), and no nested user namespace.
    assert.deepEqual(o.linux.namespaces, [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }, { type: 'cgroup' }]);
    assert.equal(o.linux.uidMappings, undefined);
    assert.equal(o.linux.gidMappings, undefined);
    assert.equal(o.linux.resources, undefined);
    assert.equal(o.linux.cgroupsPath, undefined);
    assert.ok(o.linux.maskedPaths.includes('/proc/kcore'));
    assert.ok(o.linux.readonlyPaths.includes('/proc/sys'));
    assert.deepEqual(o.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    // Its own network namespace: sysfs of its own, read-only.
    assert.deepEqual(mountAt(o, '/sys'), [{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }]);
  });

  test('-t: a terminal; the command and environment are passed as given', () => {
    const o = spec({ terminal: true, args: ['sh', '-c', 'echo "$A" $B'], env: ['A=1 2', 'B=', 'TERM=xterm'] });
    assert.equal(o.process.terminal, true);
    assert.deepEqual(o.process.args, ['sh', '-c', 'echo "$A" $B']);
    assert.deepEqual(o.process.env, ['A=1 2', 'B=', 'TERM=xterm']);
    assert.equal((o.process as { consoleSize?: unknown }).consoleSize, undefined);
  });

  test('-t with the caller\'s terminal size: the runtime sizes the terminal before the command runs; no size without a terminal or for 0x0', () => {
    const size = (over: Partial<SpecInput>) => (spec(over).process as { consoleSize?: unknown }).consoleSize;
    assert.deepEqual(size({ terminal: true, consoleSize: { rows: 23, columns: 71 } }), { height: 23, width: 71 });
    assert.equal(size({ terminal: false, consoleSize: { rows: 23, columns: 71 } }), undefined);
    assert.equal(size({ terminal: true, consoleSize: { rows: 0, columns: 0 } }), undefined);
  });

  test('--read-only: the root is read-only; the mounts rootlet adds stay writable', () => {
    const o = spec({ readonlyRootfs: true, etcFiles: [{ source: '/store/containers/c1/hosts', destination: '/etc/hosts' }] });
    assert.equal(o.root.readonly, true);
    assert.deepEqual(mountAt(o, '/etc/hosts'), [{ destination: '/etc/hosts', type: 'bind', source: '/store/containers/c1/hosts', options: ['bind', 'rprivate'] }]);
    assert.equal(mountAt(o, '/dev/shm')[0]!.options!.includes('ro'), false);
  });

  test('--user and --workdir: the resolved ids and groups, no capabilities for a user other than root', () => {
    const o = spec({ user: { uid: 1000, gid: 100, additionalGids: [10, 20], home: '/home/u' }, cwd: '/srv/app' });
    assert.deepEqual(o.process.user, { uid: 1000, gid: 100, additionalGids: [10, 20] });
    assert.equal(o.process.cwd, '/srv/app');
    // Docker's: a non-root user keeps the bounding set (setuid binaries) but holds none.
    assert.deepEqual(o.process.capabilities, { bounding: DEFAULT_CAPS, effective: [], permitted: [], inheritable: [] });
  });

  test('-v and --tmpfs: binds, volumes and tmpfs in the order given, after the defaults and /etc files, options as resolved (ro kept)', () => {
    const mounts: SpecInput['mounts'] = [
      { type: 'bind', source: '/home/u/src', destination: '/src', options: ['rbind', 'rprivate', 'ro', 'nosuid'] },
      { type: 'bind', source: '/store/volumes/data/_data', destination: '/data', options: ['rbind', 'rprivate'] },
      { type: 'bind', source: '/store/volumes/cfg/_data', destination: '/cfg', options: ['rbind', 'rprivate', 'ro'] },
      { type: 'tmpfs', source: 'tmpfs', destination: '/run', options: ['nosuid', 'nodev', 'noexec', 'size=64m'] },
    ];
    const etcFiles = [
      { source: '/store/containers/c1/hosts', destination: '/etc/hosts' },
      { source: '/store/containers/c1/resolv.conf', destination: '/etc/resolv.conf' },
    ];
    const o = spec({ mounts, etcFiles });
    const tail = o.mounts.slice(-6);
    assert.deepEqual(tail.map((m) => m.destination), ['/etc/hosts', '/etc/resolv.conf', '/src', '/data', '/cfg', '/run']);
    assert.deepEqual(tail.slice(2), mounts);
    assert.deepEqual(mountAt(o, '/cfg')[0]!.options, ['rbind', 'rprivate', 'ro']);
    assert.deepEqual(mountAt(o, '/data')[0]!.options, ['rbind', 'rprivate']);
  });

  test('--hostname: the UTS name, in a UTS namespace of its own', () => {
    const o = spec({ hostname: 'web.example' });
    assert.equal(o.hostname, 'web.example');
    assert.ok(nsTypes(o).includes('uts'));
  });

  test('--network none and a user network: a network namespace of its own, new or the one rootlet made', () => {
    // none: a new, empty namespace.
    assert.deepEqual(spec().linux.namespaces.filter((n) => n.type === 'network'), [{ type: 'network' }]);
    // A network or another container's: joined by path; sysfs still mountable (the user's namespace owns it).
    const joined = spec({ netnsPath: '/run/user/1000/rootlet/netns/net1' });
    assert.deepEqual(joined.linux.namespaces.filter((n) => n.type === 'network'), [{ type: 'network', path: '/run/user/1000/rootlet/netns/net1' }]);
    assert.equal(mountAt(joined, '/sys')[0]!.type, 'sysfs');
  });

  test('--network host: the host\'s network namespace, and /sys bound from the host (sysfs needs a namespace of its own)', () => {
    const o = spec({ network: 'host' });
    assert.equal(nsTypes(o).includes('network'), false);
    assert.deepEqual(mountAt(o, '/sys'), [{ destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }]);
  });

  test('--memory, --cpus, --pids-limit: the limits and the cgroup to apply them in', () => {
    const host: CgroupHost = {
      layout: 'v2', delegation: '/user.slice/user-1000.slice/user@1000.service', controllers: ['cpu', 'memory', 'pids'],
      swapAccounting: true, manager: 'systemd',
    };
    const resources = resourcesSpec({ memoryBytes: 64 * 1024 ** 2, cpuQuota: 50_000, pidsLimit: 100 }, 'c1', 1000, host);
    const o = spec({ resources });
    assert.deepEqual(o.linux.resources, { memory: { limit: 64 * 1024 ** 2, swap: 128 * 1024 ** 2 }, cpu: { quota: 50_000, period: 100_000 }, pids: { limit: 100 } });
    assert.equal(o.linux.cgroupsPath, 'user.slice:rootlet:c1');
    // None asked for: no cgroup of its own.
    assert.equal(resourcesSpec({}, 'c1', 1000, host), undefined);
  });

  test('cgroup v1 (or none): no cgroup namespace and no /sys/fs/cgroup mount', () => {
    const o = spec({ cgroupV2: false });
    assert.equal(nsTypes(o).includes('cgroup'), false);
    assert.deepEqual(mountAt(o, '/sys/fs/cgroup'), []);
  });

  test('--userns=keep-id: a nested user namespace mapping the user\'s id to itself', () => {
    // The user is 1000 outside; the user's namespace maps 65537 ids (0 = the user, 1.. = subordinate ids).
    const uidMappings = keepIdMap(1000, 65537);
    const gidMappings = keepIdMap(1001, 65537);
    const o = spec({ userns: { uidMappings, gidMappings }, user: { uid: 1000, gid: 1001, additionalGids: [], home: '/home/u' } });
    assert.ok(nsTypes(o).includes('user'));
    assert.deepEqual(o.linux.uidMappings, [
      { containerID: 0, hostID: 1, size: 1000 },
      { containerID: 1000, hostID: 0, size: 1 },
      { containerID: 1001, hostID: 1001, size: 64536 },
    ]);
    assert.deepEqual(o.linux.gidMappings, [
      { containerID: 0, hostID: 1, size: 1001 },
      { containerID: 1001, hostID: 0, size: 1 },
      { containerID: 1002, hostID: 1002, size: 64535 },
    ]);
    assert.deepEqual(o.process.user, { uid: 1000, gid: 1001, additionalGids: [] });
    // Its own network namespace, made in the nested user namespace: sysfs can be mounted.
    assert.equal(mountAt(o, '/sys')[0]!.type, 'sysfs');
  });

  test('--userns=keep-id on a network: the joined namespace is not the nested namespace\'s, so /sys is bound', () => {
    const o = spec({ userns: { uidMappings: keepIdMap(1000, 65537), gidMappings: keepIdMap(1000, 65537) }, netnsPath: '/run/user/1000/rootlet/netns/net1' });
    assert.deepEqual(o.linux.namespaces.filter((n) => n.type === 'network'), [{ type: 'network', path: '/run/user/1000/rootlet/netns/net1' }]);
    assert.equal(mountAt(o, '/sys')[0]!.type, 'bind');
  });

  test('--init: catatonit bound in read-only and run first, the command after "--"', () => {
    const o = spec({ initPath: '/usr/bin/catatonit', args: ['sleep', '10'] });
    assert.deepEqual(o.process.args, [INIT_PATH, '--', 'sleep', '10']);
    assert.deepEqual(mountAt(o, INIT_PATH), [{ destination: INIT_PATH, type: 'bind', source: '/usr/bin/catatonit', options: ['bind', 'ro', 'nosuid', 'nodev'] }]);
    // Without --init: no such mount, the command as is.
    assert.deepEqual(mountAt(spec(), INIT_PATH), []);
  });
});
