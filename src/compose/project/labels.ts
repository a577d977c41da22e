import type { ContainerSummary, Services } from '../../engine/index.js';
import type { ComposeProject } from '../model.js';

/**
 * The labels Docker Compose puts on what it makes, so that tools which know
 * them (and `docker compose` itself, reading the same store through the API
 * socket) recognise a project's objects. Everything compose does later finds
 * the project by these labels, never by remembered state: a project half
 * brought up by a killed `up` is found as it is.
 */
export const L = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  hash: 'com.docker.compose.config-hash',
  oneoff: 'com.docker.compose.oneoff',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  dependsOn: 'com.docker.compose.depends_on',
  version: 'com.docker.compose.version',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  image: 'com.docker.compose.image',
} as const;

/** The compose version the labels claim: the Compose v2 behaviour rootlet follows. */
export const COMPOSE_VERSION = '2.29.0';

export function projectFilter(project: string): string {
  return `label=${L.project}=${project}`;
}

/** The project's containers (services' and one-off), oldest first; with `services`, only theirs. */
export async function projectContainers(svc: Services, project: string, opts: { all?: boolean; services?: string[]; oneoff?: boolean } = {}): Promise<ContainerSummary[]> {
  const list = await svc.containers.list({ all: opts.all ?? true, filters: [projectFilter(project)] });
  return list
    .filter((c) => (opts.oneoff === undefined ? true : (c.labels[L.oneoff] === 'True') === opts.oneoff))
    .filter((c) => !opts.services?.length || opts.services.includes(c.labels[L.service] ?? ''))
    .sort((a, b) => a.created - b.created || containerNumber(a) - containerNumber(b));
}

export function containerNumber(c: ContainerSummary): number {
  return Number(c.labels[L.number] ?? 0);
}

/** Docker's name: PROJECT-SERVICE-N, or the service's container_name. */
export function containerName(project: ComposeProject, service: string, n: number): string {
  return project.services[service]?.container_name ?? `${project.name}-${service}-${n}`;
}

/** The labels every container of the project carries. */
export function projectLabels(project: ComposeProject): Record<string, string> {
  return {
    [L.project]: project.name,
    [L.workingDir]: project.workingDir,
    [L.configFiles]: project.files.join(','),
    [L.version]: COMPOSE_VERSION,
  };
}

/** The image a service runs: its `image`, else the name compose gives what it builds (PROJECT-SERVICE, as Compose v2). */
export function serviceImage(project: ComposeProject, service: string): string {
  return project.services[service]?.image ?? project.disabledServices[service]?.image ?? `${project.name}-${service}`;
}
