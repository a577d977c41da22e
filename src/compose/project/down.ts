import type { ContainerSummary, Services } from '../../engine/index.js';
import type { ComposeProject } from '../model.js';
import { L, projectContainers, serviceImage } from './labels.js';
import { startOrder } from './order.js';
import { projectNetworks, projectVolumes } from './resources.js';
import type { Say } from './converge.js';

export interface DownOptions {
  volumes?: boolean;
  rmi?: 'local' | 'all';
  removeOrphans?: boolean;
  timeoutSec?: number;
}

/** Containers in the order to stop them: dependents before what they depend on; orphans and one-offs first. */
export function stopOrder(project: ComposeProject, cs: ContainerSummary[]): ContainerSummary[] {
  let order: string[];
  try {
    order = startOrder(project).reverse();
  } catch {
    order = Object.keys(project.services);
  }
  const rank = (c: ContainerSummary) => {
    const i = order.indexOf(c.labels[L.service] ?? '');
    return c.labels[L.oneoff] === 'True' || i < 0 ? -1 : i;
  };
  return [...cs].sort((a, b) => rank(a) - rank(b));
}

/** The level of each service: 0 without dependencies, else one above its highest dependency. */
function levels(project: ComposeProject): Map<string, number> {
  const out = new Map<string, number>();
  const level = (name: string, seen: Set<string>): number => {
    const known = out.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0;
    seen.add(name);
    const deps = Object.keys(project.services[name]?.depends_on ?? {}).filter((d) => project.services[d]);
    const l = deps.length ? 1 + Math.max(...deps.map((d) => level(d, seen))) : 0;
    out.set(name, l);
    return l;
  };
  for (const name of Object.keys(project.services)) level(name, new Set());
  return out;
}

/**
 * Containers in groups to stop one group after the other, each group's
 * containers at once (as Compose): one-offs and orphans first, then the
 * services from the most dependent down to those that depend on nothing.
 */
export function stopGroups(project: ComposeProject, cs: ContainerSummary[]): ContainerSummary[][] {
  const lv = levels(project);
  const rank = (c: ContainerSummary) => (c.labels[L.oneoff] === 'True' ? Infinity : lv.get(c.labels[L.service] ?? '') ?? Infinity);
  const ranks = [...new Set(cs.map(rank))].sort((a, b) => b - a);
  return ranks.map((r) => cs.filter((c) => rank(c) === r));
}

/**
 * `down`: stops the project's containers in reverse dependency order and
 * removes them, then the networks it made; with `volumes`, its named
 * volumes (never an external one: those carry no project label); with
 * `rmi`, the images. All found by label, so a half-made project goes too.
 */
export async function down(svc: Services, project: ComposeProject, opts: DownOptions, say: Say): Promise<void> {
  const all = await projectContainers(svc, project.name);
  const known = (c: ContainerSummary) => c.labels[L.oneoff] === 'True' || !!project.services[c.labels[L.service] ?? ''] || !!project.disabledServices[c.labels[L.service] ?? ''];
  const orphans = all.filter((c) => !known(c));
  const targets = stopOrder(project, opts.removeOrphans ? all : all.filter(known));
  for (const group of stopGroups(project, targets)) {
    await Promise.all(group.filter((c) => c.state === 'running').map(async (c) => {
      await svc.containers.stop(c.id, opts.timeoutSec !== undefined ? { timeoutSec: opts.timeoutSec } : {});
      say(`Container ${c.name}  Stopped`);
    }));
  }
  for (const c of targets) {
    // -v also takes the containers' anonymous volumes, as Docker's down -v.
    await svc.containers.remove(c.id, { force: true, volumes: !!opts.volumes });
    say(`Container ${c.name}  Removed`);
  }
  if (orphans.length && !opts.removeOrphans) {
    say(`WARN: Found orphan containers ([${orphans.map((o) => o.name).join(' ')}]) for this project: --remove-orphans removes them`);
  }
  const left = new Set((await projectContainers(svc, project.name)).flatMap((c) => c.networks));
  for (const n of await projectNetworks(svc, project.name)) {
    if (left.has(n)) continue;
    await svc.networks.remove(n);
    say(`Network ${n}  Removed`);
  }
  if (opts.volumes) {
    for (const v of await projectVolumes(svc, project.name)) {
      await svc.volumes.remove(v);
      say(`Volume ${v}  Removed`);
    }
  }
  if (opts.rmi) {
    const images = new Set<string>();
    for (const [name, s] of Object.entries({ ...project.services, ...project.disabledServices })) {
      // local: only what compose built under its own name (no `image:` given).
      if (opts.rmi === 'all' || !s.image) images.add(serviceImage(project, name));
    }
    for (const ref of images) {
      try {
        await svc.images.remove(ref);
        say(`Image ${ref}  Removed`);
      } catch { /* not here (never built or pulled), or used by another container: Docker goes on too */ }
    }
  }
}
