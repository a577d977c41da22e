import type { Writable } from 'node:stream';
import type { Engine } from '../engine.js';
import type { CallerContext } from '../context.js';
import { EngineError } from '../../util/errors.js';
import type { PortBinding } from '../../util/values.js';
import { inspectContainer } from '../inspect.js';
import { containerEvent, recordEvent } from '../events/log.js';
import { boundPorts, refreshPeers } from '../networks/endpoints.js';
import { PortError } from '../networks/forwarder.js';
import { attach, type Attachment } from './attach.js';
import { copyFromContainer, copyToContainer, type CopyOptions } from './cp.js';
import { createContainer } from './create.js';
import { containerDiff } from './diff.js';
import type { Change } from '../../storage/changes.js';
import { execInContainer } from './exec.js';
import { exportContainer } from './export.js';
import { runHealthcheck } from './healthcheck.js';
import { listContainers, type ContainerSummary, type ListOptions } from './list.js';
import { printRecord, readLog } from './logs.js';
import { removeContainer } from './remove.js';
import type { CreateRequest, ExecRequest } from './request.js';
import { runForeground } from './run.js';
import { validateName } from './spec.js';
import { requestedRuntime } from './isolation.js';
import { logPath, startDetached } from './start.js';
import { containerStore, isRunning, refreshState, refreshStates } from './state.js';
import { sampleStats, type ContainerStats } from './stats.js';
import { killContainer, pauseContainer, stopContainer, waitContainer } from './stop.js';
import type { ContainerRecord, HealthState } from './store.js';
import type { ImagePullEvent, ImageService, PullPolicy } from '../images/service.js';
import { containerTop, type TopTable } from './top.js';
import { delegatedControllers } from '../../runtime/cgroups.js';

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
}

export class ContainerService {
  constructor(private readonly engine: Engine, private readonly images: ImageService) {}

  /** The image of a create request, pulled first when the policy says so; the request names what was found. */
  private async withImage(req: CreateRequest, choice: ImageChoice): Promise<CreateRequest> {
    requestedRuntime(this.engine, req.host?.runtime, req.host?.isolation);
    const { name } = await this.images.ensure(req.image, { policy: choice.pull ?? 'missing' }, choice.onPull);
    return { ...req, image: name };
  }

  private resolve(ref: string): ContainerRecord {
    return containerStore(this.engine).resolve(ref);
  }

  /** `create`: the container's record (its image pulled first, by the policy); nothing runs yet. */
  async create(req: CreateRequest, choice: ImageChoice = {}): Promise<{ id: string; name: string }> {
    const rec = createContainer(this.engine, await this.withImage(req, choice));
    return { id: rec.id, name: rec.name };
  }

  /**
   * `run`: in the foreground, the container's exit code once it ended (the
   * caller's streams are its stdio); detached, its id once it runs. A
   * detached container that fails to start is kept (status Created), as
   * Docker keeps it, unless --rm or a published port could not be bound.
   */
  async run(request: CreateRequest, opts: { detach: boolean } & ImageChoice, ctx: CallerContext): Promise<{ id?: string; exitCode?: number }> {
    const req = await this.withImage(request, opts);
    if (!opts.detach) return { exitCode: await runForeground(this.engine, req, ctx) };
    const rec = createContainer(this.engine, req);
    try {
      await startDetached(this.engine, rec);
    } catch (err) {
      if (rec.spec.rm || err instanceof PortError) removeContainer(this.engine, rec, { force: true, volumes: true });
      throw err;
    }
    return { id: rec.id };
  }

  /** `start`: starts a stopped container in the background; one already running is left as it is. */
  async start(ref: string): Promise<void> {
    const rec = this.resolve(ref);
    if (!isRunning(this.engine, rec)) await startDetached(this.engine, rec);
  }

  /**
   * `start -a [-i]`: attached before the container starts, so no output is
   * lost (to one already running, attached at once).
   */
  async startAttached(ref: string, req: AttachRequest, ctx: CallerContext): Promise<AttachResult> {
    const rec = this.resolve(ref);
    if (isRunning(this.engine, rec)) return this.follow(await attach(this.engine, rec, req, ctx), rec.id);
    let attachment: Attachment | undefined;
    await startDetached(this.engine, rec, { beforeStart: async () => { attachment = await attach(this.engine, rec, req, ctx); } });
    return this.follow(attachment!, rec.id);
  }

  /** `attach`: to a running detached container. */
  async attach(ref: string, req: AttachRequest, ctx: CallerContext): Promise<AttachResult> {
    const rec = this.resolve(ref);
    if (!isRunning(this.engine, rec)) throw new EngineError(`cannot attach to ${rec.name}: it is not running (start it with start -a)`);
    if (!rec.runToken) throw new EngineError(`cannot attach to ${rec.name}: it runs in the foreground of another rootlet; use exec`);
    return this.follow(await attach(this.engine, rec, req, ctx), rec.id);
  }

  private async follow(a: Attachment, id: string): Promise<AttachResult> {
    if ((await a.done) === 'detached') return { detached: true };
    return { detached: false, exitCode: await waitContainer(this.engine, id) };
  }

