import type { BuildRequest, CallerContext, PullPolicy, Services } from '../../engine/index.js';
import { EngineError } from '../../util/errors.js';
import type { ComposeProject, ComposeService } from '../model.js';
import { serviceImage } from './labels.js';

export function bareId(id: string): string {
  return id.replace(/^sha256:/, '');
}

/** The id of an image in the store, or undefined. */
export async function imageId(svc: Services, ref: string): Promise<string | undefined> {
  try {
    return bareId(String((await svc.images.inspect(ref)).Id));
  } catch {
    return undefined;
  }
}

/** The build request of a service's `build:` section. */
export function buildRequest(project: ComposeProject, s: ComposeService, env: CallerContext['env'], noCache = false): BuildRequest {
  const b = s.build!;
  const at = `services.${s.name}.build`;
  if ((b.platforms?.length ?? 0) > 1) throw new EngineError(`${at}.platforms: only this host's platform is built (no emulation)`);
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(b.args ?? {})) {
    // Docker: an argument named without a value takes the caller's variable, and is left out when that is unset.
    const val = v ?? env[k];
    if (val !== undefined) args[k] = val;
  }
  const secrets: Record<string, string> = {};
  for (const r of b.secrets ?? []) {
    const obj = project.secrets[r.source];
    if (!obj?.file) throw new EngineError(`${at}.secrets: ${r.source} is not a file-based secret of the project`);
    secrets[r.source] = obj.file;
  }
  return {
    context: b.context,
    ...(b.dockerfile ? { file: b.dockerfile } : {}),
    ...(b.dockerfile_inline !== undefined ? { fileText: b.dockerfile_inline, file: 'Dockerfile' } : {}),
    tags: [serviceImage(project, s.name), ...(b.tags ?? [])],
    buildArgs: args,
    ...(b.labels ? { labels: b.labels } : {}),
    ...(b.target ? { target: b.target } : {}),
    noCache: noCache || !!b.no_cache,
    pull: !!b.pull,
    secrets,
    ...(b.platforms?.length === 1 ? { platform: b.platforms[0] } : s.platform ? { platform: s.platform } : {}),
  };
}

function pullPolicy(s: ComposeService): PullPolicy {
  switch (s.pull_policy) {
    case 'always': return 'always';
    case 'never': return 'never';
    case undefined: case 'missing': case 'if_not_present': return 'missing';
    default: throw new EngineError(`services.${s.name}.pull_policy: "${s.pull_policy}" is not a pull policy: use always, never, missing or build`);
  }
}

/**
 * Makes every service's image present before anything else of the project
 * is made (so a missing image leaves nothing behind): built when the
 * service has `build:` and its image is missing, or `--build` /
 * `pull_policy: build` asks; pulled by the service's pull policy otherwise.
 */
export async function prepareImages(svc: Services, project: ComposeProject, services: string[], opts: { build?: boolean; noBuild?: boolean }, ctx: CallerContext, say: (line: string) => void): Promise<void> {
  for (const name of services) {
    const s = project.services[name] ?? project.disabledServices[name]!;
    const ref = serviceImage(project, name);
    if (s.build) {
      const want = !opts.noBuild && (opts.build || s.pull_policy === 'build' || !(await imageId(svc, ref)));
      if (want) {
        say(`Service ${name}  Building`);
        await svc.build.build(buildRequest(project, s, ctx.env), ctx, { quiet: true });
        say(`Service ${name}  Built`);
        continue;
      }
      if (!(await imageId(svc, ref))) throw new EngineError(`service "${name}" has neither an image nor a build it may run (--no-build): image ${ref} not found`);
      continue;
    }
    if (!s.image) throw new EngineError(`service "${name}" has neither an image nor a build context specified`, 1);
    const policy = pullPolicy(s);
    const { pulled } = await svc.images.ensure(ref, { policy, ...(s.platform ? { platform: s.platform } : {}) });
    if (pulled) say(`Image ${ref}  Pulled`);
  }
}
