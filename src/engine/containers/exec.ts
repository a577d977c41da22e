import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { buildExecProcess } from '../../runtime/exec-process.js';
import { checkExecutable, resolveUser } from '../../runtime/rootfs-lookup.js';
import { runtimeArgs } from '../../runtime/runtime.js';
import { randomHex } from '../../util/random.js';
import { signalNumber } from '../../util/proc.js';
import { classifyRuntimeError, foregroundConsole, runtimeError, runtimeFor } from './bundle.js';
import { containerDir } from './paths.js';
import { runningContainer } from './process.js';
import { containerView } from './view.js';
import { checkEnv, mergeEnv } from './spec.js';
import { containerCaps, groupIds, settingsOf } from './security.js';
import type { ExecRequest } from './request.js';
import type { CallerContext } from '../context.js';
import { checkTerminal, foreground, forwardSignals, passSizes, sizesByPipe, withSizePipe } from './foreground.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError, EXIT_CANNOT_EXECUTE } from '../../util/errors.js';

/**
 * `exec`: runs a command in a running container with the runtime's `exec`, from the
 * user's namespace, whoever started the container (conmon, or another
 * rootlet in the foreground). In the foreground it is our child with the
 * caller's stdio, as `run` does; returns its exit code. With `detach` it returns
 * once the command started, and its exit code is not kept.
 */
export async function execInContainer(engine: Engine, container: ContainerRecord, o: ExecRequest, ctx: CallerContext): Promise<number> {
  const tty = !!o.tty;
  const interactive = !!o.interactive;
  if (!o.detach) checkTerminal(ctx, { interactive, tty });
  if (o.detach && o.tty) throw new EngineError('exec -d with -t is not supported: a detached exec would need a terminal monitor, which rootlet does not start for exec; drop -t');
  if (!o.command.length) throw new EngineError('exec needs a command to run in the container');
  const { rec, pid } = runningContainer(engine, container);
  const spec = rec.spec;

  const view = containerView(engine, rec, pid);
  const keepId = spec.userns === 'keep-id';
  const userSpec = o.user ?? (spec.user || (keepId ? `${engine.id.uid}:${engine.id.gid}` : ''));
  const resolved = resolveUser(userSpec, view, engine.ns().size);
  // --group-add holds for exec too, as Docker's.
  const extra = groupIds(settingsOf(spec).groupAdd, view, engine.ns().size).filter((g) => g !== resolved.gid && !resolved.additionalGids.includes(g));
  const user = { ...resolved, additionalGids: [...resolved.additionalGids, ...extra] };
  const cwd = o.workingDir ? posix.normalize(o.workingDir) : spec.workdir;
  if (!cwd.startsWith('/')) throw new EngineError(`the working directory "${cwd}" is invalid: it must be an absolute path`);
  // runc exec, unlike run, does not create the directory: say so in one line instead of the runtime's error.
  if (!view.stat(cwd)?.isDirectory()) throw new EngineError(`chdir to "${cwd}": no such directory in container ${rec.name}`, EXIT_CANNOT_EXECUTE);
  checkEnv(o.env);
  let env = mergeEnv(spec.env, tty ? ['TERM=xterm'] : [], o.env ?? []);
  if (!env.some((e) => e.startsWith('HOME='))) env = [...env, `HOME=${user.home}`];
  const verdict = checkExecutable(o.command[0]!, env, cwd, view);
  if (verdict) throw new EngineError(verdict.message, verdict.code);

  const dir = containerDir(engine, rec.id);
  const tag = randomHex(6);
  const processFile = join(dir, `exec-${tag}.json`);
  // A log of its own: the container's holds errors of earlier runs that are not this exec's.
  const logFile = join(dir, `exec-${tag}.log`);
  const rt = runtimeFor(engine, spec);
  const io = o.detach ? undefined : foreground(ctx, rt, { interactive, tty, capture: false });
  // The terminal's size now, so that the runtime sets it before the command runs (later changes go through the relay).
  const consoleSize = tty && !o.detach ? ctx.streams.terminal?.size() : undefined;
  engine.writeFileForNs(processFile, JSON.stringify(buildExecProcess({ args: o.command, env, cwd, user, terminal: tty, consoleSize, caps: containerCaps(spec, rt), noNewPrivileges: settingsOf(spec).noNewPrivileges })), 0o600);
  const console = foregroundConsole(engine, rt, tty && !o.detach, { remoteSize: sizesByPipe(ctx, rt, tty) });
  const runtimeCmd = [rt.path, ...runtimeArgs(rt, engine.paths.runcRoot, logFile), 'exec', '--process', processFile, ...console.flags, ...(o.detach ? ['--detach'] : []), rec.id];
  const args = [...engine.ns().nsenterArgs(), '--', ...console.relay, ...runtimeCmd];

  let child: ReturnType<typeof spawn> | undefined;
  let stopSizes: (() => void) | undefined;
  const signals = o.detach ? undefined : forwardSignals(ctx, () => child, { tty });
  try {
    const code = await new Promise<number>((resolve, reject) => {
      // Its own session, as `run` does: terminal signals reach only us, and we forward each once.
      const stdio = io ? withSizePipe(io.stdio, console.sizeFd) : 'ignore';
      child = spawn('nsenter', args, { stdio, detached: true });
      io?.connect(child);
      if (console.sizeFd) stopSizes = passSizes(ctx, child, console.sizeFd);
      child.on('error', (e) => reject(new EngineError(`cannot start nsenter: ${e.message}`)));
      child.on('close', (c, signal) => resolve(c ?? 128 + signalNumber(signal)));
    });
    if (code !== 0) {
      const err = runtimeError(logFile);
      if (err) throw new EngineError(`the OCI runtime (${rt.name}) failed: ${err}`, classifyRuntimeError(err));
    }
    return code;
  } finally {
    stopSizes?.();
    signals?.release();
    rmSync(processFile, { force: true });
    rmSync(logFile, { force: true });
  }
}
