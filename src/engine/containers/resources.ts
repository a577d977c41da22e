import { cgroupHost, type CgroupHost } from '../../runtime/cgroups.js';
import type { Resources } from './spec.js';
import { EngineError } from '../../util/errors.js';

const NEEDS: Array<{ key: keyof Resources; flag: string; controller: string }> = [
  { key: 'memoryBytes', flag: '--memory', controller: 'memory' },
  { key: 'cpuQuota', flag: '--cpus', controller: 'cpu' },
  { key: 'pidsLimit', flag: '--pids-limit', controller: 'pids' },
];

export function asked(r: Resources) {
  return NEEDS.filter((n) => r[n.key] !== undefined);
}

const them = (n: number) => (n > 1 ? 'them' : 'it');

/**
 * Refuses limits this host cannot enforce for this user: a limit that
 * cannot be applied is an error naming the reason, never silently dropped.
 * Checked when a container is created and again at each start (the host
 * may have changed in between: a reboot, another login).
 */
export function checkResources(r: Resources, uid = process.getuid!(), host: CgroupHost = cgroupHost(uid)): void {
  const want = asked(r);
  if (!want.length) return;
  if (host.blocker) {
    throw new EngineError(`cannot enforce ${want.map((n) => n.flag).join(', ')} here: ${host.blocker}; or run without ${them(want.length)}`);
  }
  const missing = want.filter((n) => !host.controllers.includes(n.controller));
  if (missing.length) {
    const names = missing.map((n) => n.controller).join(', ');
    throw new EngineError(`cannot enforce ${missing.map((n) => n.flag).join(', ')} here: the ${names} controller${missing.length > 1 ? 's are' : ' is'} not delegated to you `
      + `(${host.delegation} has ${host.controllers.join(' ') || 'none'}); run without ${them(missing.length)}, or have an admin delegate ${them(missing.length)}: `
      + '`systemctl edit user@.service` with [Service] Delegate=cpu cpuset io memory pids, then log in again (`rootlet system check` shows what is delegated)');
  }
}

/** The runtime spec's `linux.resources` and `cgroupsPath` (for the manager cgroupRuntimeArgs names). */
export interface ResourcesSpec {
  resources: object;
  cgroupsPath: string;
}

/**
 * The container's limits for the runtime spec, or nothing when none was
 * asked for (the container then gets no cgroup of its own, as before).
 * The cgroup is a transient scope of the user's systemd, named in the
 * "slice:prefix:name" form both crun and runc take with --systemd-cgroup:
 * rootlet-ID.scope in the user manager's user.slice, i.e.
 * /sys/fs/cgroup/user.slice/user-UID.slice/user@UID.service/user.slice/rootlet-ID.scope.
 */
export function resourcesSpec(r: Resources, id: string, uid = process.getuid!(), host: CgroupHost = cgroupHost(uid)): ResourcesSpec | undefined {
  if (!asked(r).length) return undefined;
  checkResources(r, uid, host);
  return { resources: ociResources(r, host), cgroupsPath: `user.slice:rootlet:${id}` };
}

/** The OCI `linux.resources` of these limits (the spec's at create, the runtime's `update` file later). */
export function ociResources(r: Resources, host: Pick<CgroupHost, 'swapAccounting'>): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  if (r.memoryBytes !== undefined) {
    // Docker's default without --memory-swap: as much swap again (the OCI value is memory plus swap).
    resources.memory = host.swapAccounting ? { limit: r.memoryBytes, swap: r.memoryBytes * 2 } : { limit: r.memoryBytes };
  }
  if (r.cpuQuota !== undefined) resources.cpu = { quota: r.cpuQuota, period: r.cpuPeriod ?? 100_000 };
  if (r.pidsLimit !== undefined) resources.pids = { limit: r.pidsLimit };
  return resources;
}

/**
 * The global runtime flags for creating this container: the cgroup manager
 * when it has limits. Only create and run need it: crun and runc record the
 * manager in their state for the container's later commands.
 */
export function cgroupRuntimeArgs(r: Resources, uid = process.getuid!(), host?: CgroupHost): string[] {
  if (!asked(r).length) return [];
  return (host ?? cgroupHost(uid)).manager === 'systemd' ? ['--systemd-cgroup'] : [];
}
