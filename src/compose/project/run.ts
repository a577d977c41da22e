import { randomBytes } from 'node:crypto';
import type { CallerContext, ExecRequest, Services } from '../../engine/index.js';
import { EngineError } from '../../util/errors.js';
import type { ComposeProject } from '../model.js';
import { converge, type Say } from './converge.js';
import { configHash } from './hash.js';
import { prepareImages } from './images.js';
import { containerNumber, projectContainers } from './labels.js';
import { ensureResources, usedBy, checkNetworks } from './resources.js';
import { checkEnforceable, serviceRequest } from './service-request.js';

export interface RunOptions {
  rm?: boolean;
  tty: boolean;
  interactive: boolean;
  noDeps?: boolean;
  servicePorts?: boolean;
  name?: string;
  entrypoint?: string[];
  env?: string[];
  user?: string;
  workdir?: string;
}

/**
 * `run SERVICE CMD`: a one-off container of the service (labelled oneoff,
 * named PROJECT-SERVICE-run-ID, no published ports unless asked, no restart
 * policy), its dependencies brought up first; in the foreground, with the
 * caller's streams. A service left out by the profiles may be named: that
 * enables it. Returns the container's exit code.
 */
export async function runOneOff(svc: Services, project: ComposeProject, service: string, command: string[], opts: RunOptions, ctx: CallerContext, say: Say): Promise<number> {
  const s = project.services[service] ?? project.disabledServices[service];
  if (!s) throw new EngineError(`no such service: ${service}`, 1);
  const p: ComposeProject = { ...project, services: { ...project.services, [service]: s } };
  checkEnforceable(s, p);
  const deps = Object.keys(s.depends_on).filter((d) => p.services[d]);
  const name = opts.name ?? `${project.name}-${service}-run-${randomBytes(6).toString('hex')}`;
  const at = { cwd: project.workingDir, env: ctx.env };
  const req = serviceRequest(p, s, { number: 1, name, oneoff: true, hash: configHash(s), publish: !!opts.servicePorts, command: command.length ? command : undefined, tty: opts.tty, openStdin: opts.interactive, autoRemove: !!opts.rm }, at);
  if (opts.entrypoint) req.entrypoint = opts.entrypoint;
  if (opts.env?.length) req.env = [...(req.env ?? []), ...opts.env];
  if (opts.user) req.user = opts.user;
  if (opts.workdir) req.workingDir = opts.workdir;
  if (deps.length && !opts.noDeps) await converge(svc, p, { services: deps }, ctx, say);
  const used = usedBy(p, [service]);
  checkNetworks(p, used.networks);
  await prepareImages(svc, p, [service], {}, ctx, say);
  await ensureResources(svc, p, used);
  const r = await svc.containers.run(req, { detach: false, pull: 'never' }, ctx);
  return r.exitCode ?? 0;
}

/** The container of SERVICE with number `index` (1 by default), running. */
export async function serviceContainer(svc: Services, project: ComposeProject, service: string, index = 1): Promise<string> {
  if (!project.services[service] && !project.disabledServices[service]) throw new EngineError(`no such service: ${service}`, 1);
  const cs = await projectContainers(svc, project.name, { services: [service], oneoff: false, all: false });
  const c = cs.find((x) => containerNumber(x) === index);
  if (!c) throw new EngineError(`service "${service}" is not running${index !== 1 ? ` container #${index}` : ''}`, 1);
  return c.id;
}

/** `exec SERVICE CMD`: in the service's (index-th) running container; its exit code. */
export async function execInService(svc: Services, project: ComposeProject, service: string, index: number, req: ExecRequest, ctx: CallerContext): Promise<number> {
  return svc.containers.exec(await serviceContainer(svc, project, service, index), req, ctx);
}

