import { trace } from '../../util/trace.js';
import type { Writable } from 'node:stream';
import type { Engine } from '../engine.js';
import type { CallerContext } from '../context.js';
import { EngineError } from '../../util/errors.js';
import type { PortBinding } from '../../util/values.js';
import type { Change } from '../../storage/changes.js';
import type { Attachment } from './attach.js';
import type { CopyOptions } from './cp.js';
import type { ContainerSummary, ListOptions } from './list.js';
import type { CreateRequest, ExecRequest } from './request.js';
import type { ContainerStats } from './stats.js';
import type { TopTable } from './top.js';
import type { UpdateRequest } from './update.js';
import type { ImagePullEvent, ImageService, PullPolicy } from '../images/service.js';
import type { ContainerRecord, HealthState } from './store.js';

// The operations' modules are imported where they are used (await import):
// a command loads and initialises only what it runs, so `rootlet run` does
// not pay for cp, stats or inspect (bench/: a start's CPU time).

export interface LogsRequest {
  follow?: boolean;
  /** Only the last N lines. */
  tail?: number;
  /** ms timestamps */
  since?: number;
  until?: number;
  timestamps?: boolean;
}

export interface AttachRequest {
  /** Pass the caller's input (when the container was created with -i). */
  stdin: boolean;
  /** Bytes that detach (parseDetachKeys). */
  detachKeys: Buffer;
}

/** How an attached session ended: the container's exit code, or the caller detached. */
export type AttachResult = { detached: true } | { detached: false; exitCode: number };

/**
 * Container operations for every front door. Each takes a name or id (or a
 * request) and returns plain data; the caller's streams, cwd and
 * environment come in a CallerContext.
 */
/** How `run` and `create` get their image: the pull policy, and who hears a pull's progress. */
export interface ImageChoice {
  pull?: PullPolicy;
  onPull?: (e: ImagePullEvent) => void;
  /**
   * Where the one-line warning about what in the image will not work
   * rootless goes (image audit); none: not checked. `run` says it to the
   * caller unless told false (a build's step: its image is the build's own
   * making, and is audited when it is run).
   */
  warn?: ((line: string) => void) | false;
}

/** `run`'s choices beyond the request: detached or not, the image's, and the caller's part in a foreground run. */
export interface RunOptions extends ImageChoice {
  detach: boolean;
  /** false: the caller's signals do not reach the container (Docker's --sig-proxy=false). */
  sigProxy?: boolean;
  /** Called once the container exists (e.g. to write --cidfile), before it runs. */
  created?: (id: string) => void;
  /**
   * Bytes that detach a foreground `run -it` from a terminal, leaving the
   * container running (parseDetachKeys); empty or absent: the run is the
   * runtime's child, and ends with the container.
   */
  detachKeys?: Buffer;
}

export class ContainerService {
  constructor(private readonly engine: Engine, private readonly images: ImageService) {}

  /**
   * The image of a create request, pulled first when the pull policy says
   * so; the request names what was found. The admin policy is checked
   * first, before anything is pulled, and completes the request (limits it
   * caps, a runtime it forces); then the runtime and isolation it names (no
   * image is pulled for a runtime rootlet does not know). With
   * `choice.warn`, also the line to show once the container exists, for
   * what in the image will not work rootless (image audit): said after
   * creation, so a refused request still answers with its one line alone.
   */
  private async withImage(request: CreateRequest, choice: ImageChoice, running: boolean): Promise<{ req: CreateRequest; warning: () => void }> {
    const [{ checkCreateRequest }, { withConfDefaults }] = await Promise.all([import('../policy/check.js'), import('./conf-defaults.js')]);
    if (request.pod) {
      // A pod's member: the pod's network and hostname, and what the pod owns refused, before the policy judges it.
      const { podMemberRequest, ensureInfraRunning } = await import('../pods/member.js');
      request = podMemberRequest(this.engine, request);
      if (running) await ensureInfraRunning(this.engine, request.pod!);
    }
    const req = await checkCreateRequest(this.engine, withConfDefaults(this.engine.config, request), { running });
    const { requestedRuntime } = await import('./isolation.js');
    const rt = requestedRuntime(this.engine, req.host?.runtime, req.host?.isolation);
    const { name } = await this.images.ensure(req.image, { policy: choice.pull ?? 'missing', ...(req.platform ? { platform: req.platform } : {}) }, choice.onPull);
    let line: string | undefined;
    if (choice.warn) {
      trace('run: image ready');
      const { requestCaps } = await import('./security.js');
      // Cached per image: after the image's first run this is one small file read. Judged by the
      // capabilities this container will have: a file capability --cap-add grants is no warning.
      let caps: string[] | undefined;
      try {
        caps = requestCaps(req.host ?? {}, rt);
      } catch { /* a capability that cannot be had: create refuses it, in its own words */ }
      line = await this.images.runWarning(name, caps);
      trace('run: image audit checked');
    }
    return { req: { ...req, image: name }, warning: () => { if (line && choice.warn) choice.warn(line); } };
  }

