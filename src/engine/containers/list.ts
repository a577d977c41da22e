import { boundPorts } from '../networks/endpoints.js';
import type { PortBinding } from '../../util/values.js';
import { containerFilter } from './filter.js';
import { mountPoints, type MountPoint } from './mounts.js';
import { containerSize, type ContainerSize } from './size.js';
import { containerStore, refreshStates } from './state.js';
import type { ContainerRecord, ContainerState, HealthState } from './store.js';
import type { Engine } from '../engine.js';

type HealthStatus = HealthState['status'];

export interface ListOptions {
  /** Stopped containers too (-a). */
  all?: boolean;
  /** Only the N most recently created, whatever their state (-n); -l is 1. */
  last?: number;
  /** `--filter KEY=VALUE`, repeatable. */
  filters?: string[];
  /** Measure each container's writes (-s). */
  size?: boolean;
}

/** One container as Docker's container list API gives it; the CLI turns it into ps columns. */
export interface ContainerSummary {
  id: string;
  name: string;
  /** The image as the container was created from it, or its id when that name now means another image. */
  image: string;
  imageId: string;
  /** Docker's command string: the executable, then the arguments (quoted when they hold a space). */
  command: string;
  created: number;
  state: ContainerState;
  exitCode?: number;
  startedAt?: number;
  finishedAt?: number;
  /** The health check's verdict, for containers that have one. */
  health?: HealthStatus;
  labels: Record<string, string>;
  mounts: MountPoint[];
  networks: string[];
  /** Published ports as bound (while running). */
  ports: PortBinding[];
  /** "80/tcp": exposed ports (the image's, --expose, the published ones). */
  exposed: string[];
  size?: ContainerSize;
}

/** Docker's network names of a container: its networks, or its mode (none, host, pasta, ...). */
export function networkNames(rec: ContainerRecord): string[] {
  const net = rec.spec.net;
  if (net.mode === 'bridge') return net.networks.map((n) => n.name);
  return [net.mode === 'container' ? `container:${net.container}` : net.mode];
}

/** The first of networkNames (inspect's NetworkMode). */
export function networkName(rec: ContainerRecord): string {
  return networkNames(rec)[0]!;
}

export function commandString(args: string[]): string {
  const [path, ...rest] = args;
  return [path ?? '', ...rest.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
}

/**
 * The image column: each name is looked up once per listing (`imageIds`
 * maps a name to what it means now), as a store of many containers names
 * few images, and each lookup reads and parses the image's record.
 */
function imageShown(engine: Engine, rec: ContainerRecord, imageIds: Map<string, string | undefined>): string {
  if (!imageIds.has(rec.imageName)) {
    let now: string | undefined;
    try {
      now = engine.images.find(rec.imageName)?.id;
    } catch {
      now = undefined;
    }
    imageIds.set(rec.imageName, now);
  }
  return imageIds.get(rec.imageName) === rec.imageId ? rec.imageName : rec.imageId;
}

/** `ps`: containers newest first, settled (a dead watcher's container is recorded as exited), filtered as Docker filters. */
export async function listContainers(engine: Engine, opts: ListOptions = {}): Promise<ContainerSummary[]> {
  const store = containerStore(engine);
  const filter = containerFilter(opts.filters ?? [], {
    imageId: (ref) => {
      try { return engine.images.find(ref)?.id; } catch { return undefined; }
    },
    container: (ref) => store.resolve(ref),
  });
  const limit = opts.last !== undefined && opts.last > 0 ? opts.last : undefined;
  const showStopped = !!opts.all || limit !== undefined || filter.includesStopped;
  const recs = refreshStates(engine, store.list())
    .sort((a, b) => b.created - a.created)
    .filter((r) => showStopped || r.state === 'running')
    .map((rec) => ({
      rec, mounts: mountPoints(engine.paths.volumes, rec.spec), networks: networkNames(rec), ports: rec.spec.net.ports, exposed: rec.spec.net.exposed,
    }))
    .filter((s) => filter.test(s))
    .slice(0, limit);
  const imageIds = new Map<string, string | undefined>();
  return Promise.all(recs.map(async ({ rec, mounts, networks }) => ({
    id: rec.id,
    name: rec.name,
    image: imageShown(engine, rec, imageIds),
    imageId: rec.imageId,
    command: commandString(rec.spec.args),
    created: rec.created,
    state: rec.state,
    exitCode: rec.exitCode,
    startedAt: rec.startedAt,
    finishedAt: rec.finishedAt,
    health: rec.health?.status,
    labels: rec.spec.labels,
    mounts,
    networks,
    ports: rec.state === 'running' ? boundPorts(engine, rec.id) : [],
    exposed: rec.spec.net.exposed,
    size: opts.size ? await containerSize(engine, rec) : undefined,
  })));
}
