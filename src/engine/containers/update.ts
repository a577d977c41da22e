import { join } from 'node:path';
import { cgroupHost } from '../../runtime/cgroups.js';
import { lastLine } from '../../rootless/userns.js';
import { EngineError } from '../../util/errors.js';
import { containerEvent, recordEvent } from '../events/log.js';
import type { Engine } from '../engine.js';
import { runtimeCommand } from './bundle.js';
import { containerDir } from './paths.js';
import type { RestartPolicy } from './request.js';
import { asked, checkResources, ociResources } from './resources.js';
import { isRunning } from './running.js';
import { MIN_MEMORY, type Resources } from './spec.js';
import { refreshState } from './state.js';
import { ContainerStore, type ContainerRecord } from './store.js';

/**
 * `update`: new limits and restart policy for a container. Each field
 * absent is left as it is. Limits are checked as at create (the host must
 * be able to enforce them: never accepted and then ignored); a running
 * container gets them at once through the runtime's `update`, and every
 * container keeps them in its spec for its next starts.
 */
export interface UpdateRequest {
  /** Bytes, at least 6 MiB. */
  memoryBytes?: number;
  /** CPUs × 10⁹. */
  nanoCpus?: number;
  /** A positive number of processes, or 0 / -1 to remove the limit. */
  pidsLimit?: number;
  restartPolicy?: RestartPolicy;
}

const RESTART_NAMES: ReadonlyArray<RestartPolicy['name']> = ['no', 'on-failure', 'always', 'unless-stopped'];

/** The container's limits with the request's applied; refuses values the engine would refuse at create. */
export function updatedResources(current: Resources, req: UpdateRequest): Resources {
  const out: Resources = { ...current };
  if (req.memoryBytes !== undefined) {
    if (!Number.isSafeInteger(req.memoryBytes) || req.memoryBytes < MIN_MEMORY) throw new EngineError(`invalid memory limit ${req.memoryBytes} bytes: below the minimum of 6m`);
    out.memoryBytes = req.memoryBytes;
  }
  if (req.nanoCpus !== undefined) {
    if (!(req.nanoCpus > 0)) throw new EngineError(`invalid CPU limit ${req.nanoCpus / 1e9}: use a positive number of CPUs`);
    out.cpuPeriod = 100_000;
    out.cpuQuota = Math.round((req.nanoCpus / 1e9) * 100_000);
  }
  if (req.pidsLimit !== undefined) {
    if (!Number.isSafeInteger(req.pidsLimit) || req.pidsLimit < -1) throw new EngineError(`invalid pids limit ${req.pidsLimit}: use a positive number, or -1 for no limit`);
    if (req.pidsLimit > 0) out.pidsLimit = req.pidsLimit;
    else delete out.pidsLimit;
  }
  return out;
}

function checkRestart(rec: ContainerRecord, p: RestartPolicy): RestartPolicy {
  if (!RESTART_NAMES.includes(p.name)) throw new EngineError(`invalid restart policy ${JSON.stringify(p.name)}: use no, on-failure, always or unless-stopped`);
  if (!Number.isSafeInteger(p.maxRetries) || p.maxRetries < 0) throw new EngineError(`invalid restart policy: the maximum retry count must be a number of at least 0, not ${p.maxRetries}`);
  if (p.maxRetries > 0 && p.name !== 'on-failure') throw new EngineError(`invalid restart policy: only on-failure takes a maximum retry count, not ${p.name}`);
  if (p.name !== 'no' && rec.spec.rm) throw new EngineError(`cannot update the restart policy of ${rec.name}: it is removed when it exits (--rm), so it cannot be restarted`);
  return { name: p.name, maxRetries: p.maxRetries };
}

export async function updateContainer(engine: Engine, rec0: ContainerRecord, req: UpdateRequest): Promise<void> {
  // Settled first (a container removed meanwhile is gone, one that ended is not running).
  const rec = refreshState(engine, rec0);
  if (!rec) throw new EngineError(`No such container: ${rec0.name}`);
  const resources = updatedResources(rec.spec.resources, req);
  const restart = req.restartPolicy ? checkRestart(rec, req.restartPolicy) : rec.spec.restart;
  const limitsChanged = JSON.stringify(resources) !== JSON.stringify(rec.spec.resources);
  if (limitsChanged) {
    checkResources(resources, engine.id.uid);
    if (isRunning(engine, rec)) await applyRunning(engine, rec, resources);
  }
  const store = new ContainerStore(engine.db);
  // Re-read: a network connect may have changed the spec since (only resources and restart are ours to set).
  const latest = store.get(rec.id);
  if (!latest) throw new EngineError(`No such container: ${rec.id}`);
  store.updateSpec(rec.id, { ...latest.spec, resources, restart });
  recordEvent(engine, containerEvent(rec, 'update'));
}

/**
 * The runtime's `update` on the container's own cgroup. A container started
 * with no limit has no cgroup of its own (resources.ts): its new limits
 * could not be enforced until its next start, so that is refused, not deferred.
 */
async function applyRunning(engine: Engine, rec: ContainerRecord, resources: Resources): Promise<void> {
  if (!asked(rec.spec.resources).length) {
    throw new EngineError(`cannot change the limits of ${rec.name} while it runs: it was started without limits, so it has no cgroup of its own to limit; stop it, update it, and start it again`);
  }
  const host = cgroupHost(engine.id.uid);
  // A limit removed is written as no limit (the OCI -1), not left in place.
  const spec: Record<string, unknown> = ociResources(resources, host);
  if (resources.memoryBytes === undefined) spec.memory = { limit: -1, swap: -1 };
  if (resources.cpuQuota === undefined) spec.cpu = { quota: -1, period: 100_000 };
  if (resources.pidsLimit === undefined) spec.pids = { limit: -1 };
  const file = join(containerDir(engine, rec.id), 'update.json');
  engine.writeFileForNs(file, JSON.stringify(spec));
  const r = await engine.ns().runAsync(runtimeCommand(engine, rec, 'update', '--resources', file, rec.id));
  if (r.code !== 0) throw new EngineError(`cannot update the limits of ${rec.name}: ${lastLine(r.stderr)}`);
}