  /** A pod member starts after its pod's infra, whose namespaces it joins. */
  private async podReady(rec: ContainerRecord): Promise<void> {
    if (!rec.spec.pod) return;
    const { ensureInfraRunning } = await import('../pods/member.js');
    await ensureInfraRunning(this.engine, rec.spec.pod.id);
  }

  private async store() {
    const { ContainerStore } = await import('./store.js');
    return new ContainerStore(this.engine.db);
  }

  private async resolve(ref: string): Promise<ContainerRecord> {
    return (await this.store()).resolve(ref);
  }

  /** `create`: the container's record (its image pulled first, by the policy); nothing runs yet. */
  async create(req: CreateRequest, choice: ImageChoice = {}): Promise<{ id: string; name: string }> {
    const { createContainer } = await import('./create.js');
    const { req: withImage, warning } = await this.withImage(req, choice, false);
    const rec = createContainer(this.engine, withImage);
    warning();
    return { id: rec.id, name: rec.name };
  }

  /**
   * `run`: in the foreground, the container's exit code once it ended (the
   * caller's streams are its stdio); detached, its id once it runs. A
   * detached container that fails to start is kept (status Created), as
   * Docker keeps it, unless --rm or a published port could not be bound.
   */
  async run(request: CreateRequest, opts: RunOptions, ctx: CallerContext): Promise<{ id?: string; exitCode?: number; detached?: boolean }> {
    const { req, warning } = await this.withImage(request, { ...opts, warn: opts.warn ?? ((l) => ctx.warn(l)) }, true);
    // -a picks streams of a foreground run: that run is the runtime's child, as before (the attach socket carries them all).
    const picked = req.attachStdin !== undefined || req.attachStdout !== undefined || req.attachStderr !== undefined;
    if (!opts.detach && !picked && req.tty && req.openStdin && opts.detachKeys?.length && ctx.streams.terminal?.input) return this.runDetachable(req, opts, ctx, warning);
    if (!opts.detach) {
      const { runForeground } = await import('./run.js');
      const created = (id: string) => { warning(); opts.created?.(id); };
      return { exitCode: await runForeground(this.engine, req, ctx, { created, sigProxy: opts.sigProxy }) };
    }
    const [{ createContainer }, { startDetached }, { removeContainer }, { PortError }, { PolicyDenied }] = await Promise.all([
      import('./create.js'), import('./start.js'), import('./remove.js'), import('../networks/forwarder.js'), import('../policy/evaluate.js'),
    ]);
    const rec = createContainer(this.engine, req);
    warning();
    opts.created?.(rec.id);
    try {
      await startDetached(this.engine, rec, { asRun: true });
    } catch (err) {
      // Refused by the policy at the start (another start took the last place): nothing is left, as when refused before.
      if (rec.spec.rm || err instanceof PortError || err instanceof PolicyDenied) removeContainer(this.engine, rec, { force: true, volumes: true });
      throw err;
    }
    return { id: rec.id };
  }

