import type { Engine } from '../engine.js';
import type { CallerContext } from '../context.js';
import type { ContainerService, LogsRequest } from '../containers/service.js';
import type { TopTable } from '../containers/top.js';
import type { ContainerRecord } from '../containers/store.js';
import type { PortBinding } from '../../util/values.js';
import { EngineError } from '../../util/errors.js';
import { POD_SHARES, type PodRecord, type PodShare } from './store.js';

export { PodNotFoundError, POD_SHARES, type PodShare } from './store.js';

export interface CreatePodRequest {
  name?: string;
  /** Published ports: the pod's, held by its infra container. */
  portBindings?: PortBinding[];
  /** The namespaces its containers share (default net, ipc, uts). */
  share?: PodShare[];
  labels?: Record<string, string>;
  /** A network for the pod (its infra's; absent: the default network). */
  networkMode?: string;
}

/** A pod's member as `pod inspect` and `pod ps` show it. */
export interface PodMember {
  id: string;
  name: string;
  state: string;
  infra: boolean;
  created: number;
}

/** A pod and its containers, as `pod ls` and `pod inspect` show them. */
export interface PodDetails {
  id: string;
  name: string;
  created: number;
  /** Podman's: Created (none ran), Running (all run), Degraded (some), Exited. */
  status: 'Created' | 'Running' | 'Degraded' | 'Exited';
  infraId: string;
  share: PodShare[];
  labels: Record<string, string>;
  hostname: string;
  ports: PortBinding[];
  /** The infra first, then the members in creation order. */
  containers: PodMember[];
}

/**
 * Pods for every front door: a pod is an infra container running
 * catatonit, whose network (and IPC and UTS) namespaces its members join
 * (--network container:INFRA), and which publishes the pod's ports.
 * Operations over the pod go through the container service, so the admin
 * policy judges each member as any other container.
 */
export class PodService {
  constructor(private readonly engine: Engine, private readonly containers: ContainerService) {}

  private async store() {
    const { PodStore } = await import('./store.js');
    return new PodStore(this.engine.db);
  }

  async resolve(ref: string): Promise<PodRecord> {
    return (await this.store()).resolve(ref);
  }

  /** The pod's containers: its infra first, then its members oldest first (the order they start in). */
  private async records(pod: PodRecord): Promise<{ infra?: ContainerRecord; members: ContainerRecord[] }> {
    const [{ ContainerStore }, { refreshStates }] = await Promise.all([import('../containers/store.js'), import('../containers/state.js')]);
    const all = refreshStates(this.engine, new ContainerStore(this.engine.db).list());
    const members = all.filter((c) => c.spec.pod?.id === pod.id).sort((a, b) => a.created - b.created);
    return { infra: all.find((c) => c.id === pod.infraId), members };
  }

  /** `pod create`: the pod's record and its infra container (created, started by `pod start` or its first member's run). */
  async create(req: CreatePodRequest): Promise<{ id: string; name: string }> {
    const [{ validateName, randomName }, { ensureInfraImage }, { PodStore }, { newContainerId }, { ContainerStore }] = await Promise.all([
      import('../containers/names.js'), import('./infra.js'), import('./store.js'), import('../containers/spec.js'), import('../containers/store.js'),
    ]);
    const store = new PodStore(this.engine.db);
    const share: PodShare[] = [...new Set(req.share ?? POD_SHARES)];
    if (!share.includes('net') && req.portBindings?.length) throw new EngineError('--publish needs the network namespace shared (--share net): the ports are the infra\'s, which nothing else would reach');
    let name: string;
    try {
      name = req.name ? validateName(req.name) : randomName();
    } catch (err) {
      // Pods follow the container names' rules; the message names what was asked for.
      throw new EngineError((err as Error).message.replace('container name', 'pod name'));
    }
    if (store.byName(name)) throw new EngineError(`the pod name "${name}" is already in use: remove that pod or choose another name`);
    if (new ContainerStore(this.engine.db).find(name)) throw new EngineError(`the pod name "${name}" is already in use by a container: pods and containers share names (kube generate takes either)`);
    const id = newContainerId();
    const image = await ensureInfraImage(this.engine);
    const infra = await this.containers.create({
      image,
      name: `${id.slice(0, 12)}-infra`,
      hostname: name,
      labels: { 'io.rootlet.pod': id, 'io.rootlet.infra': 'true' },
      host: {
        portBindings: req.portBindings ?? [],
        ...(share.includes('net') ? (req.networkMode ? { networkMode: req.networkMode } : {}) : { networkMode: 'none' }),
      },
    });
    try {
      store.insert({ id, name, infraId: infra.id, share, labels: req.labels ?? {}, created: Date.now() });
    } catch (err) {
      await this.containers.remove(infra.id, { force: true });
      throw err;
    }
    return { id, name };
  }

  async list(): Promise<PodDetails[]> {
    const store = await this.store();
    return Promise.all(store.list().map((p) => this.details(p)));
  }

  async inspect(ref: string): Promise<PodDetails> {
    return this.details(await this.resolve(ref));
  }

