/**
 * The engine's public face: the one module front doors (the CLI, compose,
 * the API server, pods) import at run time. Each noun is a service with one
 * method per operation (engine/<noun>/service.ts); the types they take and
 * return are re-exported here so a front door needs no other engine path.
 */
import { Engine } from './engine.js';
import { ContainerService } from './containers/service.js';
import { EventService } from './events/service.js';
import { ImageService } from './images/service.js';
import { NetworkService } from './networks/service.js';
import { SystemService } from './system/service.js';
import { VolumeService } from './volumes/service.js';

export type { CallerContext, CallerStreams, Terminal, SignalSource, ForwardedSignal } from './context.js';
export type { CreateNetworkRequest, NetworkDetails, NetworkMember } from './networks/service.js';
export { NetworkNotFoundError } from './networks/service.js';
// The network flags' checks, which the CLI runs while it parses (a bad value is refused before anything opens).
export { checkAlias } from './networks/options.js';
export { parseSubnet } from './networks/subnet.js';
export type {
  CheckReport, CheckResult as SystemCheckItem, CheckStatus, DatabaseVerdict, DiskUsage, EngineInfo, RecoverResult, RecoverStep, StoreCheckResult, StoreProblem, VersionInfo,
} from './system/service.js';
export type { Volume } from './volumes/service.js';
export { VolumeNotFoundError } from './volumes/service.js';
export { ContainerService, EventService, ImageService, NetworkService, SystemService, VolumeService };

export class Services {
  readonly containers: ContainerService;
  readonly images: ImageService;
  readonly networks: NetworkService;
  readonly volumes: VolumeService;
  readonly system: SystemService;
  readonly events: EventService;

  constructor(readonly engine: Engine) {
    this.containers = new ContainerService(engine);
    this.images = new ImageService(engine);
    this.networks = new NetworkService(engine);
    this.volumes = new VolumeService(engine);
    this.system = new SystemService(engine);
    this.events = new EventService(engine);
  }

  close(): void {
    this.engine.close();
  }
}

/**
 * Opens the calling user's engine. A lost or damaged state database is
 * refused (one line naming `system recover`) unless `fresh: 'allow'` (the
 * commands that deal with exactly that).
 */
export async function openServices(opts: { fresh?: 'refuse' | 'allow' } = {}): Promise<Services> {
  return new Services(await Engine.open(opts));
}