  /**
   * `run -it` from a terminal, with detach keys: the container runs under
   * conmon as a detached one does, and the caller is attached to it before
   * it starts (as `start -ai`), so the detach keys leave it running in the
   * background. Its exit code, or `detached`.
   */
  private async runDetachable(req: CreateRequest, opts: RunOptions, ctx: CallerContext, warning: () => void): Promise<{ id?: string; exitCode?: number; detached?: boolean }> {
    const [{ createContainer }, { startDetached }, { removeContainer }, { attach }, { checkTerminal }] = await Promise.all([
      import('./create.js'), import('./start.js'), import('./remove.js'), import('./attach.js'), import('./foreground.js'),
    ]);
    checkTerminal(ctx, { interactive: true, tty: true });
    const rec = createContainer(this.engine, req);
    warning();
    opts.created?.(rec.id);
    let attachment: Attachment | undefined;
    try {
      await startDetached(this.engine, rec, { beforeStart: async () => { attachment = await attach(this.engine, rec, { stdin: true, detachKeys: opts.detachKeys! }, ctx); } });
    } catch (err) {
      // As a foreground run: a container that could not start is not left behind with --rm.
      if (rec.spec.rm) removeContainer(this.engine, rec, { force: true, volumes: true });
      throw err;
    }
    if (!attachment) throw new EngineError(`container ${rec.name} did not start`);
    const r = await this.follow(attachment, rec.id);
    if (r.detached) return { id: rec.id, detached: true };
    // --rm: the run ends once the container is gone, as a foreground run does. Removed here rather than left to
    // conmon's exit hook, a node start away (about 0.5 s of every `run -it --rm` on a busy machine); the hook then
    // finds nothing to do. One the hook is removing already is waited for.
    if (rec.spec.rm) {
      const store = await this.store();
      try {
        const cur = store.get(rec.id);
        if (cur) removeContainer(this.engine, cur, { force: true, volumes: true });
      } catch { /* being removed by the exit hook */ }
      for (let i = 0; i < 100 && store.get(rec.id); i++) await new Promise((res) => setTimeout(res, 50));
    }
    return { exitCode: r.exitCode };
  }

  /** `start`: starts a stopped container in the background; one already running is left as it is. */
  async start(ref: string): Promise<void> {
    const [{ isRunning }, { startDetached }, { checkStart }] = await Promise.all([import('./running.js'), import('./start.js'), import('../policy/check.js')]);
    const rec = await this.resolve(ref);
    if (isRunning(this.engine, rec)) return;
    await checkStart(this.engine, rec);
    await this.podReady(rec);
    await startDetached(this.engine, rec);
  }

  /**
   * `start -a [-i]`: attached before the container starts, so no output is
   * lost (to one already running, attached at once).
   */
  async startAttached(ref: string, req: AttachRequest, ctx: CallerContext, hooks: { started?: () => void } = {}): Promise<AttachResult> {
    const [{ isRunning }, { startDetached }, { attach }, { checkStart }] = await Promise.all([
      import('./running.js'), import('./start.js'), import('./attach.js'), import('../policy/check.js'),
    ]);
    const rec = (await this.resolve(ref));
    if (isRunning(this.engine, rec)) {
      const a = await attach(this.engine, rec, req, ctx);
      hooks.started?.();
      return this.follow(a, rec.id);
    }
    await checkStart(this.engine, rec);
    await this.podReady(rec);
    let attachment: Attachment | undefined;
    await startDetached(this.engine, rec, { beforeStart: async () => { attachment = await attach(this.engine, rec, req, ctx); } });
    // The API answers its start request here, while the attached session goes on.
    hooks.started?.();
    return this.follow(attachment!, rec.id);
  }

  /** `attach`: to a running detached container. */
  async attach(ref: string, req: AttachRequest, ctx: CallerContext): Promise<AttachResult> {
    const [{ isRunning }, { attach }] = await Promise.all([import('./running.js'), import('./attach.js')]);
    const rec = (await this.resolve(ref));
    if (!isRunning(this.engine, rec)) throw new EngineError(`cannot attach to ${rec.name}: it is not running (start it with start -a)`);
    if (!rec.runToken) throw new EngineError(`cannot attach to ${rec.name}: it runs in the foreground of another rootlet; use exec`);
    return this.follow(await attach(this.engine, rec, req, ctx), rec.id);
  }

  private async follow(a: Attachment, id: string): Promise<AttachResult> {
    if ((await a.done) === 'detached') return { detached: true };
    const { waitContainer } = await import('./stop.js');
    return { detached: false, exitCode: await waitContainer(this.engine, id) };
  }

  /** `stop`: the stop signal, then SIGKILL after the timeout (default: the container's). */
  async stop(ref: string, req: { timeoutSec?: number } = {}): Promise<void> {
    const { stopContainer } = await import('./stop.js');
    await stopContainer(this.engine, (await this.resolve(ref)), req.timeoutSec);
  }

  /** `restart`: stop, then start again in the background. */
  async restart(ref: string, req: { timeoutSec?: number } = {}): Promise<void> {
    const [{ stopContainer }, { startDetached }, { containerEvent, recordEvent }, { checkStart }] = await Promise.all([import('./stop.js'), import('./start.js'), import('../events/log.js'), import('../policy/check.js')]);
    await checkStart(this.engine, await this.resolve(ref));
    await stopContainer(this.engine, (await this.resolve(ref)), req.timeoutSec);
    const rec = (await this.resolve(ref));
    await this.podReady(rec);
    await startDetached(this.engine, rec);
    recordEvent(this.engine, containerEvent(rec, 'restart'));
  }

