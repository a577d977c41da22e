import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '../../util/proc.js';
import { unmountContainer } from './bundle.js';
import { removeContainer } from './remove.js';
import { readExitFile, runtimeStatus, watcherAlive } from './running.js';
import { ContainerStore, type ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { disconnectContainer, sweepNetwork } from '../networks/endpoints.js';
import { NetworkStore } from '../networks/store.js';

// The read-only probe lives in running.ts (removal asks it, and this module removes); its importers still find it here.

export function containerStore(engine: Engine): ContainerStore {
  return new ContainerStore(engine.db);
}

export function clearExitFile(engine: Engine, id: string): void {
  rmSync(join(engine.paths.exits, id), { force: true });
}

/**
 * Settles a record that says "running" when nothing watches it any more:
 * the container ended (exit file, or the runtime no longer knows it) or
 * rootlet was killed. State left by a dead process is reconciled, not trusted.
 * Returns the current record, or undefined when it is gone.
 */
export function refreshState(engine: Engine, rec: ContainerRecord, netRuns?: Set<string>): ContainerRecord | undefined {
  if (rec.state === 'removing' && !(rec.ownerPid && isProcessAlive(rec.ownerPid, rec.ownerStart))) {
    // A removal whose rootlet was killed: finish it.
    removeContainer(engine, rec, { force: true, volumes: true });
    return new ContainerStore(engine.db).get(rec.id);
  }
  if (rec.state !== 'running') {
    if (!netRuns || netRuns.has(rec.id)) sweepNetwork(engine, rec);
    return rec;
  }
  const watched = watcherAlive(rec);
  // Detached runs (they have a token) end in conmon's exit file, also when their starter died before the
  // monitor was recorded; a foreground run's shell writes one too, which counts once its rootlet is gone.
  const exit = rec.runToken || !watched ? readExitFile(engine, rec.id) : undefined;
  if (!exit && watched) return rec;
  if (!exit && runtimeStatus(engine, rec) === 'running') return rec;
  const store = new ContainerStore(engine.db);
  // The record may be older than the exit hook's restart: settle only the run it describes.
  const now = store.get(rec.id);
  if (!now || now.state !== 'running' || now.runToken !== rec.runToken) return now;
  // Before the exit is recorded (see onContainerExit).
  disconnectContainer(engine, rec.id);
  store.markExited(rec.id, exit?.code ?? rec.exitCode, exit?.at, rec.runToken ?? null);
  if (rec.spec.driver === 'fuse-overlayfs') unmountContainer(engine, rec);
  // --rm holds whoever notices the end first; a restart stays the exit hook's (it knows its run).
  if (rec.spec.rm) {
    const ended = store.get(rec.id);
    if (ended?.state === 'exited') removeContainer(engine, ended, { force: true, volumes: true });
  }
  return store.get(rec.id);
}

/**
 * refreshState of many: which of them hold network run state is read once,
 * so that a stopped container without any (nearly all of a big store) costs
 * no query. A run set up after that read has a living owner, which the
 * sweep would leave alone anyway.
 */
export function refreshStates(engine: Engine, recs: ContainerRecord[]): ContainerRecord[] {
  const netRuns = new NetworkStore(engine.db).runIds();
  return recs.map((r) => refreshState(engine, r, netRuns)).filter((r): r is ContainerRecord => !!r);
}
