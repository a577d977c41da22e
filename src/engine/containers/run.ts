import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { processStartTime, signalNumber } from '../../util/proc.js';
import { trace } from '../../util/trace.js';
import {
  classifyRuntimeError, containerRuntimeArgs, foregroundConsole, hasRuntimeState, layerNames, prepareBundle, runtimeCommand, runtimeError, runtimeFor, startCommand, unmountContainer,
} from './bundle.js';
import { containerDir } from './paths.js';
import { createContainer } from './create.js';
import { removeContainer } from './remove.js';
import type { CreateRequest } from './request.js';
import type { CallerContext } from '../context.js';
import { checkTerminal, foreground, forwardSignals, passSizes, sizesByPipe, withSizePipe } from './foreground.js';
import { clearExitFile } from './state.js';
import { ContainerStore } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { asNoSpace, isNoSpace } from '../../util/no-space.js';
import { startHealthTimer, stopHealthTimer } from './healthcheck.js';
import { LogWriter } from './logs.js';
import { logPath } from './start.js';
import { connectContainer, disconnectContainer, refreshPeers } from '../networks/endpoints.js';
import { PortError } from '../networks/forwarder.js';
import { createArgs, isSandbox, runtimeArgs } from '../../runtime/runtime.js';
import { explainRuntimeFailure, keyringPerContainer } from './keyring-quota.js';
import { cgroupRuntimeArgs } from './resources.js';
import { keepFilterWhileRunning } from './security.js';
import type { ContainerRecord } from './store.js';
import { containerEvent, recordEvent } from '../events/log.js';
import { refuseOverLimit, runningAdmission } from './admission.js';
import { PolicyDenied } from '../policy/evaluate.js';

/**
 * --rm: the container goes now, also when the run failed because the disk
 * is full. Removal records its progress in the database first, which a
 * full disk refuses: then the container's files are deleted anyway (that
 * frees space) and the removal is tried once more. A record that still
 * cannot be deleted is settled by the next command; its files are gone.
 */
function removeAtOnce(engine: Engine, store: ContainerStore, rec: ContainerRecord): void {
  try {
    removeContainer(engine, store.get(rec.id) ?? rec, { force: true, volumes: true, owner: true });
    return;
  } catch (err) {
    if (!isNoSpace(err)) throw err;
  }
  if (hasRuntimeState(engine, rec)) engine.ns().run(runtimeCommand(engine, rec, 'delete', '--force', rec.id));
  try { unmountContainer(engine, rec); } catch { /* not mounted */ }
  engine.ns().run(['rm', '-rf', containerDir(engine, rec.id)]);
  try {
    removeContainer(engine, store.get(rec.id) ?? rec, { force: true, volumes: true, owner: true });
  } catch { /* the record stays until space is freed; the run's own error is what the user must see */ }
}

/**
 * `run` in the foreground: the runtime runs the container as our child with
 * the caller's stdio; the caller's signals are forwarded and its exit code
 * returned. With --rm, everything of the container is gone when this
 * returns, also on Ctrl-C.
 */
