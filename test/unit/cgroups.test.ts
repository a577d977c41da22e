import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { resourcesFrom } from '../../src/engine/containers/spec.js';
import { parseCpus, parseMemory, parsePidsLimit } from '../../src/grammar/create-flags.js';
import { EngineError } from '../../src/util/errors.js';
import { cgroupRuntimeArgs, checkResources, resourcesSpec } from '../../src/engine/containers/resources.js';
import { detectCgroups, layoutFromMountinfo, userBus, type CgroupHost } from '../../src/runtime/cgroups.js';
import { buildRuntimeSpec } from '../../src/runtime/spec.js';

// Hosts this CI machine is not (it has hybrid cgroups), as the files rootlet
// reads on them: mountinfo, /proc/self/cgroup, the user's delegated subtree
// under /sys/fs/cgroup and the user's bus socket, built in a temp directory.

const UID = 1000;
const SERVICE = `/user.slice/user-${UID}.slice/user@${UID}.service`;
const ID = 'a'.repeat(64);

const OTHER_MOUNTS = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '24 22 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw',
];
const V2_MOUNT = '25 24 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:3 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';
// As on this CI host: v1 controllers, with systemd's v2 tree beside them.
const V1_MOUNTS = [
  '30 24 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
];
const UNIFIED_MOUNT = '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw';

interface Fixture {
  mounts: string[];
  /** /proc/self/cgroup */
  cgroup: string;
  /** Controllers in the user's user@UID.service (undefined: no such cgroup). */
  delegated?: string[];
  swap?: boolean;
  bus?: boolean;
}

const FROM_TERMINAL = `0::${SERVICE}/app.slice/app-org.gnome.Terminal.slice/vte-spawn-1.scope\n`;
const FROM_SSH = `0::/user.slice/user-${UID}.slice/session-3.scope\n`;
const HYBRID_CGROUP = '9:name=systemd:/user.slice/user-1000.slice/session-3.scope\n4:memory:/user.slice\n0::/user.slice/user-1000.slice/session-3.scope\n';

