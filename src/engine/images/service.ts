import { isAbsolute, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Reference } from '../../image/reference.js';
import type { RegistryAccess } from '../../image/registry/client.js';
import { EngineError } from '../../util/errors.js';
import type { CallerContext } from '../context.js';
import type { Engine } from '../engine.js';
import type { PullPolicy } from './ensure.js';
import type { HistoryEntry } from './history.js';
import type { RemoveImageResult } from './lifecycle.js';
import type { LoadedImage } from './load.js';
import type { PruneResult } from './prune.js';
import type { PullEvent, PullResult } from './pull.js';
import type { PushEvent } from './push.js';
import type { SearchResult } from './search.js';
import type { ArchiveFormat } from '../../image/archive-formats.js';
import type { AuditFinding, FindingKind, ImageAudit } from './audit.js';

/** One image as `images` lists it: values, not column text. */
export interface ImageSummary {
  /** `sha256:<64 hex>`. */
  id: string;
  /**
   * The names shown for it, familiar as Docker prints them (`busybox:latest`,
   * `localhost/x:1`, `busybox@sha256:...` for one pulled by digest); with a
   * reference filter, only the names it matched. Empty: a nameless image.
   */
  repoTags: string[];
  /** Its manifest's digest (Podman shows one for every image, Docker only for pulled ones). */
  digest: string;
  /** ms since the epoch: the config's `created`, else when it entered the store. */
  created: number;
  /** Bytes of its layers, uncompressed. */
  size: number;
  /** How many containers were made from it. */
  containers: number;
}

export interface ImageListRequest {
  /** Docker's -a: also the intermediate images of builds (untagged step images in the build cache). */
  all?: boolean;
  /** `KEY=VALUE`: dangling, reference, label, before, since, until. */
  filters?: string[];
  /** Docker's --digests: every summary carries its digest anyway. */
  digests?: boolean;
}

export interface ImportRequest {
  /** NAME[:TAG] to give the image. */
  reference?: string;
  /** Dockerfile instructions (CMD, ENV, ...) applied to the config. */
  changes?: string[];
  /** The history entry's comment. */
  message?: string;
  remapOutsideIds?: boolean;
}

export interface ImportResult {
  id: string;
  /** Files owned by ids outside the user's range that were given to root. */
  remapped: number;
}

export interface LoadRequest {
  /** What the archive is called in messages ("archive.tar"; default "standard input"). */
  what?: string;
  remapOutsideIds?: boolean;
}

export interface PullRequest extends RegistryAccess {
  /** os/arch[/variant] of a multi-platform image (default: this host's). */
  platform?: string;
  /** Default: the config's images.remap_outside_ids. */
  remapOutsideIds?: boolean;
  /** Every tag of the repository (the name then has none). */
  allTags?: boolean;
}

/**
 * What a pull reports as it goes: `begin` before each name is pulled (with
 * all tags, once per tag), the registry's progress, then `pulled` with the
 * name's result. A front door renders them (the CLI as Docker's output).
 */
export type ImagePullEvent =
  | {
      type: 'begin';
      name: string;
      /** The name had no tag: this one was used. */
      defaultTag?: string;
      /** `ensure` found no image by this (familiar) name here: why it pulls. */
      missingLocally?: string;
    }
  | PullEvent
  | { type: 'pulled'; result: PullResult };

export interface EnsureResult {
  /** The name to make the container from (a search registry's full name, for a short name found under it). */
  name: string;
  /** Present when the image was pulled. */
  pulled?: PullResult;
}

export interface LoginRequest extends Omit<RegistryAccess, 'credentials'> {
  username?: string;
  password?: string;
  /** Read the password from the caller's input (ctx.streams.stdin). */
  passwordStdin?: boolean;
}

export type { AuditFinding, FindingKind, ImageAudit };
export type { SearchResult };
export type { HistoryEntry, LoadedImage, PruneResult, PullEvent, PullResult, PushEvent, RemoveImageResult, ArchiveFormat, PullPolicy };

/**
 * The images operations every front door calls (the CLI, compose, the API
 * server, pods): one method per operation, taking a name or id and a typed
 * request, returning plain data. The CLI formats what they return.
 */
export class ImageService {
  constructor(private readonly engine: Engine) {}

  /** `images`: the images the filters keep, newest first. */
  async list(req: ImageListRequest = {}): Promise<ImageSummary[]> {
    const { familiarName } = await import('../../image/reference.js');
    const { imageCreated } = await import('./filter.js');
    const { listImages } = await import('./lifecycle.js');
    // A build's step images (untagged, in the build cache) are intermediate: shown with -a only, as Docker hides them.
    const { cacheEntries } = await import('../build/cache.js');
    const entries = req.all ? new Map<string, string>() : cacheEntries(this.engine);
    const steps = new Set([...entries].filter(([k]) => !k.startsWith('result-')).map(([, id]) => id));
    for (const [k, id] of entries) if (k.startsWith('result-')) steps.delete(id);
    return listImages(this.engine, req.filters ?? []).filter(({ image }) => image.tags.length || !steps.has(image.id)).map(({ image, names }) => ({
      id: image.id,
      repoTags: names.map(familiarName),
      digest: image.manifestDigest,
      created: imageCreated(image),
      size: image.size,
      containers: this.engine.images.containersUsing(image.id).length,
    }));
  }