  private async details(pod: PodRecord): Promise<PodDetails> {
    const { infra, members } = await this.records(pod);
    const { boundPorts } = await import('../networks/endpoints.js');
    const row = (c: ContainerRecord, isInfra: boolean): PodMember => ({ id: c.id, name: c.name, state: c.state, infra: isInfra, created: c.created });
    const running = members.filter((m) => m.state === 'running').length;
    const ran = members.some((m) => m.startedAt) || !!infra?.startedAt;
    const status: PodDetails['status'] = !members.length
      ? (infra?.state === 'running' ? 'Running' : ran ? 'Exited' : 'Created')
      : running === members.length ? 'Running' : running ? 'Degraded' : ran ? 'Exited' : 'Created';
    let ports: PortBinding[] = infra?.spec.net.ports ?? [];
    if (infra?.state === 'running') {
      try { ports = boundPorts(this.engine, infra.id); } catch { /* as asked */ }
    }
    return {
      id: pod.id, name: pod.name, created: pod.created, status, infraId: pod.infraId, share: pod.share, labels: pod.labels,
      hostname: infra?.spec.hostname ?? pod.name, ports,
      containers: [...(infra ? [row(infra, true)] : []), ...members.map((m) => row(m, false))],
    };
  }

  /** `pod start`: the infra, then each member in creation order. */
  async start(ref: string): Promise<void> {
    const pod = await this.resolve(ref);
    const { infra, members } = await this.records(pod);
    if (!infra) throw new EngineError(`the infra container of pod ${pod.name} is gone: remove the pod (pod rm -f) and create it again`);
    await this.containers.start(infra.id);
    for (const m of members) await this.containers.start(m.id);
  }

  /** `pod stop`: the members, newest first, then the infra. */
  async stop(ref: string, req: { timeoutSec?: number } = {}): Promise<void> {
    const pod = await this.resolve(ref);
    const { infra, members } = await this.records(pod);
    await Promise.all(members.filter((m) => m.state === 'running').map((m) => this.containers.stop(m.id, req)));
    if (infra?.state === 'running') await this.containers.stop(infra.id, req);
  }

  async restart(ref: string, req: { timeoutSec?: number } = {}): Promise<void> {
    await this.stop(ref, req);
    await this.start(ref);
  }

  /** `pod kill`: the signal to every running member (and the infra, as Podman). */
  async kill(ref: string, req: { signal?: string } = {}): Promise<void> {
    const pod = await this.resolve(ref);
    const { infra, members } = await this.records(pod);
    const running = [...members, ...(infra ? [infra] : [])].filter((c) => c.state === 'running');
    if (!running.length) throw new EngineError(`pod ${pod.name} has no running container to signal`);
    for (const c of running) await this.containers.kill(c.id, req);
  }

  async pause(ref: string, pause = true): Promise<void> {
    const pod = await this.resolve(ref);
    const { infra, members } = await this.records(pod);
    const running = [...members, ...(infra ? [infra] : [])].filter((c) => c.state === 'running');
    if (!running.length) throw new EngineError(`pod ${pod.name} has no running container to ${pause ? 'pause' : 'unpause'}`);
    for (const c of running) await (pause ? this.containers.pause(c.id) : this.containers.unpause(c.id));
  }

  /**
   * `pod rm`: the members, the infra, then the record. A pod with running
   * containers needs force (stopped and removed, as `rm -f`); volumes of
   * anonymous mounts go with their containers.
   */
  async remove(ref: string, req: { force?: boolean } = {}): Promise<{ id: string; name: string } | undefined> {
    const store = await this.store();
    const pod = store.find(ref);
    if (!pod) {
      if (req.force) return undefined;
      throw new (await import('./store.js')).PodNotFoundError(ref);
    }
    const { infra, members } = await this.records(pod);
    const running = members.filter((m) => m.state === 'running');
    if (running.length && !req.force) {
      throw new EngineError(`pod ${pod.name} has running containers (${running.map((m) => m.name).join(', ')}): stop the pod first, or use -f`);
    }
    for (const m of [...members].reverse()) await this.containers.remove(m.id, { force: true, volumes: true });
    if (infra) await this.containers.remove(infra.id, { force: true, volumes: true });
    store.delete(pod.id);
    return { id: pod.id, name: pod.name };
  }

  /** `pod top`: the processes of every running member, in one table with the container's name first. */
  async top(ref: string, psArgs: string[] = []): Promise<TopTable> {
    const pod = await this.resolve(ref);
    const { members } = await this.records(pod);
    const running = members.filter((m) => m.state === 'running');
    if (!running.length) throw new EngineError(`pod ${pod.name} has no running container`);
    let titles: string[] = [];
    const processes: string[][] = [];
    for (const m of running) {
      const t = await this.containers.top(m.id, psArgs);
      titles = ['CONTAINER', ...t.titles];
      for (const p of t.processes) processes.push([m.name, ...p]);
    }
    return { titles, processes };
  }

  /** `pod logs`: each member's log (or the one named), in creation order; followed, all at once. */
  async logs(ref: string, req: LogsRequest & { container?: string }, ctx: CallerContext): Promise<void> {
    const pod = await this.resolve(ref);
    const { members } = await this.records(pod);
    let chosen = members;
    if (req.container) {
      chosen = members.filter((m) => m.name === req.container || m.id.startsWith(req.container!));
      if (!chosen.length) throw new EngineError(`pod ${pod.name} has no container ${req.container}`);
    }
    if (req.follow) await Promise.all(chosen.map((m) => this.containers.logs(m.id, req, ctx)));
    else for (const m of chosen) await this.containers.logs(m.id, req, ctx);
  }
}