  async kill(ref: string, req: { signal?: string } = {}): Promise<void> {
    const { killContainer } = await import('./stop.js');
    await killContainer(this.engine, (await this.resolve(ref)), req.signal ?? 'SIGKILL');
  }

  async pause(ref: string): Promise<void> {
    const { pauseContainer } = await import('./stop.js');
    await pauseContainer(this.engine, (await this.resolve(ref)), true);
  }

  async unpause(ref: string): Promise<void> {
    const { pauseContainer } = await import('./stop.js');
    await pauseContainer(this.engine, (await this.resolve(ref)), false);
  }

  /** `wait`: the exit code once it stopped; with a signal, given up (rejected) when it aborts (an API client that went away). */
  async wait(ref: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
    const { waitContainer } = await import('./stop.js');
    return waitContainer(this.engine, (await this.resolve(ref)).id, opts.signal);
  }

  /**
   * `update`: new limits (enforced on a running container at once, by the
   * runtime) and restart policy; a limit this host cannot enforce is refused.
   */
  async update(ref: string, req: UpdateRequest): Promise<void> {
    const { updateContainer } = await import('./update.js');
    await updateContainer(this.engine, await this.resolve(ref), req);
  }

  /** `rename`: its own /etc/hosts and those of the other containers of its networks name it anew. */
  async rename(ref: string, newName: string): Promise<void> {
    const [{ validateName }, { refreshPeers }] = await Promise.all([import('./names.js'), import('../networks/endpoints.js')]);
    const store = await this.store();
    const rec = store.resolve(ref);
    store.rename(rec.id, validateName(newName));
    refreshPeers(this.engine, rec.id);
  }

  /** `rm`: with force, a running container is killed first; with volumes, its anonymous volumes go too. */
  async remove(ref: string, req: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const { removeContainer } = await import('./remove.js');
    removeContainer(this.engine, (await this.resolve(ref)), { force: !!req.force, volumes: !!req.volumes });
  }

  /** `exec`: the command's exit code (0 at once with detach). */
  async exec(ref: string, req: ExecRequest, ctx: CallerContext): Promise<number> {
    const [{ execInContainer }, { checkExec }] = await Promise.all([import('./exec.js'), import('../policy/check.js')]);
    const rec = await this.resolve(ref);
    await checkExec(this.engine, rec, !!req.privileged);
    return execInContainer(this.engine, rec, req, ctx);
  }

  /**
   * `logs`: the container's output to the caller's streams; with follow,
   * until the container ends or the caller aborts.
   */
  async logs(ref: string, req: LogsRequest, ctx: CallerContext): Promise<void> {
    const [{ isRunning }, { refreshState }, { logPath }, { printRecord, readLog }] = await Promise.all([
      import('./running.js'), import('./state.js'), import('./paths.js'), import('./logs.js'),
    ]);
    const store = await this.store();
    const rec = store.resolve(ref);
    // Docker's refusal: with none or journald there is no file of rootlet's to read.
    if (rec.spec.log?.driver === 'none') throw new EngineError(`configured logging driver does not support reading: ${rec.name} was created with --log-driver none`);
    if (rec.spec.log?.driver === 'journald') throw new EngineError(`configured logging driver does not support reading: ${rec.name} logs to the journal (journalctl CONTAINER_ID_FULL=${rec.id})`);
    const ended = () => {
      if (ctx.signal?.aborted) return true;
      const cur = store.get(rec.id);
      return !cur || !isRunning(this.engine, refreshState(this.engine, cur) ?? cur);
    };
    for await (const r of readLog(logPath(this.engine, rec.id), { follow: !!req.follow, tail: req.tail, since: req.since, until: req.until, ended })) {
      printRecord(r, !!req.timestamps, ctx.streams.stdout, ctx.streams.stderr);
      if (ctx.signal?.aborted) break;
    }
  }

  /**
   * `container prune`: removes the containers that are not running (created
   * or exited) that the filters (until=, label=, label!=) keep; their ids
   * and the bytes they wrote. Nothing (and nothing removed) when `confirm`,
   * asked after the filters were checked, says no.
   */
  async prune(req: { filters?: string[]; confirm?: () => Promise<boolean> } = {}): Promise<{ deleted: string[]; spaceReclaimed: number } | undefined> {
    const { containerPruneFilter, pruneContainers } = await import('./prune.js');
    const keep = containerPruneFilter(req.filters ?? []);
    if (req.confirm && !(await req.confirm())) return undefined;
    return pruneContainers(this.engine, keep);
  }

