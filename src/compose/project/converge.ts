import type { CallerContext, ContainerSummary, Services } from '../../engine/index.js';
import { EngineError, errorMessage } from '../../util/errors.js';
import type { ComposeProject } from '../model.js';
import { configHash } from './hash.js';
import { bareId, imageId, prepareImages } from './images.js';
import { containerName, containerNumber, L, projectContainers, serviceImage } from './labels.js';
import { dependents, startOrder } from './order.js';
import { checkNetworks, ensureResources, usedBy } from './resources.js';
import { checkEnforceable, serviceRequest } from './service-request.js';

export interface ConvergeOptions {
  services: string[];
  build?: boolean;
  noBuild?: boolean;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  noDeps?: boolean;
  removeOrphans?: boolean;
  /** --scale SERVICE=N over the file's scale/deploy.replicas. */
  scale?: Record<string, number>;
  /** Create only (`compose create`, and a foreground `up` that attaches before starting). */
  noStart?: boolean;
}

/** What `up` reports as it goes, as Compose's progress lines: `Container p-web-1  Started`. */
export type Say = (line: string) => void;

const POLL_MS = 150;

function tick(): Promise<void> {
  return new Promise((r) => setTimeout(r, POLL_MS));
}

/** Waits for a dependency's containers to meet the condition a dependent asks. */
async function waitCondition(svc: Services, project: ComposeProject, dep: string, condition: string, say: Say): Promise<void> {
  if (condition === 'service_started') return;
  for (;;) {
    const cs = await projectContainers(svc, project.name, { services: [dep], oneoff: false });
    if (!cs.length) throw new EngineError(`dependency failed to start: service "${dep}" has no container`, 1);
    if (condition === 'service_completed_successfully') {
      const notDone = cs.filter((c) => c.state !== 'exited');
      if (!notDone.length) {
        const bad = cs.find((c) => (c.exitCode ?? 0) !== 0);
        if (bad) throw new EngineError(`service "${dep}" didn't complete successfully: exit ${bad.exitCode}`, 1);
        say(`Container ${cs[0]!.name}  Exited`);
        return;
      }
    } else {
      const none = cs.find((c) => c.health === undefined && c.state === 'running');
      if (none) throw new EngineError(`dependency failed to start: container ${none.name} has no healthcheck configured`, 1);
      const sick = cs.find((c) => c.health === 'unhealthy');
      if (sick) throw new EngineError(`dependency failed to start: container ${sick.name} is unhealthy`, 1);
      const gone = cs.find((c) => c.state !== 'running');
      if (gone) throw new EngineError(`dependency failed to start: container ${gone.name} exited (${gone.exitCode ?? 0})`, 1);
      if (cs.every((c) => c.health === 'healthy')) {
        say(`Container ${cs[0]!.name}  Healthy`);
        return;
      }
    }
    await tick();
  }
}

/** `up --wait`: every container of these services running, and healthy where it has a check. */
export async function waitHealthy(svc: Services, project: ComposeProject, services: string[]): Promise<void> {
  for (;;) {
    const cs = await projectContainers(svc, project.name, { services, oneoff: false });
    const down = cs.find((c) => c.state !== 'running' && !(c.state === 'exited' && c.exitCode === 0 && project.services[c.labels[L.service]!]?.restart !== 'always'));
    if (down) throw new EngineError(`container ${down.name} exited (${down.exitCode ?? 0})`, 1);
    const sick = cs.find((c) => c.health === 'unhealthy');
    if (sick) throw new EngineError(`container ${sick.name} is unhealthy`, 1);
    if (cs.every((c) => c.health === undefined || c.health === 'healthy')) return;
    await tick();
  }
}

function replicas(project: ComposeProject, name: string, scale: Record<string, number> | undefined): number {
  const n = scale?.[name] ?? project.services[name]!.scale ?? 1;
  if (n > 1 && project.services[name]!.container_name) {
    throw new EngineError(`services.${name}: container_name "${project.services[name]!.container_name}" is set, so the service cannot be scaled to ${n}`, 1);
  }
  return n;
}

/**
 * Brings the project's services to what the files say (`up`'s work):
 * everything checked and every image ready before the first object is made;
 * then the networks and volumes; then each service in dependency order,
 * waiting for what its dependencies' conditions ask, creating the missing
 * containers, recreating those whose configuration hash (or image) changed,
 * starting stopped ones, removing replicas above the scale. Everything is
 * found by its labels, so a project left half made is finished here.
 * Returns the containers of the services it brought up.
 */