  /** `image inspect`: the image's document in Docker's shape. */
  async inspect(ref: string): Promise<Record<string, unknown>> {
    const { inspectObject } = await import('../inspect.js');
    return inspectObject(this.engine, ref, { type: 'image' });
  }

  /** `history`: the steps that made the image, newest first. */
  async history(ref: string): Promise<HistoryEntry[]> {
    const { imageHistory } = await import('./history.js');
    return imageHistory(this.engine, this.engine.images.resolve(ref));
  }

  /**
   * `image audit`: setuid/setgid files, file capabilities, files of ids
   * outside the user's namespace, world-writable directories without the
   * sticky bit, a root user, exposed ports below the unprivileged start;
   * each with what it means rootless. Cached per image after the first time.
   */
  async audit(ref: string): Promise<ImageAudit> {
    const { auditImage } = await import('./audit.js');
    return auditImage(this.engine, this.engine.images.resolve(ref));
  }

  /**
   * The one line `run` and `create` show for what in the image will not
   * work rootless (undefined: nothing). Never fails: an image that cannot
   * be audited gets no warning, and `image audit` says why.
   */
  async runWarning(ref: string, containerCaps?: readonly string[]): Promise<string | undefined> {
    try {
      const { auditImage, auditWarning } = await import('./audit.js');
      return auditWarning(ref, await auditImage(this.engine, this.engine.images.resolve(ref), containerCaps));
    } catch {
      return undefined;
    }
  }

  /** `tag`: points `target` at the image `source` names; returns the image and the normalized name. */
  async tag(source: string, target: string): Promise<{ id: string; name: string }> {
    const { tagImage } = await import('./tag.js');
    return tagImage(this.engine, source, target);
  }

  /** `rmi`: names untagged (familiar) and image ids deleted; an image containers still use is only untagged. */
  async remove(ref: string, req: { force?: boolean } = {}): Promise<RemoveImageResult> {
    const { removeImage } = await import('./lifecycle.js');
    return removeImage(this.engine, ref, !!req.force);
  }

  /**
   * `image prune`. The filters are checked first, then `confirm` (when
   * given) is asked: undefined when it said no and nothing was done.
   */
  async prune(req: { all?: boolean; filters?: string[]; confirm?: () => Promise<boolean> } = {}): Promise<PruneResult | undefined> {
    const { imagePruneFilter } = await import('./filter.js');
    const { pruneImages } = await import('./prune.js');
    imagePruneFilter(req.filters ?? []);
    if (req.confirm && !(await req.confirm())) return undefined;
    return pruneImages(this.engine, { all: req.all, filters: req.filters });
  }

  /** `save`: the images as one tar archive written to `out`. */
  async save(refs: string[], req: { format?: ArchiveFormat }, out: Writable): Promise<void> {
    const { saveImages } = await import('./save.js');
    await saveImages(this.engine, refs, req.format ?? 'docker-archive', out);
  }

  /** `load`: the images of a docker-archive or oci-archive read from `input`; warnings go to ctx.warn. */
  async load(input: Readable, req: LoadRequest, ctx: Pick<CallerContext, 'warn'>): Promise<LoadedImage[]> {
    const { checkLocal } = await import('../policy/check.js');
    await checkLocal(this.engine, `load (${req.what ?? 'standard input'})`);
    const { loadImages } = await import('./load.js');
    return loadImages(this.engine, input, {
      what: req.what ?? 'standard input',
      outsideIds: req.remapOutsideIds ? 'root' : 'fail',
      warn: (m) => ctx.warn(`WARNING: ${m}`),
    });
  }

  /**
   * `import`: a one-layer image from a root file system tarball: a path
   * (relative to ctx.cwd) or `-` for the caller's input.
   */
  async import(source: string, req: ImportRequest, ctx: CallerContext): Promise<ImportResult> {
    const { checkLocal } = await import('../policy/check.js');
    const { importImage } = await import('./lifecycle.js');
    await checkLocal(this.engine, `import ${source}`);
    return importImage(this.engine, {
      source: importSource(source, ctx),
      reference: req.reference,
      changes: req.changes ?? [],
      message: req.message,
      remapOutsideIds: req.remapOutsideIds,
      warn: (m) => ctx.warn(`WARNING: ${m}`),
    });
  }

  /** `push`: sends the image `source` names to `dest` (default: its own name). */
  async push(source: string, dest: string | undefined, req: RegistryAccess = {}, onProgress?: (e: PushEvent) => void): Promise<{ name: string; digest: string; size: number }> {
    const { pushImage } = await import('./push.js');
    return pushImage(this.engine, source, dest, { ...req, ...(onProgress ? { onEvent: onProgress } : {}) });
  }

