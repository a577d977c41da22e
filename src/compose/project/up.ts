import type { CallerContext, ContainerSummary, Services } from '../../engine/index.js';
import type { ComposeProject } from '../model.js';
import { converge, waitHealthy, type ConvergeOptions, type Say } from './converge.js';
import { stopGroups } from './down.js';
import { projectLogs } from './logs.js';

export interface UpOptions extends ConvergeOptions {
  detach?: boolean;
  /** With detach: return once every container runs and is healthy (where it has a check). */
  wait?: boolean;
  abortOnContainerExit?: boolean;
  /** Colour the log prefixes (the caller's output is a terminal). */
  colour: boolean;
}

/**
 * `up`: converge; detached, that is all (with `wait`, until healthy). In
 * the foreground, every container's output is streamed with its prefix
 * until all have exited; the caller's first interrupt stops them all
 * (gracefully, in reverse dependency order), the second kills them.
 * `abortOnContainerExit`: the first container to exit stops the others,
 * and its exit code is `up`'s. Returns the exit code.
 */
export async function up(svc: Services, project: ComposeProject, opts: UpOptions, ctx: CallerContext, say: Say): Promise<number> {
  const cs = await converge(svc, project, opts, ctx, say);
  if (opts.detach) {
    if (opts.wait) await waitHealthy(svc, project, [...new Set(cs.map((c) => c.labels['com.docker.compose.service']!))]);
    return 0;
  }
  let interrupts = 0;
  let stopping: Promise<void> | undefined;
  let code: number | undefined;
  const stopAll = async (kill: boolean) => {
    for (const group of stopGroups(project, cs)) {
      await Promise.all(group.map(async (c) => {
        try {
          if (kill) await svc.containers.kill(c.id);
          else await svc.containers.stop(c.id);
        } catch { /* already ended: nothing to stop */ }
      }));
    }
  };
  const off = ctx.signals?.on((sig) => {
    if (sig !== 'SIGINT' && sig !== 'SIGTERM') return;
    interrupts++;
    if (code === undefined) code = 130;
    if (interrupts === 1) {
      say('Gracefully stopping... (press Ctrl+C again to force)');
      stopping = stopAll(false);
    } else {
      say('Killing...');
      void stopAll(true);
    }
  });
  const ended = async (c: ContainerSummary) => {
    const exit = await svc.containers.wait(c.id).catch(() => 0);
    say(`${c.name} exited with code ${exit}`);
    if (opts.abortOnContainerExit && code === undefined) {
      code = exit;
      say('Aborting on container exit...');
      stopping = stopAll(false);
    }
  };
  const waits: Promise<void>[] = [];
  try {
    await projectLogs(svc, cs, { follow: true, colour: opts.colour, ended: (c) => { waits.push(ended(c)); } }, ctx);
    await Promise.all(waits);
    await stopping;
  } finally {
    off?.();
  }
  return code ?? 0;
}
