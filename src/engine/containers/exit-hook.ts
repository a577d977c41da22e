import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeCommand } from './bundle.js';
import { removeContainer } from './remove.js';
import type { RestartPolicy } from './spec.js';
import { startDetached } from './start.js';
import { readExitFile } from './running.js';
import { ContainerStore, type ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { stopHealthTimer } from './healthcheck.js';
import { disconnectContainer } from '../networks/endpoints.js';
import { containerEvent, recordEvent } from '../events/log.js';
import { tracing } from '../../util/trace.js';

/** Docker's rule: does this exit bring the container back? */
export function shouldRestart(policy: RestartPolicy, rec: Pick<ContainerRecord, 'restartCount' | 'stoppedByUser'>, exitCode: number): boolean {
  if (rec.stoppedByUser) return false;
  switch (policy.name) {
    case 'no': return false;
    case 'on-failure': return exitCode !== 0 && (policy.maxRetries === 0 || rec.restartCount < policy.maxRetries);
    case 'always':
    case 'unless-stopped': return true;
  }
}

/**
 * The exit hook conmon runs (inside the user's namespace) when a detached
 * container ends: it records the exit, removes an --rm container, and
 * restarts one whose policy says so, with Docker's doubling delay. It acts
 * only for the run it belongs to (`runToken`): a hook that runs late must
 * not touch the next run. Another rootlet may have recorded the exit
 * first (any look settles it); the restart is the hook's alone, and a stop
 * wins over it at every step (transitions.ts): the hook schedules the
 * restart only if no stop has marked the container, in the same UPDATE,
 * and the next run begins only if the restart is still scheduled after
 * the back-off.
 */
export async function onContainerExit(engine: Engine, id: string, runToken: string): Promise<void> {
  // conmon gives the hook no output: with ROOTLET_TRACE set for the run, each of its decisions goes to exit-hook.log.
  const note = (what: string) => { if (tracing()) recordHookError(engine, id, `trace: ${what}`); };
  const store = new ContainerStore(engine.db);
  const rec = store.get(id);
  if (!rec || rec.runToken !== runToken || (rec.state !== 'running' && rec.phase !== 'exited')) {
    return note(rec ? `run ${runToken} has nothing to do: the record is at run ${rec.runToken ?? 'none'}, ${rec.phase}` : `run ${runToken}: the container is gone`);
  }
  const exit = readExitFile(engine, id);
  const code = exit?.code ?? rec.exitCode ?? 255;
  // Before the exit is recorded: `wait` returns on it, and a `start` right after must not find this run's network
  // being removed. Only while the run is still this one (another rootlet may have settled it meanwhile).
  const now = store.get(id);
  if (now?.state === 'running' && now.runToken === runToken) disconnectContainer(engine, id);
  store.markExited(id, code, exit?.at, runToken);
  note(`run ${runToken} ended with ${code} (exit file: ${exit ? 'read' : 'none'}; found ${rec.phase})`);
  // A hook that ran late (its process was slow to be scheduled) may find the next run begun:
  // its health timer and its runtime state are not this hook's to remove (a forced delete killed it).
  const latest = store.get(id);
  if (!latest || latest.runToken !== runToken) return note('a later run has begun');
  stopHealthTimer(engine, id);
  // Not forced: this run has ended, and the runtime refuses to delete a live one. A stop and a start may have come
  // since the look above (the stop returns once the exit is recorded), and that next run must not be killed.
  engine.ns().run(runtimeCommand(engine, rec, 'delete', id));
  if (latest.phase !== 'exited') return note(`no more to do: the container is ${latest.phase}`);
  if (rec.spec.rm) {
    note('removing it (--rm)');
    removeContainer(engine, latest, { force: true, volumes: true });
    return;
  }
  if (!shouldRestart(rec.spec.restart, latest, code)) {
    return note(`not restarted: policy ${rec.spec.restart.name}, ${latest.restartCount} restart(s) so far${latest.stoppedByUser ? ', stopped by its user' : ''}`);
  }
  // A stop from here on cancels it (exited: its mark alone; restarting: back to exited).
  if (!store.scheduleRestart(id, runToken)) return note('not restarted: a stop came first');
  await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** latest.restartCount, 10_000)));
  const again = store.get(id);
  // The user may have stopped, started or removed it meanwhile; startDetached checks again as it claims the run.
  if (!again || again.phase !== 'restarting' || again.runToken !== runToken) return note(`restart cancelled during the back-off: ${again ? again.phase : 'removed'}`);
  note('restarting it');
  recordEvent(engine, containerEvent(again, 'restart'));
  await startDetached(engine, again, { restartOf: runToken });
  const after = store.get(id);
  note(after && after.runToken !== runToken ? `restarted: run ${after.runToken ?? 'none'}, ${after.phase}` : `not restarted: the container is ${after?.phase ?? 'gone'}`);
}

/** Keeps what stopped an exit hook where its user can read it (conmon gives the hook no output). */
export function recordHookError(engine: Engine, id: string, message: string): void {
  recordHookErrorIn(engine.paths.containers, id, message);
}

/** recordHookError for a hook whose engine did not open: `containers` is the store's directory of them, from its paths alone. */
export function recordHookErrorIn(containers: string, id: string, message: string): void {
  if (!/^[0-9a-f]{64}$/.test(id)) return;
  try {
    appendFileSync(join(containers, id, 'exit-hook.log'), `${new Date().toISOString()} rootlet exit hook: ${message}\n`);
  } catch { /* the container is gone */ }
}