describe('cgroup detection from a filesystem root, and the limits it allows', () => {
  const base = mkdtempSync(join(tmpdir(), 'rootlet-cgroups-'));
  after(() => rmSync(base, { recursive: true, force: true }));
  let n = 0;

  const put = (root: string, path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  /** Builds the tree and returns the root and what detection reads from it. */
  const hostFrom = (f: Fixture): { root: string; host: CgroupHost } => {
    const root = join(base, `host-${n++}`);
    put(root, 'proc/self/mountinfo', `${f.mounts.join('\n')}\n`);
    put(root, 'proc/self/cgroup', f.cgroup);
    if (f.delegated) {
      const dir = `sys/fs/cgroup${SERVICE}`;
      put(root, `${dir}/cgroup.controllers`, `${f.delegated.join(' ')}\n`);
      put(root, `${dir}/cgroup.subtree_control`, '');
      put(root, `${dir}/cgroup.procs`, '');
      if (f.swap) put(root, `${dir}/memory.swap.max`, 'max\n');
    }
    if (f.bus) put(root, `run/user/${UID}/bus`, '');
    return { root, host: detectCgroups(UID, { root, bus: { socket: `/run/user/${UID}/bus`, address: `unix:path=/run/user/${UID}/bus` } }) };
  };
  const v2 = (over: Partial<Fixture> = {}) => hostFrom({ mounts: [...OTHER_MOUNTS, V2_MOUNT], cgroup: FROM_TERMINAL, delegated: ['cpuset', 'cpu', 'io', 'memory', 'pids'], swap: true, bus: true, ...over });
  const limits = (o: { memory?: string; cpus?: string; pidsLimit?: string }) => resourcesFrom({
    ...(o.memory !== undefined ? { memoryBytes: parseMemory(o.memory) } : {}),
    ...(o.cpus !== undefined ? { nanoCpus: Math.round(parseCpus(o.cpus) * 1e9) } : {}),
    ...(o.pidsLimit !== undefined ? { pidsLimit: parsePidsLimit(o.pidsLimit) } : {}),
  });
  const refusal = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof EngineError, String(err));
      assert.equal(err.exitCode, 125);
      assert.doesNotMatch(err.message, /\n/);
      return err.message;
    }
    assert.fail('expected a refusal');
  };
  const ALL = { memory: '64m', cpus: '1.5', pidsLimit: '100' };

  test('pure v2, memory, pids and cpu delegated to user@UID.service: the user\'s systemd makes the cgroup', () => {
    const { host } = v2();
    assert.deepEqual(host, {
      layout: 'v2',
      ownCgroup: `${SERVICE}/app.slice/app-org.gnome.Terminal.slice/vte-spawn-1.scope`,
      delegation: SERVICE,
      controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'],
      swapAccounting: true,
      manager: 'systemd',
    });
    const r = limits(ALL);
    checkResources(r, UID, host);
    const spec = resourcesSpec(r, ID, UID, host);
    assert.deepEqual(spec, {
      // --memory 64m: Docker's default swap is as much again (OCI counts memory plus swap).
      resources: { memory: { limit: 64 * 1024 ** 2, swap: 128 * 1024 ** 2 }, cpu: { quota: 150_000, period: 100_000 }, pids: { limit: 100 } },
      // A transient scope rootlet-ID.scope in the user manager's user.slice.
      cgroupsPath: `user.slice:rootlet:${ID}`,
    });
    assert.deepEqual(cgroupRuntimeArgs(r, UID, host), ['--systemd-cgroup']);
    // Into the runtime spec as is, with a cgroup namespace and a read-only /sys/fs/cgroup.
    const oci = buildRuntimeSpec({
      rootfs: '/r', readonlyRootfs: false, args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
      terminal: false, hostname: 'h', network: 'own', mounts: [], etcFiles: [], cgroupV2: host.layout === 'v2', resources: spec,
    }) as { linux: { resources: unknown; cgroupsPath: string; namespaces: Array<{ type: string }> }; mounts: Array<{ destination: string; type: string }> };
    assert.deepEqual(oci.linux.resources, spec!.resources);
    assert.equal(oci.linux.cgroupsPath, `user.slice:rootlet:${ID}`);
    assert.ok(oci.linux.namespaces.some((ns) => ns.type === 'cgroup'));
    assert.ok(oci.mounts.some((m) => m.destination === '/sys/fs/cgroup' && m.type === 'cgroup'));
  });

  test('each limit alone sets only its part; --cpus 0.5 is half of each 100 ms; --pids-limit -1 is no limit at all', () => {
    const { host } = v2();
    assert.deepEqual(resourcesSpec(limits({ cpus: '0.5' }), ID, UID, host)!.resources, { cpu: { quota: 50_000, period: 100_000 } });
    assert.deepEqual(resourcesSpec(limits({ pidsLimit: '1' }), ID, UID, host)!.resources, { pids: { limit: 1 } });
    assert.equal(resourcesSpec(limits({ pidsLimit: '-1' }), ID, UID, host), undefined);
    // No limit asked for: no cgroup of its own, no manager flag, and nothing to refuse.
    assert.equal(resourcesSpec({}, ID, UID, host), undefined);
    assert.deepEqual(cgroupRuntimeArgs({}, UID, host), []);
  });

  test('without swap accounting, --memory limits memory only (as Docker does there)', () => {
    const { host } = v2({ swap: false });
    assert.equal(host.swapAccounting, false);
    assert.deepEqual(resourcesSpec(limits({ memory: '1g' }), ID, UID, host)!.resources, { memory: { limit: 1024 ** 3 } });
  });

  test('also from an ssh login (a session scope outside the delegation): systemd moves the runtime', () => {
    const { host } = v2({ cgroup: FROM_SSH });
    assert.equal(host.ownCgroup, `/user.slice/user-${UID}.slice/session-3.scope`);
    assert.equal(host.manager, 'systemd');
    assert.ok(resourcesSpec(limits(ALL), ID, UID, host));
  });

  test('partly delegated (memory and pids, not cpu): --memory and --pids-limit work, --cpus is refused naming the controller and the fix', () => {
    const { host } = v2({ delegated: ['memory', 'pids'] });
    assert.deepEqual(host.controllers, ['memory', 'pids']);
    assert.equal(host.blocker, undefined);
    assert.deepEqual(resourcesSpec(limits({ memory: '64m', pidsLimit: '10' }), ID, UID, host)!.resources,
      { memory: { limit: 64 * 1024 ** 2, swap: 128 * 1024 ** 2 }, pids: { limit: 10 } });
    const msg = refusal(() => checkResources(limits(ALL), UID, host));
    assert.match(msg, /^cannot enforce --cpus here: the cpu controller is not delegated to you \(\/user\.slice\/user-1000\.slice\/user@1000\.service has memory pids\); run without it, or have an admin delegate it: `systemctl edit user@\.service` with \[Service\] Delegate=cpu cpuset io memory pids/);
    // The spec is never built without the refused limit.
    assert.equal(refusal(() => resourcesSpec(limits({ cpus: '2' }), ID, UID, host)), refusal(() => checkResources(limits({ cpus: '2' }), UID, host)));
  });

  test('nothing delegated (no controllers in user@UID.service): every limit refused, naming the controllers', () => {
    const { host } = v2({ delegated: [] });
    assert.match(refusal(() => checkResources(limits(ALL), UID, host)),
      /^cannot enforce --memory, --cpus, --pids-limit here: the memory, cpu, pids controllers are not delegated to you \(.* has none\); run without them, or have an admin delegate them/);
  });

  test('no delegation (no systemd user instance): every limit refused with the reason; no limit still runs', () => {
    const { host } = v2({ delegated: undefined });
    assert.equal(host.manager, undefined);
    assert.deepEqual(host.controllers, []);
    const msg = refusal(() => checkResources(limits(ALL), UID, host));
    assert.match(msg, /^cannot enforce --memory, --cpus, --pids-limit here: no cgroup is delegated to you: \/user\.slice\/user-1000\.slice\/user@1000\.service does not exist.*loginctl enable-linger 1000.*; or run without them$/);
    assert.match(refusal(() => resourcesSpec(limits({ memory: '64m' }), ID, UID, host)), /^cannot enforce --memory here: .*; or run without it$/);
    checkResources({}, UID, host);
    assert.equal(resourcesSpec({}, ID, UID, host), undefined);
  });

  test('user@UID.service not handed to the user (no Delegate=): refused, naming Delegate=yes', { skip: process.getuid!() === 0 && 'root may write any file' }, () => {
    const { root } = v2();
    chmodSync(join(root, `sys/fs/cgroup${SERVICE}/cgroup.subtree_control`), 0o444);
    const host = detectCgroups(UID, { root, bus: { socket: `/run/user/${UID}/bus`, address: '' } });
    assert.deepEqual(host.controllers, []);
    assert.match(refusal(() => checkResources(limits({ pidsLimit: '5' }), UID, host)), /is not delegated to you .*Delegate=yes/);
  });

  test('delegated but no user bus: refused, since the runtime could not ask systemd for the cgroup', () => {
    const { host } = v2({ bus: false });
    assert.equal(host.manager, undefined);
    assert.match(refusal(() => checkResources(limits({ memory: '64m' }), UID, host)), /^cannot enforce --memory here: your systemd user instance has no D-Bus bus at \/run\/user\/1000\/bus.*dbus-user-session/);
  });

  test('hybrid (as on this CI host): every limit refused with the reason', () => {
    const { host } = hostFrom({ mounts: [...OTHER_MOUNTS, ...V1_MOUNTS, UNIFIED_MOUNT], cgroup: HYBRID_CGROUP, delegated: ['memory', 'pids'], bus: true });
    assert.equal(host.layout, 'hybrid');
    assert.equal(host.ownCgroup, '/user.slice/user-1000.slice/session-3.scope');
    assert.deepEqual(host.controllers, []);
    assert.match(refusal(() => checkResources(limits(ALL), UID, host)), /^cannot enforce --memory, --cpus, --pids-limit here: this host's cgroups are hybrid v1\/v2, .*systemd\.unified_cgroup_hierarchy=1\); or run without them$/);
  });

  test('v1 only, and none mounted: refused alike', () => {
    const v1 = hostFrom({ mounts: [...OTHER_MOUNTS, ...V1_MOUNTS], cgroup: '4:memory:/\n', bus: true }).host;
    assert.equal(v1.layout, 'v1');
    assert.equal(v1.ownCgroup, undefined);
    assert.match(refusal(() => checkResources(limits({ pidsLimit: '3' }), UID, v1)), /^cannot enforce --pids-limit here: this host's cgroups are cgroup v1 only, /);
    const none = hostFrom({ mounts: OTHER_MOUNTS, cgroup: '' }).host;
    assert.equal(none.layout, 'none');
    assert.match(refusal(() => checkResources(limits({ memory: '8m' }), UID, none)), /cgroups are not mounted/);
  });

  test('the hierarchy from mountinfo: rootlet\'s tmpfs over the unified tree still reads hybrid', () => {
    const hidden = '50 40 0:60 / /sys/fs/cgroup/unified ro,nosuid,nodev,noexec - tmpfs rootlet-no-cgroup2 ro,size=4k,mode=555';
    assert.equal(layoutFromMountinfo([...OTHER_MOUNTS, ...V1_MOUNTS, UNIFIED_MOUNT, hidden].join('\n')), 'hybrid');
    assert.equal(layoutFromMountinfo([...OTHER_MOUNTS, V2_MOUNT].join('\n')), 'v2');
    assert.equal(layoutFromMountinfo(''), 'none');
  });

  test('the user bus, as the runtimes find it', () => {
    assert.deepEqual(userBus(UID, { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus' }), { socket: '/run/user/1000/bus', address: 'unix:path=/run/user/1000/bus' });
    assert.equal(userBus(UID, { XDG_RUNTIME_DIR: '/tmp/xdg' }).socket, '/tmp/xdg/bus');
    assert.equal(userBus(UID, {}).socket, '/run/user/1000/bus');
    // An abstract socket cannot be checked for: taken as there.
    assert.equal(userBus(UID, { DBUS_SESSION_BUS_ADDRESS: 'unix:abstract=/tmp/dbus-x,guid=1' }).socket, undefined);
  });
});