  /**
   * `search REGISTRY/TERM`: the repositories of that registry's catalog whose
   * names contain TERM (registries have no search of their own; a term
   * without a registry is refused, saying so).
   */
  async search(term: string, req: RegistryAccess & { limit?: number } = {}): Promise<SearchResult[]> {
    const { searchImages } = await import('./search.js');
    return searchImages(this.engine, term, req);
  }

  /** `pull`: one name, or with allTags every tag of a repository, one after the other. Returns each name's result. */
  async pull(ref: string, req: PullRequest = {}, onProgress?: (e: ImagePullEvent) => void): Promise<PullResult[]> {
    const { parseReference } = await import('../../image/reference.js');
    const { checkPullFrom } = await import('../policy/check.js');
    const { repositoryTags } = await import('./pull.js');
    if (req.allTags) await checkPullFrom(this.engine, parseReference(ref, null).domain, `pull --all-tags ${ref}`);
    const names = req.allTags ? await repositoryTags(ref, req) : [ref];
    const out: PullResult[] = [];
    for (const n of names) out.push(await this.pullOne(n, req, onProgress));
    return out;
  }

  /**
   * `run`/`create --pull`: makes sure the image is here under `policy`
   * (`missing` pulls it when not here, `always` every time, `never`
   * refuses a missing one), resolving a short name as a pull would.
   */
  async ensure(ref: string, req: { policy?: PullPolicy; platform?: string } = {}, onProgress?: (e: ImagePullEvent) => void): Promise<EnsureResult> {
    const { missingPullError, planEnsure } = await import('./ensure.js');
    const plan = await planEnsure(this.engine, ref, req.policy ?? 'missing');
    if (!plan.pull && !(req.platform && req.policy !== 'never' && await this.otherPlatform(plan.name, req.platform))) return { name: plan.name };
    const missingLocally = plan.pull ? plan.missingLocally : undefined;
    let pulled: PullResult;
    try {
      pulled = await this.pullOne(ref, req.platform ? { platform: req.platform } : {}, onProgress, missingLocally);
    } catch (err) {
      throw missingLocally ? missingPullError(missingLocally, err) : err;
    }
    return { name: this.engine.images.find(ref) ? ref : pulled.name, pulled };
  }

  /** --platform: the image here is for another platform (a pull by the missing policy fetches the one asked for, as Docker). */
  private async otherPlatform(name: string, platform: string): Promise<boolean> {
    const { imageIsFor } = await import('../containers/platform.js');
    const image = this.engine.images.find(name);
    return !!image && !imageIsFor(image, platform);
  }

  /** `login`: checks the credentials against the registry, then keeps them; returns the registry's key (host[:port]). */
  async login(registry: string, req: LoginRequest, ctx: CallerContext): Promise<{ registry: string }> {
    const { login } = await import('./login.js');
    const key = await login(registry, req, () => readAll(ctx.streams.stdin));
    return { registry: key };
  }

  /** `logout`: forgets a registry's credentials, or every one with `all` (then no registry is returned). */
  async logout(registry: string | undefined, req: { all?: boolean; authfile?: string } = {}): Promise<{ registry?: string }> {
    const { logout } = await import('./login.js');
    return logout(registry, req);
  }

  private async pullOne(name: string, req: PullRequest, onProgress: ((e: ImagePullEvent) => void) | undefined, missingLocally?: string): Promise<PullResult> {
    const { familiarName, formatReference } = await import('../../image/reference.js');
    const { policyFor } = await import('../policy/check.js');
    const { checkRegistry } = await import('../policy/evaluate.js');
    const { pullImage } = await import('./pull.js');
    const defaultTag = /[:@]/.test(name.split('/').pop()!) ? undefined : 'latest';
    onProgress?.({ type: 'begin', name, ...(defaultTag ? { defaultTag } : {}), ...(missingLocally ? { missingLocally } : {}) });
    const policy = await policyFor(this.engine);
    const result = await pullImage(this.engine, name, {
      ...(policy.sections.length ? { checkSource: (r: Reference) => checkRegistry(policy.sections, r.domain, `image ${familiarName(formatReference(r))} from registry ${r.domain}`) } : {}),
      tlsVerify: req.tlsVerify,
      certDir: req.certDir,
      authfile: req.authfile,
      credentials: req.credentials,
      platform: req.platform,
      remapOutsideIds: req.remapOutsideIds ?? this.engine.config.images.remapOutsideIds,
      ...(onProgress ? { onEvent: onProgress } : {}),
    });
    onProgress?.({ type: 'pulled', result });
    return result;
  }
}

/**
 * An import's source for storeLayer: an absolute path, this process's own
 * stdin (handed to the extraction helper as it is, with no relay), or the
 * caller's input stream.
 */
function importSource(source: string, ctx: CallerContext): string | Readable {
  if (source !== '-') return isAbsolute(source) ? source : resolve(ctx.cwd, source);
  if (ctx.streams.fds?.stdin === 0) return '-';
  const stdin = ctx.streams.stdin;
  if (!stdin) throw new EngineError('import -: there is no input to read the tarball from');
  return stdin;
}

async function readAll(input: Readable | undefined): Promise<string> {
  if (!input) return '';
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