export async function converge(svc: Services, project: ComposeProject, opts: ConvergeOptions, ctx: CallerContext, say: Say): Promise<ContainerSummary[]> {
  const order = startOrder(project, opts.services, opts.noDeps);
  const used = usedBy(project, order);
  checkNetworks(project, used.networks);
  const at = { cwd: project.workingDir, env: ctx.env };
  const hashes: Record<string, string> = {};
  for (const name of order) {
    const s = project.services[name]!;
    checkEnforceable(s, project);
    hashes[name] = configHash(s);
    // Every replica's request is made (and so checked: ports, sizes, options) before anything exists.
    for (let n = 1; n <= replicas(project, name, opts.scale); n++) serviceRequest(project, s, { number: n, name: containerName(project, name, n), hash: hashes[name]! }, at);
  }
  await prepareImages(svc, project, order, opts, ctx, say);

  const existing = await projectContainers(svc, project.name, { oneoff: false });
  const orphans = existing.filter((c) => !project.services[c.labels[L.service] ?? ''] && !project.disabledServices[c.labels[L.service] ?? '']);
  if (orphans.length && opts.removeOrphans) {
    for (const o of orphans) {
      await svc.containers.remove(o.id, { force: true });
      say(`Container ${o.name}  Removed`);
    }
  } else if (orphans.length) {
    ctx.warn(`WARN: Found orphan containers ([${orphans.map((o) => o.name).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`);
  }

  await ensureResources(svc, project, used);

  const recreated = new Set<string>();
  for (const name of order) {
    const s = project.services[name]!;
    for (const [dep, d] of Object.entries(s.depends_on)) {
      if (!project.services[dep]) continue;
      if (opts.noDeps && !order.includes(dep)) continue;
      if (!opts.noStart) await waitCondition(svc, project, dep, d.condition, say);
    }
    const want = replicas(project, name, opts.scale);
    const mine = existing.filter((c) => c.labels[L.service] === name);
    const id = await imageId(svc, serviceImage(project, name));
    for (const extra of mine.filter((c) => containerNumber(c) > want).reverse()) {
      await svc.containers.stop(extra.id);
      await svc.containers.remove(extra.id, { force: true });
      say(`Container ${extra.name}  Removed`);
    }
    for (let n = 1; n <= want; n++) {
      const cname = containerName(project, name, n);
      const have = mine.find((c) => containerNumber(c) === n) ?? mine.find((c) => c.name === cname);
      const stale = have && (opts.forceRecreate || (!opts.noRecreate && (have.labels[L.hash] !== hashes[name] || (id !== undefined && bareId(have.imageId) !== id))));
      if (have && stale) {
        say(`Container ${have.name}  Recreate`);
        await svc.containers.stop(have.id);
        await svc.containers.remove(have.id, { force: true });
        recreated.add(name);
      }
      if (!have || stale) {
        const req = serviceRequest(project, s, { number: n, name: cname, hash: hashes[name]! }, at);
        const { id: cid } = await svc.containers.create(req, { pull: 'never' });
        say(`Container ${cname}  ${stale ? 'Recreated' : 'Created'}`);
        if (!opts.noStart) await start(svc, cid, cname, say);
      } else if (!opts.noStart && have.state !== 'running') {
        await start(svc, have.id, have.name, say);
      } else if (!opts.noStart) {
        say(`Container ${have.name}  Running`);
      }
    }
    // As Compose: a dependent that asked for it (depends_on.restart) is restarted when its dependency was recreated.
    if (recreated.has(name) && !opts.noStart) {
      for (const d of dependents(project, name)) {
        if (!project.services[d]!.depends_on[name]?.restart || recreated.has(d)) continue;
        for (const c of existing.filter((x) => x.labels[L.service] === d && x.state === 'running')) {
          await svc.containers.restart(c.id);
          say(`Container ${c.name}  Restarted`);
        }
      }
    }
  }
  return projectContainers(svc, project.name, { services: order, oneoff: false });
}

async function start(svc: Services, id: string, name: string, say: Say): Promise<void> {
  try {
    await svc.containers.start(id);
  } catch (err) {
    throw new EngineError(`container ${name} could not start: ${errorMessage(err)}`, err instanceof EngineError ? err.exitCode : 1);
  }
  say(`Container ${name}  Started`);
}
