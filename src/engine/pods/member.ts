import type { Engine } from '../engine.js';
import type { CreateRequest } from '../containers/request.js';
import { ContainerStore } from '../containers/store.js';
import { EngineError } from '../../util/errors.js';
import { PodStore } from './store.js';

/**
 * A request for a container of a pod, as the engine creates it: the pod's
 * id and its infra's network (--network container:INFRA). What
 * the pod owns cannot be asked of a member: published ports (the pod's,
 * as in Podman), a network of its own, a hostname in a shared UTS
 * namespace. Refused in one line, before anything is made.
 */
export function podMemberRequest(engine: Engine, req: CreateRequest): CreateRequest {
  const pod = new PodStore(engine.db).resolve(req.pod!);
  const host = { ...req.host };
  if (pod.share.includes('net')) {
    if (host.portBindings?.length || host.publishAllPorts) {
      throw new EngineError(`a container of pod ${pod.name} cannot publish ports: the pod's network is shared, so its ports are the pod's (pod create -p)`);
    }
    if (host.networkMode && host.networkMode !== 'default') {
      throw new EngineError(`--network ${host.networkMode}: a container of pod ${pod.name} uses the pod's network: leave --network out`);
    }
    host.networkMode = `container:${pod.infraId}`;
  }
  if (pod.share.includes('uts') && req.hostname) {
    throw new EngineError(`--hostname: a container of pod ${pod.name} shares the pod's UTS namespace, whose hostname is the pod's: leave --hostname out`);
  }
  return { ...req, pod: pod.id, host };
}

/** Starts the pod's infra container when it is not running (a member's start needs its namespaces). */
export async function ensureInfraRunning(engine: Engine, podId: string): Promise<void> {
  const pod = new PodStore(engine.db).find(podId);
  if (!pod) throw new EngineError(`the container's pod ${podId.slice(0, 12)} no longer exists`);
  const [{ refreshState }, { startDetached }] = await Promise.all([import('../containers/state.js'), import('../containers/start.js')]);
  const store = new ContainerStore(engine.db);
  const infra = store.get(pod.infraId);
  if (!infra) throw new EngineError(`the infra container of pod ${pod.name} is gone: remove the pod (pod rm -f) and create it again`);
  const now = refreshState(engine, infra);
  if (!now) throw new EngineError(`the infra container of pod ${pod.name} is gone: remove the pod (pod rm -f) and create it again`);
  if (now.state === 'running') return;
  await startDetached(engine, now);
}
