import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { spawnCollecting } from '../../util/spawn-wait.js';
import { Writable } from 'node:stream';
import type { CallerContext } from '../context.js';
import type { Engine } from '../engine.js';
import type { ContainerService } from '../containers/service.js';
import type { ImageService } from '../images/service.js';
import { EngineError } from '../../util/errors.js';
import type { BuildEvent, BuildRequest, BuildResult } from './request.js';

export type { BuildEvent, BuildRequest, BuildResult };

export interface BuilderPruneResult {
  /** Cache entries dropped. */
  entries: number;
  /** Images deleted with them (untagged, unused by containers). */
  images: string[];
  reclaimed: number;
}

/**
 * `build` and the build cache. A build's RUN steps are containers made
 * by the container service (the same runtime, user namespace, hardened
 * defaults, network and admin policy as `run`); its FROM images come
 * through the image service (the pull policy and the registries rule).
 */
export class BuildService {
  constructor(private readonly engine: Engine, private readonly containers: ContainerService, private readonly images: ImageService) {}

  /**
   * Builds the context's Containerfile. Progress goes to `onEvent`; the
   * steps' output to the caller's streams (none with `quiet`). A failing
   * or interrupted build leaves no container, mount or temporary file;
   * the steps that finished stay in the cache.
   */
  async build(req: BuildRequest, ctx: CallerContext, opts: { quiet?: boolean; onEvent?: (e: BuildEvent) => void } = {}): Promise<BuildResult> {
    const { checkLocal } = await import('../policy/check.js');
    const { Builder, checkContextDir, contextFromTar } = await import('./builder.js');
    await checkLocal(this.engine, 'build');
    let dir: string;
    let temporary = false;
    if (typeof req.context === 'string') {
      checkContextDir(req.context);
      dir = req.context;
    } else {
      dir = await contextFromTar(this.engine, req.context);
      temporary = true;
    }
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const stepOutput: CallerContext = opts.quiet
      ? { ...ctx, streams: { stdout: sink, stderr: sink }, signals: undefined }
      : { ...ctx, streams: { stdout: ctx.streams.stdout, stderr: ctx.streams.stderr }, signals: undefined };
    let builder;
    try {
      builder = new Builder(this.engine, { containers: this.containers, images: this.images }, req, dir, ctx, opts.onEvent ?? (() => {}), stepOutput);
      const result = await builder.run();
      if (req.output) await this.output(result.id, req.output);
      return result;
    } finally {
      await builder?.cleanup();
      if (temporary) rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * `build --output`: the image's file system, as a container of it
   * exports it (owners as the image has them in a tar; the user's in a
   * directory, as `cp` writes them), through a container that never runs.
   */
  private async output(imageId: string, out: { type: 'local' | 'tar'; dest: string }): Promise<void> {
    const { id } = await this.containers.create({ image: imageId, cmd: ['/'], entrypoint: [], host: { networkMode: 'none' } }, { pull: 'never' });
    try {
      if (out.type === 'tar') {
        let fd: number;
        try {
          fd = openSync(out.dest, 'w', 0o644);
        } catch (e) {
          throw new EngineError(`--output ${out.dest}: ${(e as Error).message}`);
        }
        try { await this.containers.export(id, fd); } finally { closeSync(fd); }
        return;
      }
      mkdirSync(out.dest, { recursive: true });
      const tar = spawnCollecting('tar', ['-x', '-f', '-', '-p', '--no-same-owner', '-C', out.dest], 'pipe', 'ignore');
      const input = tar.child.stdin!;
      input.on('error', () => { /* tar stopped reading: its status says why */ });
      await this.containers.export(id, input).finally(() => input.end());
      const r = await tar.done;
      if (r.code !== 0) throw new EngineError(`--output ${out.dest}: ${r.stderr.trim().split('\n').pop() ?? `tar exit ${r.code}`}`);
    } finally {
      await this.containers.remove(id, { force: true, volumes: true }).catch(() => {});
    }
  }

  /** `builder prune`: drops the build cache, its images that have no name and no container, and the RUN cache mounts. */
  async prune(req: { confirm?: () => Promise<boolean> } = {}): Promise<BuilderPruneResult | undefined> {
    if (req.confirm && !(await req.confirm())) return undefined;
    const { cacheDrop, cacheEntries, cacheMountsDir } = await import('./cache.js');
    const { deleteUnusedImage } = await import('../images/lifecycle.js');
    const entries = cacheEntries(this.engine);
    const ids = new Set(entries.values());
    for (const key of entries.keys()) cacheDrop(this.engine, key);
    const images: string[] = [];
    let reclaimed = 0;
    for (const id of ids) {
      const img = this.engine.images.get(id);
      if (!img || img.tags.length || this.engine.images.containersUsing(id).length) continue;
      reclaimed += (await deleteUnusedImage(this.engine, img)).reclaimed;
      images.push(id);
    }
    const mounts = cacheMountsDir(this.engine);
    // Their files belong to container users: only the namespace may delete them.
    const r = await this.engine.ns().runAsync(['rm', '-rf', mounts]);
    if (r.code !== 0) throw new EngineError(`builder prune: cannot remove the cache mounts in ${mounts}: ${r.stderr.trim().split('\n').pop()}`);
    return { entries: entries.size, images, reclaimed };
  }

  /**
   * `commit`: an image of a container's file system as it is now (its
   * changes as one layer over its image's), with `changes` (Dockerfile
   * instructions) applied to the config.
   */
  async commit(ref: string, req: { reference?: string; changes?: string[]; message?: string; author?: string; pause?: boolean } = {}): Promise<{ id: string }> {
    const { checkLocal } = await import('../policy/check.js');
    const { commitContainer } = await import('./commit.js');
    await checkLocal(this.engine, `commit ${ref}`);
    return commitContainer(this.engine, ref, req);
  }
}
