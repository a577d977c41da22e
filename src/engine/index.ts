/**
 * The engine's public face: the one module front doors (the CLI, compose,
 * the API server, pods) import at run time. Each noun is a service with one
 * method per operation (engine/<noun>/service.ts); the types they take and
 * return are re-exported here so a front door needs no other engine path.
 */
import type { Engine } from './engine.js';
import type { InspectType } from './inspect.js';
import { ContainerService } from './containers/service.js';
import { EventService } from './events/service.js';
import { ImageService } from './images/service.js';
/** The archive formats `save` writes (for a front door's choices). */
export { ARCHIVE_FORMATS } from '../image/archive-formats.js';
import { NetworkService } from './networks/service.js';
import { SystemService } from './system/service.js';
import { VolumeService } from './volumes/service.js';
import { PolicyService } from './policy/service.js';
import { BuildService } from './build/service.js';
import { PodService } from './pods/service.js';
import { KubeService } from './kube/service.js';
import { SystemdService } from './systemd/service.js';

export type { CallerContext, CallerStreams, Terminal, SignalSource, ForwardedSignal } from './context.js';
export type { CreateRequest, ExecRequest, HostRequest, MountSpec, ResourcesRequest, RestartPolicy, HealthRequest } from './containers/request.js';
export type { DeviceMapping, SecurityOptions } from './containers/request.js';
export { ISOLATIONS, type Isolation } from './containers/request.js';
export { LOG_DRIVERS, type LogConfig, type LogDriver, type Ulimit } from './containers/request.js';
export { checkUlimits, ULIMIT_NAMES } from './containers/ulimits.js';
export { logSettings as checkLogConfig } from './containers/log-config.js';
export { checkDevice, checkSeccompProfile } from './containers/security.js';
export { normalizeCap } from '../runtime/capabilities.js';
// Checks a front door runs while it parses, so a bad value is refused before anything is pulled or created.
export { validateName as validateContainerName } from './containers/names.js';
export { bindSourceExists } from './containers/bind-source.js';
export { networkSpec as checkNetworkRequest, checkAlias } from './networks/options.js';
export { checkHostPorts, unprivilegedPortStart } from './networks/ports.js';
export { parseAddHost } from './networks/hosts.js';
export { DEFAULT_DETACH_KEYS, parseDetachKeys } from './containers/detach-keys.js';
export { RUNTIMES } from '../runtime/runtime.js';
// Image names as Docker shows them, and the image flags' checks (--platform, import -c).
export { familiarName } from '../image/reference.js';
export { parsePlatform } from '../image/registry/manifest.js';
export { applyChanges } from '../image/changes.js';
export { tmpName } from '../image/store.js';
export type { ContainerSummary, ListOptions as ContainerListRequest } from './containers/list.js';
export type { ContainerStats } from './containers/stats.js';
export type { TopTable } from './containers/top.js';
export type { UpdateRequest as ContainerUpdateRequest } from './containers/update.js';
export type { LogsRequest, AttachRequest, AttachResult } from './containers/service.js';
export type { HealthState, ContainerState } from './containers/store.js';
export type { CopyOptions } from './containers/cp.js';
export type { MountPoint } from './containers/mounts.js';
export type { ContainerSize } from './containers/size.js';
export type { PortBinding } from '../util/values.js';
export type { InspectType };
export type {
  ImageSummary, ImageListRequest, ImportRequest, ImportResult, LoadRequest, PullRequest, ImagePullEvent, EnsureResult, LoginRequest,
  HistoryEntry, LoadedImage, PruneResult, SearchResult, PullEvent, PullResult, PushEvent, RemoveImageResult, ArchiveFormat, PullPolicy,
} from './images/service.js';
export type { AuditFinding, FindingKind, ImageAudit } from './images/service.js';
export type { CreateNetworkRequest, NetworkDetails, NetworkMember } from './networks/service.js';
export { NetworkNotFoundError } from './networks/service.js';
// The network flags' checks, which the CLI runs while it parses (a bad value is refused before anything opens).
export { parseSubnet } from './networks/subnet.js';
export type {
  CheckReport, CheckResult as SystemCheckItem, CheckStatus, DatabaseVerdict, DiskUsage, EngineInfo, RecoverResult, RecoverStep, StoreCheckResult, StoreProblem, VersionInfo,
} from './system/service.js';
export type { Volume } from './volumes/service.js';
export type { SystemPruneResult, UsageRow } from './system/service.js';
export { NAME_KINDS, type NameKind } from './system/service.js';
export { VolumeNotFoundError } from './volumes/service.js';
export { ContainerService, EventService, ImageService, NetworkService, SystemService, VolumeService, PolicyService };
export type { PolicyReport, PolicyVerdict } from './policy/service.js';
export type { BuildEvent, BuildRequest, BuildResult, BuilderPruneResult } from './build/service.js';
export { BuildService };
export { SystemdService, SYSTEMD_RESTART, API_UNIT_MARK, type SystemdRequest, type SystemdUnit, type SystemdRestart, type ApiUnitsRequest } from './systemd/service.js';
export { KubeService, type GenerateRequest as KubeGenerateRequest, type GenerateResult as KubeGenerateResult, type PlayRequest as KubePlayRequest, type PlayResult as KubePlayResult, type PssViolation } from './kube/service.js';
export { PodService, PodNotFoundError, POD_SHARES, type PodShare, type CreatePodRequest, type PodDetails, type PodMember } from './pods/service.js';
export type { EffectiveValue as PolicyValue, Caller as PolicyCaller } from './policy/evaluate.js';
export type { EngineEvent, EventType } from './events/log.js';
export type { EventQuery } from './events/service.js';
export type { EventFilters } from './events/filter.js';
export { dockerMessage, type DockerEventMessage } from './events/message.js';

