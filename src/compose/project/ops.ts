import type { ContainerSummary, Services } from '../../engine/index.js';
import { EngineError } from '../../util/errors.js';
import type { ComposeProject } from '../model.js';
import type { Say } from './converge.js';
import { stopGroups, stopOrder } from './down.js';
import { L, projectContainers } from './labels.js';
import { startOrder } from './order.js';

function checkServices(project: ComposeProject, services: string[]): void {
  for (const s of services) if (!project.services[s] && !project.disabledServices[s]) throw new EngineError(`no such service: ${s}`, 1);
}

/** The project's service containers (not one-offs) of these services (all when none), for a lifecycle command. */
export async function serviceContainers(svc: Services, project: ComposeProject, services: string[], all = true): Promise<ContainerSummary[]> {
  checkServices(project, services);
  return projectContainers(svc, project.name, { services, oneoff: false, all });
}

export type Lifecycle = 'start' | 'stop' | 'restart' | 'kill' | 'pause' | 'unpause';
const DONE: Record<Lifecycle, string> = { start: 'Started', stop: 'Stopped', restart: 'Restarted', kill: 'Killed', pause: 'Paused', unpause: 'Unpaused' };

/**
 * start/stop/restart/kill/pause/unpause over the project's containers: in
 * dependency order to start, in reverse to stop. A failure is kept and the
 * others go on; the first is thrown at the end.
 */
export async function lifecycle(svc: Services, project: ComposeProject, op: Lifecycle, services: string[], opts: { timeoutSec?: number; signal?: string }, say: Say): Promise<void> {
  let cs = await serviceContainers(svc, project, services);
  if (!cs.length && op === 'start') throw new EngineError('no containers to start', 1);
  cs = stopOrder(project, cs);
  if (op === 'start' || op === 'unpause') {
    const order = (() => { try { return startOrder(project); } catch { return Object.keys(project.services); } })();
    cs.sort((a, b) => order.indexOf(a.labels[L.service]!) - order.indexOf(b.labels[L.service]!));
  }
  let first: unknown;
  const one = async (c: ContainerSummary) => {
    if (op === 'kill' && c.state !== 'running') return;
    try {
      if (op === 'start') await svc.containers.start(c.id);
      else if (op === 'stop') await svc.containers.stop(c.id, opts.timeoutSec !== undefined ? { timeoutSec: opts.timeoutSec } : {});
      else if (op === 'restart') await svc.containers.restart(c.id, opts.timeoutSec !== undefined ? { timeoutSec: opts.timeoutSec } : {});
      else if (op === 'kill') await svc.containers.kill(c.id, opts.signal ? { signal: opts.signal } : {});
      else if (op === 'pause') await svc.containers.pause(c.id);
      else await svc.containers.unpause(c.id);
      say(`Container ${c.name}  ${DONE[op]}`);
    } catch (err) {
      first ??= err;
    }
  };
  // Stopping goes a dependency level at a time, each level's containers at once (a stop may wait its grace period).
  if (op === 'stop' || op === 'restart' || op === 'kill' || op === 'pause') {
    for (const group of stopGroups(project, cs)) await Promise.all(group.map(one));
  } else {
    for (const c of cs) await one(c);
  }
  if (first) throw first;
}

/** `rm`: the stopped containers of the services (with `stop`, the running ones are stopped first). */
export async function removeStopped(svc: Services, project: ComposeProject, services: string[], opts: { stop?: boolean; volumes?: boolean }, say: Say): Promise<number> {
  const cs = await serviceContainers(svc, project, services);
  let n = 0;
  for (const c of stopOrder(project, cs)) {
    if (c.state === 'running') {
      if (!opts.stop) continue;
      await svc.containers.stop(c.id);
      say(`Container ${c.name}  Stopped`);
    }
    await svc.containers.remove(c.id, { volumes: !!opts.volumes });
    say(`Container ${c.name}  Removed`);
    n++;
  }
  return n;
}

/** `ls`: every project that has containers here, with its state and files. */
export async function listProjects(svc: Services, all: boolean): Promise<Array<{ name: string; status: string; configFiles: string }>> {
  const cs = await svc.containers.list({ all: true, filters: [`label=${L.project}`] });
  const by = new Map<string, ContainerSummary[]>();
  for (const c of cs) by.set(c.labels[L.project]!, [...(by.get(c.labels[L.project]!) ?? []), c]);
  const out = [];
  for (const [name, list] of [...by].sort(([a], [b]) => a.localeCompare(b))) {
    const counts = new Map<string, number>();
    for (const c of list) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
    if (!all && !counts.get('running')) continue;
    const status = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s}(${n})`).join(', ');
    out.push({ name, status, configFiles: list[0]!.labels[L.configFiles] ?? '' });
  }
  return out;
}
