import { isProcessAlive } from '../../util/proc.js';
import { pidNamespaceMembers, processTree } from '../../util/procfs.js';
import { isSandbox } from '../../runtime/runtime.js';
import { runtimeFor } from './bundle.js';
import { refreshState } from './state.js';
import { isRunning } from './running.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';

/**
 * The container's main process as the host sees it. A detached container's
 * is recorded; one run in the foreground by another rootlet process is
 * known only to the runtime, so it is asked.
 */
export function containerPid(engine: Engine, rec: ContainerRecord): number | undefined {
  if (rec.pid && rec.conmonPid && isProcessAlive(rec.pid)) return rec.pid;
  const rt = runtimeFor(engine, rec.spec);
  const r = engine.ns().run([rt.path, '--root', engine.paths.runcRoot, 'state', rec.id]);
  if (r.code !== 0) return undefined;
  try {
    const st = JSON.parse(r.stdout) as { pid?: number; status?: string };
    return st.status === 'running' && st.pid && isProcessAlive(st.pid) ? st.pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The running container and its main process, or Docker's error. The
 * record is refreshed first: a container whose watcher died is not running.
 */
export function runningContainer(engine: Engine, rec: ContainerRecord): { rec: ContainerRecord; pid: number } {
  const cur = refreshState(engine, rec);
  if (!cur) throw new EngineError(`No such container: ${rec.name}`);
  const pid = isRunning(engine, cur) ? containerPid(engine, cur) : undefined;
  if (!pid) throw new EngineError(`container ${cur.name} is not running`);
  return { rec: cur, pid };
}

/**
 * The host processes of a running container whose main process is `pid`:
 * its pid namespace's; under gVisor, the sandbox's process tree (the
 * Sentry and the gofer run the container's processes inside themselves and
 * share the user's pid namespace with everything else of the user).
 */
export function containerHostPids(engine: Engine, rec: ContainerRecord, pid: number): number[] {
  return isSandbox(runtimeFor(engine, rec.spec)) ? processTree(pid) : pidNamespaceMembers(pid);
}