export class Services {
  readonly containers: ContainerService;
  readonly images: ImageService;
  readonly networks: NetworkService;
  readonly volumes: VolumeService;
  readonly system: SystemService;
  readonly events: EventService;
  readonly policy: PolicyService;
  readonly build: BuildService;
  readonly pods: PodService;
  readonly kube: KubeService;
  readonly systemd: SystemdService;

  constructor(readonly engine: Engine) {
    this.images = new ImageService(engine);
    this.containers = new ContainerService(engine, this.images);
    this.networks = new NetworkService(engine);
    this.volumes = new VolumeService(engine);
    this.system = new SystemService(engine);
    this.events = new EventService(engine);
    this.policy = new PolicyService(engine);
    this.build = new BuildService(engine, this.containers, this.images);
    this.pods = new PodService(engine, this.containers);
    this.kube = new KubeService(engine, this.containers, this.pods);
    this.systemd = new SystemdService(engine);
  }

  /** `inspect` of any object by name or id: a container or an image (the first found, or of `type`). */
  async inspect(ref: string, req: { type?: InspectType; size?: boolean } = {}): Promise<Record<string, unknown>> {
    const { inspectObject } = await import('./inspect.js');
    return inspectObject(this.engine, ref, req);
  }

  /**
   * Docker's pattern for a command over several names: each is tried in
   * turn, a failure is kept and the others go on; the caller reports.
   */
  async each<T>(refs: string[], fn: (ref: string) => Promise<T> | T): Promise<Array<{ ref: string; value?: T; error?: unknown }>> {
    const out: Array<{ ref: string; value?: T; error?: unknown }> = [];
    for (const ref of refs) {
      try {
        out.push({ ref, value: await fn(ref) });
      } catch (error) {
        out.push({ ref, error });
      }
    }
    return out;
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
  // Imported here, not above: a front door that parses flags (or prints its version) loads no engine.
  const { Engine } = await import('./engine.js');
  return new Services(await Engine.open(opts));
}
