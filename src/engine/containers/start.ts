import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { identityEnv } from '../../rootless/identity.js';
import { createWithConmon, resizeConmonTerminal } from '../../runtime/conmon.js';
import { isSandbox, runtimeArgs, runtimeStateExists, startCreatedFast } from '../../runtime/runtime.js';
import { isProcessAlive, processStartTime, sleepSync } from '../../util/proc.js';
import { randomHex } from '../../util/random.js';
import { classifyRuntimeError, containerRuntimeArgs, layerNames, networkSetupCommand, prepareBundle, runtimeFor, sizedFirst, startCommand } from './bundle.js';
import { containerDir, logPath } from './paths.js';
import { clearExitFile, refreshState } from './state.js';
import { removeContainer } from './remove.js';
import { ContainerStore, type ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { lastLine } from '../../rootless/userns.js';
import { startHealthTimer } from './healthcheck.js';
import { connectContainer, disconnectContainer, refreshPeers } from '../networks/endpoints.js';
import { explainRuntimeFailure, keyringPerContainer } from './keyring-quota.js';
import { cgroupRuntimeArgs } from './resources.js';
import { PortError } from '../networks/forwarder.js';
import { containerEvent, recordEvent } from '../events/log.js';
import { keepFilterOf } from './security.js';
import { refuseOverLimit, runningAdmission } from './admission.js';

/** conmon writes its pid file as it daemonizes: give it a moment. */
function readConmonPid(bundle: string): number {
  for (let i = 0; i < 100; i++) {
    try {
      const pid = Number(readFileSync(join(bundle, 'conmon.pid'), 'utf8').trim());
      if (pid > 0) return pid;
    } catch { /* not yet */ }
    sleepSync(2);
  }
  return 0;
}

export { logPath };

/**
 * Starts a container in the background under conmon: it creates the
 * container inside a mount namespace of its own that holds the root
 * filesystem (gone with conmon when the container ends), then we start it.
 * When it ends, conmon records the exit code and runs rootlet's exit hook
 * (`__container-exited`), which applies --rm and the restart policy.
 *
 * The run begins with a move of transitions.ts: a user's start from
 * created, exited or a scheduled restart; the exit hook's (`restartOf`,
 * the run that ended) only from the restart it scheduled. A start that
 * finds the container running does nothing (the policy's restart came
 * first); a stop that comes while it starts wins: the container is not
 * started.
 */
export async function startDetached(engine: Engine, rec: ContainerRecord, opts: { beforeStart?: () => Promise<void>; restartOf?: string; asRun?: boolean } = {}): Promise<void> {
  const ns = engine.ns();
  const store = new ContainerStore(engine.db);
  if (opts.restartOf === undefined) {
    // A run that ended but is not recorded yet is recorded now, from its exit file (cleared below).
    const fresh = store.get(rec.id);
    const now = fresh && refreshState(engine, fresh);
    if (!now) throw new EngineError(`No such container: ${rec.name}`);
    if (now.state === 'removing') throw new EngineError(`container ${rec.name} is being removed`);
    if (now.state === 'running') return alreadyRunning(opts);
  }
  const dir = containerDir(engine, rec.id);
  const rt = runtimeFor(engine, rec.spec);
  const globalArgs = runtimeArgs(rt, engine.paths.runcRoot, join(dir, 'runtime.log'));
  engine.mkdirForNs(dir);
  const names = layerNames(engine, rec);
  const writeBundle = prepareBundle(engine, rec, names);
  const env: NodeJS.ProcessEnv = { ...engine.helperEnv(), ...identityEnv(engine.id, ns.holderPid) };
  const runToken = randomHex(8);
  // Before the run is claimed: a look must not read the last run's exit file as this run's end.
  clearExitFile(engine, rec.id);
  const limit = opts.restartOf === undefined ? await runningAdmission(engine) : undefined;
  if (!store.markStarting(rec.id, runToken, process.pid, processStartTime(process.pid), opts.restartOf, limit?.max)) {
    if (opts.restartOf !== undefined) return;
    refuseOverLimit(store, rec, limit, opts.asRun ? 'run' : undefined);
    const now = store.get(rec.id);
    if (!now) throw new EngineError(`No such container: ${rec.name}`);
    if (now.state === 'removing') throw new EngineError(`container ${rec.name} is being removed`);
    return alreadyRunning(opts);
  }
  let started;
  try {
    // The runtime's record of an earlier run must go before the id can be used again. Only once this run is
    // claimed: the id is then this start's alone (no other start, no restart, can claim it until this run ends).
    if (runtimeStateExists(rt, engine.paths.runcRoot, rec.id)) await ns.runAsync([rt.path, ...globalArgs, 'delete', '--force', rec.id]);
    // After markStarting: a rootlet killed from here on leaves a record whose network the next look removes.
    const net = await connectContainer(engine, rec);
    writeBundle(net);
    let entered = 0;
    const create = () => createWithConmon({
      // From the holder's mount namespace also when the exit hook restarts the container (it runs in the
      // old conmon's): the new run's network namespace file is mounted there, and seen by slaves of it.
      launch: (argv) => {
        entered = ns.holderPid;
        return [...ns.holderArgs(), '--', ...startCommand(engine, rec, names, argv, { workdir: writeBundle.workdir })];
      },
      runtime: rt,
      runtimeGlobalArgs: [...globalArgs, ...containerRuntimeArgs(engine, rec), ...cgroupRuntimeArgs(rec.spec.resources, engine.id.uid)],
      id: rec.id,
      name: rec.name,
      bundle: dir,
      logPath: logPath(engine, rec.id),
      ...(rec.spec.log ? { logDriver: rec.spec.log.driver, ...(rec.spec.log.maxSize !== undefined ? { logSizeMax: rec.spec.log.maxSize } : {}) } : {}),
      exitDir: engine.paths.exits,
      socketDir: engine.paths.sockets,
      tty: rec.spec.tty,
      stdin: rec.spec.interactive,
      ...(rec.spec.stdinOnce ? { stdinOnce: true } : {}),
      // runsc has no --no-new-keyring: gVisor's keyring is its own (runtime.ts createArgs).
      keyring: isSandbox(rt) || keyringPerContainer(engine),
      exitCommand: engine.cliCommand(['__container-exited', rec.id, runToken]),
      env,
    });
    // An exit hook whose holder was killed as it entered the holder's mount namespace: a container without a
    // network namespace of the holder's starts from the hook's own, as it would had the holder died a moment earlier.
    started = await create().catch((err: unknown) => {
      if (!ns.inside || net.netnsPath || entered === ns.pid || !ns.orphaned) throw err;
      return create();
    });
  } catch (err) {
    store.markExited(rec.id, undefined, Date.now(), runToken);
    disconnectContainer(engine, rec.id);
    if (err instanceof PortError) throw err;
    if (err instanceof EngineError) {
      const message = explainRuntimeFailure(engine, err.message);
      throw new EngineError(message, classifyRuntimeError(message));
    }
    throw err;
  }
  const conmonPid = started.conmonPid || readConmonPid(dir);
  // The runtime created it: its compiled seccomp filter is now in its state directory.
  if (rt.name === 'crun') keepFilterOf(engine, rec.id, dir);
  // Recorded before it starts: a rootlet killed right after `start` must leave a container ps shows and stop stops.
  const still = store.markDetached(rec.id, conmonPid, conmonPid && isProcessAlive(conmonPid) ? processStartTime(conmonPid) : undefined, started.pid, runToken);
  // A stop (or rm) that came while it was being created found nothing to signal: it wins, the container does not start.
  if (!still || store.get(rec.id)?.phase !== 'running') {
    abandon(engine, rec, runToken, [rt.path, ...globalArgs, 'delete', '--force', rec.id]);
    return;
  }
  // Before it runs: a container that ends at once has its exit hook record `die`, which must not come first (a failed start dies with 125).
  recordEvent(engine, containerEvent(rec, 'start'));
  // Its size before it runs: runsc (of 2022) ignores the spec's consoleSize, which the other runtimes apply.
  // conmon's FIFO sets it whenever conmon gets to it; the start command sets it first where it can (bundle.ts).
  const firstSize = rec.spec.tty && isSandbox(rt) ? rec.spec.consoleSize : undefined;
  if (firstSize) resizeConmonTerminal(dir, firstSize);
  // e.g. attach: connected before the container runs, its first output is not lost.
  if (opts.beforeStart) await opts.beforeStart();
  const startCmd = [rt.path, ...globalArgs, ...containerRuntimeArgs(engine, rec), 'start', rec.id];
  const r = startCreatedFast(rt, engine.paths.runcRoot, rec.id) ? { code: 0, stderr: '' }
    : await ns.runAsync(networkSetupCommand(engine, rec, firstSize && conmonPid ? sizedFirst(conmonPid, firstSize, startCmd) : startCmd));
  if (r.code !== 0) {
    // The stop's signal may have reached the created container before it could start: that is the stop winning.
    if (store.get(rec.id)?.phase === 'stopping') {
      abandon(engine, rec, runToken, [rt.path, ...globalArgs, 'delete', '--force', rec.id]);
      return;
    }
    ns.run([rt.path, ...globalArgs, 'delete', '--force', rec.id]);
    store.markExited(rec.id, 125, Date.now(), runToken);
    disconnectContainer(engine, rec.id);
    throw new EngineError(`cannot start the container: ${lastLine(r.stderr) || `${rt.name} start failed`}`);
  }
  if (rec.spec.health) store.resetHealth(rec.id, true);
  refreshPeers(engine, rec.id);
  if (rec.spec.health && conmonPid) startHealthTimer(engine, rec, conmonPid);
}

/** A start of a running container does nothing; one that attaches (start -a) attaches to the run there is. */
async function alreadyRunning(opts: { beforeStart?: () => Promise<void> }): Promise<void> {
  if (opts.beforeStart) await opts.beforeStart();
}

/**
 * A created container that is not to start (a stop or rm came first): its
 * runtime state goes (conmon ends with it), and the run is recorded as
 * ended by SIGKILL, as Docker records a container killed on its way up.
 */
function abandon(engine: Engine, rec: ContainerRecord, runToken: string, deleteCommand: string[]): void {
  const store = new ContainerStore(engine.db);
  engine.ns().run(deleteCommand);
  if (store.markExited(rec.id, 137, Date.now(), runToken)) disconnectContainer(engine, rec.id);
  const now = store.get(rec.id);
  if (rec.spec.rm && now?.runToken === runToken && now.phase === 'exited') removeContainer(engine, now, { force: true, volumes: true });
}
