import type { Engine } from '../engine.js';
import { ContainerStore } from '../containers/store.js';
import { EngineError } from '../../util/errors.js';
import { isProcessAlive } from '../../util/proc.js';
import { PodStore } from './store.js';
import type { PodMembership } from './membership.js';

export type { PodMembership } from './membership.js';

/**
 * The membership recorded at create (the pod must exist). A member in the
 * pod's UTS namespace has the pod's name as its hostname, so its
 * HOSTNAME (when it is the default) says the same.
 */
export function podMembership(engine: Engine, ref: string, spec: { hostname: string; env: string[] }): PodMembership {
  const pod = new PodStore(engine.db).resolve(ref);
  if (pod.share.includes('uts')) {
    spec.env = spec.env.map((e) => (e === `HOSTNAME=${spec.hostname}` ? `HOSTNAME=${pod.name}` : e));
    spec.hostname = pod.name;
  }
  return { id: pod.id, infra: pod.infraId, share: pod.share };
}

/**
 * The infra's IPC and UTS namespaces for a member's runtime config, by the
 * infra's pid: a member joins them at each start (the network namespace
 * comes through --network container:INFRA). The infra must run.
 */
export function infraNamespaces(engine: Engine, pod: PodMembership): { ipc?: string; uts?: string } {
  const wanted = pod.share.filter((s) => s === 'ipc' || s === 'uts');
  if (!wanted.length) return {};
  const infra = new ContainerStore(engine.db).get(pod.infra);
  if (!infra?.pid || infra.state !== 'running' || !isProcessAlive(infra.pid)) {
    throw new EngineError('the pod\'s infra container is not running: start the pod first (pod start)');
  }
  return Object.fromEntries(wanted.map((s) => [s, `/proc/${infra.pid}/ns/${s}`]));
}