export async function runForeground(engine: Engine, req: CreateRequest, ctx: CallerContext, hooks: { created?: (id: string) => void; sigProxy?: boolean } = {}): Promise<number> {
  checkTerminal(ctx, { interactive: !!req.openStdin, tty: !!req.tty });
  // A foreground run logs what it relays itself, to the k8s-file log: the journal's driver is conmon's.
  if (req.host?.logConfig?.type === 'journald') throw new EngineError('log driver journald takes a detached container (run -d, or create and start): a foreground run\'s output goes to your terminal and its log file');
  trace('run: start');
  const rec = createContainer(engine, req);
  hooks.created?.(rec.id);
  trace('run: record created');
  const store = new ContainerStore(engine.db);
  const dir = containerDir(engine, rec.id);
  const runtime = runtimeFor(engine, rec.spec);
  const logFile = join(dir, 'runtime.log');
  let started = false;
  let portFailed = false;
  let exitCode: number | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  let stopKeeping = (): void => {};
  let stopSizes = (): void => {};
  // A signal that arrives before the container runs must still end the run cleanly.
  const signals = forwardSignals(ctx, () => child, { tty: rec.spec.tty, proxy: hooks.sigProxy });
  try {
    // With --rm nothing reads the log afterwards: the container writes to the caller's stdio directly.
    const logged = !rec.spec.rm && rec.spec.log?.driver !== 'none';
    const attach = req.attachStdin === undefined && req.attachStdout === undefined && req.attachStderr === undefined
      ? undefined : { stdin: !!req.attachStdin, stdout: !!req.attachStdout, stderr: !!req.attachStderr };
    const io = foreground(ctx, runtime, { interactive: rec.spec.interactive, tty: rec.spec.tty, capture: logged, attach });
    engine.mkdirForNs(dir);
    const names = layerNames(engine, rec);
    // The caller's terminal as it is now: the runtime sizes the container's before its command runs.
    const writeBundle = prepareBundle(engine, rec, names, rec.spec.tty ? ctx.streams.terminal?.size() ?? rec.spec.consoleSize : undefined);
    const console = foregroundConsole(engine, runtime, rec.spec.tty, { remoteSize: sizesByPipe(ctx, runtime, rec.spec.tty) });
    const runtimeCmd = [...console.relay, runtime.path, ...runtimeArgs(runtime, engine.paths.runcRoot, logFile), ...containerRuntimeArgs(engine, rec), ...cgroupRuntimeArgs(rec.spec.resources, engine.id.uid), 'run', ...createArgs({ keyring: keyringPerContainer(engine) }, runtime), ...console.flags, '--bundle', dir, rec.id];
    clearExitFile(engine, rec.id);
    const exitFile = join(engine.paths.exits, rec.id);
    const args = [...engine.ns().nsenterArgs(), '--', ...startCommand(engine, rec, names, runtimeCmd, { exitFile, workdir: writeBundle.workdir })];
    // Before markRunning, so that "running" means the runtime is starting it; a rootlet killed
    // meanwhile leaves network state that the next look removes (its owner is dead).
    writeBundle(await connectContainer(engine, rec));
    trace('run: bundle written');
    const early = signals.pending();
    if (early) throw new EngineError(`interrupted by ${early} before the container started`, 130);
    const limit = await runningAdmission(engine);
    if (!store.markRunning(rec.id, process.pid, processStartTime(process.pid), limit?.max)) refuseOverLimit(store, rec, limit, 'run');
    started = true;
    recordEvent(engine, containerEvent(rec, 'start'));
    refreshPeers(engine, rec.id);
    if (rec.spec.health) store.resetHealth(rec.id, true);
    startHealthTimer(engine, rec, process.pid);
    exitCode = await new Promise<number>((resolve, reject) => {
      // Its own session: terminal signals reach only us, and we forward each once.
      child = spawn('nsenter', args, { stdio: withSizePipe(io.stdio, console.sizeFd), detached: true });
      if (console.sizeFd) stopSizes = passSizes(ctx, child, console.sizeFd);
      // nsenter execs: this pid becomes the program (rootlet-mount-exec, or a shell) that records the exit code.
      if (child.pid) store.setForegroundMonitor(rec.id, child.pid, processStartTime(child.pid));
      // The first run of a seccomp profile keeps crun's compiled filter, so later runs skip the compile.
      if (runtime.name === 'crun') stopKeeping = keepFilterWhileRunning(engine, rec.id, dir);
      const log = logged ? new LogWriter(logPath(engine, rec.id), rec.spec.log?.maxSize) : undefined;
      io.connect(child, log && ((name, d) => log.write(name, d)), () => log?.close());
      child.on('error', (e) => reject(new EngineError(`cannot start nsenter: ${e.message}`)));
      // 'close', not 'exit': captured output must be logged before the run ends.
      child.on('close', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
    trace('run: runtime exited');
    if (exitCode !== 0) {
      // `rm -f` deleted the container under the runtime: what the runtime says about that is not the run's failure.
      const now = store.get(rec.id);
      const err = !now || now.state === 'removing' ? undefined : runtimeError(logFile);
      if (err) {
        exitCode = undefined;
        const why = explainRuntimeFailure(engine, err);
        throw new EngineError(why === err ? `the OCI runtime (${runtime.name}) failed: ${err}` : why, classifyRuntimeError(err));
      }
    }
    return exitCode;
  } catch (err) {
    // `run` leaves no container behind when a published port cannot be bound, nor when the policy refused its start.
    if (err instanceof PortError || err instanceof PolicyDenied) portFailed = true;
    // A file of ours that could not be written (the bundle, the log) on a full disk: say so, in one line.
    throw err instanceof EngineError ? err : asNoSpace(err, engine.paths.dataDir);
  } finally {
    stopKeeping();
    stopSizes();
    signals.release();
    if (rec.spec.health) stopHealthTimer(engine, rec.id);
    try {
      // The container and every process of its pid namespace ended (the runtime waited for them):
      // its network namespace may be kept ready for the next run. Not a sandbox's: gVisor took eth0's
      // address and routes over, and the namespace no longer has them (the next container would start unreachable).
      const recyclable = started && exitCode !== undefined && !isSandbox(runtime);
      disconnectContainer(engine, rec.id, { recycle: recyclable ? rec : undefined });
    } catch (err) {
      // A full disk must not keep --rm from deleting the container's files below.
      if (!isNoSpace(err)) throw err;
    }
    if (rec.spec.rm || portFailed) {
      removeAtOnce(engine, store, rec);
    } else {
      if (started) store.markExited(rec.id, exitCode);
      clearExitFile(engine, rec.id);
      if (rec.spec.driver === 'fuse-overlayfs') unmountContainer(engine, rec);
    }
    trace('run: cleaned up');
  }
}