  /** `ps`: newest first, settled, filtered as Docker filters. */
  async list(req: ListOptions = {}): Promise<ContainerSummary[]> {
    const { listContainers } = await import('./list.js');
    return listContainers(this.engine, req);
  }

  /** `inspect`: Docker's container document. */
  async inspect(ref: string, req: { size?: boolean } = {}): Promise<Record<string, unknown>> {
    const { inspectContainer } = await import('../inspect.js');
    return inspectContainer(this.engine, (await this.resolve(ref)), req);
  }

  /** `port`: the published ports as bound; a stopped container has none. */
  async ports(ref: string): Promise<{ name: string; ports: PortBinding[] }> {
    const [{ refreshState }, { boundPorts }] = await Promise.all([import('./state.js'), import('../networks/endpoints.js')]);
    const rec = refreshState(this.engine, (await this.resolve(ref)));
    if (!rec) throw new EngineError(`No such container: ${ref}`);
    return { name: rec.name, ports: rec.state === 'running' ? boundPorts(this.engine, rec.id) : [] };
  }

  async top(ref: string, psArgs: string[] = []): Promise<TopTable> {
    const { containerTop } = await import('./top.js');
    return containerTop(this.engine, (await this.resolve(ref)), psArgs);
  }

  /** `stats`: one sample of the named containers, or of all (running ones unless `all`). */
  async stats(refs: string[], req: { all?: boolean; intervalMs: number }): Promise<ContainerStats[]> {
    const [{ isRunning }, { refreshStates }, { sampleStats }] = await Promise.all([import('./running.js'), import('./state.js'), import('./stats.js')]);
    const store = await this.store();
    const recs = refs.length ? refs.map((r) => store.resolve(r)) : refreshStates(this.engine, store.list()).filter((r) => req.all || isRunning(this.engine, r));
    return sampleStats(this.engine, recs, req.intervalMs);
  }

  /** Whether this host delegates cgroup v2 controllers to the user (else stats are summed from /proc). */
  async cgroupsDelegated(): Promise<boolean> {
    const { delegatedControllers } = await import('../../runtime/cgroups.js');
    return delegatedControllers(this.engine.id.uid).length > 0;
  }

  async diff(ref: string): Promise<Change[]> {
    const { containerDiff } = await import('./diff.js');
    return containerDiff(this.engine, (await this.resolve(ref)));
  }

  /** `cp CONTAINER:SRC DEST`; DEST "-" is the caller's output, a relative DEST the caller's cwd's. */
  async copyFrom(ref: string, src: string, dest: string, opts: CopyOptions, ctx: CallerContext): Promise<void> {
    const { copyFromContainer } = await import('./cp.js');
    return copyFromContainer(this.engine, (await this.resolve(ref)), src, dest, opts, ctx);
  }

  /** A path in the container, as `docker cp` asks the API before it copies (HEAD .../archive); undefined when it does not exist. */
  async pathStat(ref: string, path: string): Promise<{ name: string; size: number; mode: number; mtime: number; linkTarget: string } | undefined> {
    const { statContainerPath } = await import('./cp.js');
    const e = await statContainerPath(this.engine, await this.resolve(ref), path);
    return e && { name: e.path.split('/').pop() || '/', size: e.size ?? 0, mode: e.mode ?? 0, mtime: e.mtimeMs ?? 0, linkTarget: e.linkTarget ?? '' };
  }

  /** `cp SRC CONTAINER:DEST`; SRC "-" is a tar on the caller's input. */
  async copyTo(ref: string, src: string, dest: string, opts: CopyOptions, ctx: CallerContext): Promise<void> {
    const { copyToContainer } = await import('./cp.js');
    return copyToContainer(this.engine, (await this.resolve(ref)), src, dest, opts, ctx);
  }

  /** `export`: a tar of its root file system to `out` (a descriptor or a stream). */
  async export(ref: string, out: number | Writable): Promise<void> {
    const { exportContainer } = await import('./export.js');
    return exportContainer(this.engine, (await this.resolve(ref)), out);
  }

  /** `healthcheck run`: runs the check once and records its result. */
  async healthcheck(ref: string): Promise<HealthState> {
    const { runHealthcheck } = await import('./healthcheck.js');
    return runHealthcheck(this.engine, (await this.resolve(ref)));
  }
}
