import { delegatedControllers, userServiceCgroup } from '../runtime/cgroups.js';
import { cgroupLayout } from '../runtime/runtime.js';
import type { Resources } from './container-spec.js';
import { EngineError } from './errors.js';

const NEEDS: Array<{ key: keyof Resources; flag: string; controller: string }> = [
  { key: 'memoryBytes', flag: '--memory', controller: 'memory' },
  { key: 'cpuQuota', flag: '--cpus', controller: 'cpu' },
  { key: 'pidsLimit', flag: '--pids-limit', controller: 'pids' },
];

/**
 * Refuses limits this host cannot enforce for this user: a limit that
 * cannot be applied is an error, never silently dropped.
 */
export function checkResources(r: Resources, uid = process.getuid!()): void {
  const asked = NEEDS.filter((n) => r[n.key] !== undefined);
  if (!asked.length) return;
  const layout = cgroupLayout();
  const flags = asked.map((n) => n.flag).join(', ');
  if (layout !== 'v2') {
    throw new EngineError(`cannot enforce ${flags} here: this host's cgroups are ${layout === 'hybrid' ? 'hybrid v1/v2' : layout}, and rootless limits need cgroup v2 with controllers delegated to you; run without ${asked.length > 1 ? 'them' : 'it'}, or ask an admin to boot with systemd.unified_cgroup_hierarchy=1`);
  }
  const have = delegatedControllers(uid);
  const missing = asked.filter((n) => !have.includes(n.controller));
  if (missing.length) {
    throw new EngineError(`cannot enforce ${missing.map((n) => n.flag).join(', ')} here: the ${missing.map((n) => n.controller).join(', ')} controller is not delegated to you (see \`rootlet system check\`); run without it, or ask an admin to delegate it`);
  }
}

/** The runtime spec's resources and cgroup path, or nothing when no limit was asked for. */
export function resourcesSpec(r: Resources, id: string, uid = process.getuid!()): { resources: object; cgroupsPath: string } | undefined {
  if (r.memoryBytes === undefined && r.cpuQuota === undefined && r.pidsLimit === undefined) return undefined;
  const resources: Record<string, unknown> = {};
  if (r.memoryBytes !== undefined) resources.memory = { limit: r.memoryBytes };
  if (r.cpuQuota !== undefined) resources.cpu = { quota: r.cpuQuota, period: r.cpuPeriod };
  if (r.pidsLimit !== undefined) resources.pids = { limit: r.pidsLimit };
  // A cgroup of its own under the user's delegated subtree (cgroupfs driver).
  return { resources, cgroupsPath: `${userServiceCgroup(uid)}/rootlet-${id.slice(0, 12)}` };
}
