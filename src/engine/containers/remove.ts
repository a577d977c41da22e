import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, processStartTime } from '../../util/proc.js';
import { hasRuntimeState, runtimeCommand, unmountContainer } from './bundle.js';
import { containerDir } from './paths.js';
import { isRunning, readExitFile } from './running.js';
import { stopHealthTimer } from './healthcheck.js';
import { ContainerStore, type ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { disconnectContainer } from '../networks/endpoints.js';
import { EngineError, errorMessage } from '../../util/errors.js';
import { containerEvent, recordEvent } from '../events/log.js';

/**
 * Deletes a tree of the store: from the host when we may (fast, no
 * process), else inside the namespace, where files of subordinate ids can
 * be deleted.
 */
function removeTree(engine: Engine, paths: string[]): void {
  const left = paths.filter((p) => {
    try {
      rmSync(p, { recursive: true, force: true });
      return false;
    } catch {
      return true;
    }
  });
  if (left.length) engine.ns().runChecked(['rm', '-rf', ...left], 'cannot delete container files');
}

/**
 * The runtime's state can go while the container runs (its directory is
 * under $XDG_RUNTIME_DIR, which logind deletes at logout): the runtime then
 * knows nothing to kill. The container's first process is killed by its
 * recorded pid, once its mounts show it is this container's (a pid may have
 * been reused); its pid namespace ends with it. From inside the namespace,
 * where a process of any of the user's ids can be read and signalled.
 */
function killWithoutRuntimeState(engine: Engine, rec: ContainerRecord, dir: string): void {
  if (rec.state !== 'running' || !rec.pid || !isProcessAlive(rec.pid)) return;
  engine.ns().run(['sh', '-c', 'grep -qF -- "$2" "/proc/$1/mountinfo" && kill -KILL "$1"', 'sh', String(rec.pid), `${dir}/`]);
}

/**
 * Removes a container: its processes (with force), mount, files, record,
 * and with `volumes` its anonymous volumes. `owner` is the foreground run
 * removing its own --rm container.
 */
export function removeContainer(engine: Engine, rec: ContainerRecord, opts: { force: boolean; volumes: boolean; owner?: boolean }): void {
  const store = new ContainerStore(engine.db);
  if (!opts.owner && isRunning(engine, rec) && !opts.force) {
    throw new EngineError(`cannot remove container "${rec.name}": it is running: stop it first, or use rm -f`);
  }
  const me = { pid: process.pid, start: processStartTime(process.pid) };
  if (!store.claimForRemoval(rec.id, me, isProcessAlive) && !opts.owner) return;
  const dir = containerDir(engine, rec.id);
  stopHealthTimer(engine, rec.id);
  if (hasRuntimeState(engine, rec)) {
    engine.ns().run(runtimeCommand(engine, rec, 'delete', '--force', rec.id));
  } else {
    killWithoutRuntimeState(engine, rec, dir);
  }
  disconnectContainer(engine, rec.id);
  // The exit hook runs in conmon's mount namespace, where the root filesystem is still mounted.
  if (rec.spec.driver === 'fuse-overlayfs' || engine.ns().inside) unmountContainer(engine, rec);
  const anon = opts.volumes ? rec.spec.volumes.filter((v) => v.anonymous).map((v) => join(engine.paths.volumes, v.name)) : [];
  try {
    removeTree(engine, [dir, ...anon]);
  } catch (err) {
    throw new EngineError(`cannot remove container ${rec.name}: ${errorMessage(err)}`);
  }
  // A run whose end was never recorded (rm -f, a foreground --rm) dies here: its exit code is conmon's or the run's, else SIGKILL's.
  if (rec.state === 'running') recordEvent(engine, containerEvent(rec, 'die', { exitCode: readExitFile(engine, rec.id)?.code ?? 137 }));
  rmSync(join(engine.paths.exits, rec.id), { force: true });
  rmSync(join(engine.paths.sockets, rec.id), { recursive: true, force: true });
  store.delete(rec.id);
  recordEvent(engine, containerEvent(rec, 'destroy'));
}