  /** `stop`: the stop signal, then SIGKILL after the timeout (default: the container's). */
  async stop(ref: string, req: { timeoutSec?: number } = {}): Promise<void> {
    await stopContainer(this.engine, this.resolve(ref), req.timeoutSec);
  }

  /** `restart`: stop, then start again in the background. */
  async restart(ref: string, req: { timeoutSec?: number } = {}): Promise<void> {
    await stopContainer(this.engine, this.resolve(ref), req.timeoutSec);
    const rec = this.resolve(ref);
    await startDetached(this.engine, rec);
    recordEvent(this.engine, containerEvent(rec, 'restart'));
  }

  async kill(ref: string, req: { signal?: string } = {}): Promise<void> {
    await killContainer(this.engine, this.resolve(ref), req.signal ?? 'SIGKILL');
  }

  async pause(ref: string): Promise<void> {
    await pauseContainer(this.engine, this.resolve(ref), true);
  }

  async unpause(ref: string): Promise<void> {
    await pauseContainer(this.engine, this.resolve(ref), false);
  }

  /** `wait`: the exit code once it stopped. */
  async wait(ref: string): Promise<number> {
    return waitContainer(this.engine, this.resolve(ref).id);
  }

  /** `rename`: its own /etc/hosts and those of the other containers of its networks name it anew. */
  rename(ref: string, newName: string): void {
    const store = containerStore(this.engine);
    const rec = store.resolve(ref);
    store.rename(rec.id, validateName(newName));
    refreshPeers(this.engine, rec.id);
  }

  /** `rm`: with force, a running container is killed first; with volumes, its anonymous volumes go too. */
  remove(ref: string, req: { force?: boolean; volumes?: boolean } = {}): void {
    removeContainer(this.engine, this.resolve(ref), { force: !!req.force, volumes: !!req.volumes });
  }

  /** `exec`: the command's exit code (0 at once with detach). */
  async exec(ref: string, req: ExecRequest, ctx: CallerContext): Promise<number> {
    return execInContainer(this.engine, this.resolve(ref), req, ctx);
  }

  /**
   * `logs`: the container's output to the caller's streams; with follow,
   * until the container ends or the caller aborts.
   */
  async logs(ref: string, req: LogsRequest, ctx: CallerContext): Promise<void> {
    const store = containerStore(this.engine);
    const rec = store.resolve(ref);
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

  /** `ps`: newest first, settled, filtered as Docker filters. */
  async list(req: ListOptions = {}): Promise<ContainerSummary[]> {
    return listContainers(this.engine, req);
  }

  /** `inspect`: Docker's container document. */
  async inspect(ref: string, req: { size?: boolean } = {}): Promise<Record<string, unknown>> {
    return inspectContainer(this.engine, this.resolve(ref), req);
  }

  /** `port`: the published ports as bound; a stopped container has none. */
  ports(ref: string): { name: string; ports: PortBinding[] } {
    const rec = refreshState(this.engine, this.resolve(ref));
    if (!rec) throw new EngineError(`No such container: ${ref}`);
    return { name: rec.name, ports: rec.state === 'running' ? boundPorts(this.engine, rec.id) : [] };
  }

  async top(ref: string, psArgs: string[] = []): Promise<TopTable> {
    return containerTop(this.engine, this.resolve(ref), psArgs);
  }

  /** `stats`: one sample of the named containers, or of all (running ones unless `all`). */
  async stats(refs: string[], req: { all?: boolean; intervalMs: number }): Promise<ContainerStats[]> {
    const store = containerStore(this.engine);
    const recs = refs.length ? refs.map((r) => store.resolve(r)) : refreshStates(this.engine, store.list()).filter((r) => req.all || isRunning(this.engine, r));
    return sampleStats(this.engine, recs, req.intervalMs);
  }

  /** Whether this host delegates cgroup v2 controllers to the user (else stats are summed from /proc). */
  cgroupsDelegated(): boolean {
    return delegatedControllers(this.engine.id.uid).length > 0;
  }

  async diff(ref: string): Promise<Change[]> {
    return containerDiff(this.engine, this.resolve(ref));
  }

  /** `cp CONTAINER:SRC DEST`; DEST "-" is the caller's output, a relative DEST the caller's cwd's. */
  async copyFrom(ref: string, src: string, dest: string, opts: CopyOptions, ctx: CallerContext): Promise<void> {
    return copyFromContainer(this.engine, this.resolve(ref), src, dest, opts, ctx);
  }

  /** `cp SRC CONTAINER:DEST`; SRC "-" is a tar on the caller's input. */
  async copyTo(ref: string, src: string, dest: string, opts: CopyOptions, ctx: CallerContext): Promise<void> {
    return copyToContainer(this.engine, this.resolve(ref), src, dest, opts, ctx);
  }

  /** `export`: a tar of its root file system to `out` (a descriptor or a stream). */
  async export(ref: string, out: number | Writable): Promise<void> {
    return exportContainer(this.engine, this.resolve(ref), out);
  }

  /** `healthcheck run`: runs the check once and records its result. */
  async healthcheck(ref: string): Promise<HealthState> {
    return runHealthcheck(this.engine, this.resolve(ref));
  }
}
