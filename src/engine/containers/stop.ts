import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupLayout } from '../../runtime/runtime.js';
import { lastLine } from '../../rootless/userns.js';
import { runtimeCommand } from './bundle.js';
import { parseSignal } from './spec.js';
import { refreshState } from './state.js';
import { isRunning } from './running.js';
import { ContainerStore, type ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { containerEvent, recordEvent, signalAttr } from '../events/log.js';

const POLL_MS = 50;

/** Every signal sent (kill, and stop's) is a `kill` event, as Docker records them: before it is sent, so that it comes before the `die` it may cause. */
function runtimeKill(engine: Engine, rec: ContainerRecord, signal: string): Promise<{ code: number; stderr: string }> {
  recordEvent(engine, containerEvent(rec, 'kill', { signal: signalAttr(signal) }));
  return engine.ns().runAsync(runtimeCommand(engine, rec, 'kill', rec.id, signal));
}

function current(engine: Engine, id: string): ContainerRecord | undefined {
  const rec = new ContainerStore(engine.db).get(id);
  return rec && refreshState(engine, rec);
}

/**
 * Waits until the container is no longer running, or the deadline passes;
 * returns whether it ended. An end seen (its exit file) is also recorded
 * before this returns: a `start` right after finds the run over, not
 * "stopping".
 */
export async function waitUntilStopped(engine: Engine, id: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rec = current(engine, id);
    if (!rec || !isRunning(engine, rec)) {
      // isRunning may have seen the exit file that the look before it had not: this look records it.
      if (rec) current(engine, id);
      return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** `kill`: sends a signal (default SIGKILL) to the container's main process. */
export async function killContainer(engine: Engine, rec: ContainerRecord, signal = 'SIGKILL'): Promise<void> {
  const sig = parseSignal(signal);
  if (!isRunning(engine, rec)) throw new EngineError(`cannot kill container ${rec.name}: it is not running`);
  // kill -9 stops it for good, as stop does: marked before the signal (see stopContainer).
  const target = sig === 'SIGKILL' || sig === '9' ? stopTarget(engine, rec) : rec;
  const r = await runtimeKill(engine, target, sig);
  if (r.code !== 0 && isRunning(engine, current(engine, rec.id) ?? target)) {
    throw new EngineError(`cannot kill container ${rec.name}: ${lastLine(r.stderr)}`);
  }
}

/**
 * Marks the container stopped by its user (transitions.ts: stop, or
 * cancelRestart between two runs) and returns its record as it is now:
 * the run to signal is the one the row names after the mark, which no
 * restart can replace any more (the record the caller resolved may be
 * older than the exit hook's last restart).
 */
function stopTarget(engine: Engine, rec: ContainerRecord): ContainerRecord {
  new ContainerStore(engine.db).requestStop(rec.id);
  return current(engine, rec.id) ?? rec;
}

/**
 * `stop`: the container's stop signal, then SIGKILL after `timeoutSec`.
 * The restart policy does not bring back a container its user stopped,
 * whatever the timing: the mark comes first, also when it is not running
 * (a container between two restarts must not come back).
 */
export async function stopContainer(engine: Engine, rec: ContainerRecord, timeoutSec?: number): Promise<void> {
  const target = stopTarget(engine, rec);
  if (!isRunning(engine, target)) {
    current(engine, rec.id);
    return;
  }
  const timeout = (timeoutSec ?? target.spec.stopTimeout) * 1000;
  if (timeout > 0) {
    await runtimeKill(engine, target, target.spec.stopSignal);
    if (await waitUntilStopped(engine, rec.id, timeout)) return recordEvent(engine, containerEvent(rec, 'stop'));
  }
  await runtimeKill(engine, target, 'SIGKILL');
  if (!(await waitUntilStopped(engine, rec.id, 10_000))) {
    throw new EngineError(`container ${rec.name} did not stop after SIGKILL`);
  }
  recordEvent(engine, containerEvent(rec, 'stop'));
}

/**
 * `wait`: blocks until the container ends and returns its exit code. Only
 * a settled record ('exited') answers: a running record whose exit file
 * appeared a moment ago is settled by the next look, not read as "no code";
 * a record removed meanwhile answers from removed_exits.
 */
export async function waitContainer(engine: Engine, id: string, signal?: AbortSignal): Promise<number> {
  const store = new ContainerStore(engine.db);
  for (;;) {
    // The waiter is gone: no poll goes on for nobody (a long-lived API service would gather them).
    if (signal?.aborted) throw new EngineError(`the wait for ${id} was given up`);
    const rec = current(engine, id);
    if (!rec) {
      // Removed meanwhile (--rm): its exit code outlives the record for a while.
      const code = store.removedExitCode(id);
      if (code !== undefined) return code;
      throw new EngineError(`No such container: ${id}`);
    }
    if (rec.state === 'exited') return rec.exitCode ?? 255;
    // Cut short when the waiter goes (node clears the timer and its abort listener); the loop's check then throws.
    await sleep(POLL_MS, undefined, { signal }).catch(() => {});
  }
}

/**
 * `pause`/`unpause` freeze the container through the cgroup freezer, which a
 * rootless container only has with cgroup v2 delegation: elsewhere the
 * runtime's refusal becomes one clear line.
 */
export async function pauseContainer(engine: Engine, rec: ContainerRecord, pause: boolean): Promise<void> {
  if (!isRunning(engine, rec)) throw new EngineError(`container ${rec.name} is not running`);
  const r = await engine.ns().runAsync(runtimeCommand(engine, rec, pause ? 'pause' : 'resume', rec.id));
  if (r.code !== 0) {
    const why = lastLine(r.stderr);
    if (/cgroup|freez|permission|not supported|rootless/i.test(why) || cgroupLayout() !== 'v2') {
      throw new EngineError(`cannot ${pause ? 'pause' : 'unpause'} ${rec.name}: it needs the cgroup freezer, and rootless containers here have no cgroup of their own (this host's cgroups are ${cgroupLayout()}; see \`rootlet system check\`)`);
    }
    throw new EngineError(`cannot ${pause ? 'pause' : 'unpause'} ${rec.name}: ${why}`);
  }
  recordEvent(engine, containerEvent(rec, pause ? 'pause' : 'unpause'));
}
