import type { Services } from '../../engine/index.js';
import { EngineError } from '../../util/errors.js';
import type { ComposeProject } from '../model.js';
import { COMPOSE_VERSION, L, projectFilter } from './labels.js';

/** Which project-level networks and volumes the given services use. */
export function usedBy(project: ComposeProject, services: string[]): { networks: string[]; volumes: string[] } {
  const nets = new Set<string>();
  const vols = new Set<string>();
  for (const name of services) {
    const s = project.services[name]!;
    if (!s.network_mode) Object.keys(s.networks).forEach((n) => nets.add(n));
    for (const v of s.volumes) if (v.type === 'volume' && v.source) vols.add(v.source);
  }
  return { networks: [...nets], volumes: [...vols] };
}

/** Refuses what the engine's networks cannot be, before anything is made. */
export function checkNetworks(project: ComposeProject, keys: string[]): void {
  for (const k of keys) {
    const n = project.networks[k]!;
    if (n.external) continue;
    const at = `networks.${k}`;
    if (n.driver && n.driver !== 'bridge') throw new EngineError(`${at}.driver: "${n.driver}" is not supported: only bridge`);
    if (n.driver_opts && Object.keys(n.driver_opts).length) throw new EngineError(`${at}.driver_opts: not supported by rootlet's bridge networks`);
    if (n.enable_ipv6) throw new EngineError(`${at}.enable_ipv6: not supported: rootlet's networks are IPv4`);
    const cfg = n.ipam?.config ?? [];
    if (cfg.length > 1) throw new EngineError(`${at}.ipam.config: only one subnet per network is supported`);
    if (cfg[0]?.ip_range) throw new EngineError(`${at}.ipam.config[0].ip_range: not supported by rootlet`);
  }
}

/**
 * Makes the project's networks and named volumes that are missing (with
 * the project's labels, so `down` finds them); an external one must exist.
 * An existing one is reused as it is, as Docker does.
 */
export async function ensureResources(svc: Services, project: ComposeProject, used: { networks: string[]; volumes: string[] }): Promise<void> {
  const have = new Set((await svc.networks.list()).map((n) => n.name));
  for (const k of used.networks) {
    const n = project.networks[k]!;
    if (have.has(n.name)) continue;
    if (n.external) throw new EngineError(`network ${n.name} declared as external, but could not be found`, 1);
    const cfg = n.ipam?.config?.[0];
    await svc.networks.create({
      name: n.name,
      internal: !!n.internal,
      labels: { ...(n.labels ?? {}), [L.project]: project.name, [L.network]: k, [L.version]: COMPOSE_VERSION },
      ...(cfg?.subnet ? { subnet: cfg.subnet } : {}),
      ...(cfg?.gateway ? { gateway: cfg.gateway } : {}),
    });
  }
  const vols = new Set((await svc.volumes.list()).map((v) => v.name));
  for (const k of used.volumes) {
    const v = project.volumes[k]!;
    if (vols.has(v.name)) continue;
    if (v.external) throw new EngineError(`external volume "${v.name}" not found`, 1);
    await svc.volumes.create({
      name: v.name,
      labels: { ...(v.labels ?? {}), [L.project]: project.name, [L.volume]: k, [L.version]: COMPOSE_VERSION },
      ...(v.driver_opts && Object.keys(v.driver_opts).length ? { options: v.driver_opts } : {}),
    });
  }
}

/** The project's networks (by label: never an external one, which compose did not make). */
export async function projectNetworks(svc: Services, project: string): Promise<string[]> {
  return (await svc.networks.list({ filters: [projectFilter(project)] })).map((n) => n.name);
}

export async function projectVolumes(svc: Services, project: string): Promise<string[]> {
  return (await svc.volumes.list({ filters: [projectFilter(project)] })).map((v) => v.name);
}
