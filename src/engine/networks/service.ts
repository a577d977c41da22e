import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { pruneLabels } from './filter.js';
import type { NetworkDetails } from './lifecycle.js';
import { NetworkStore, type NetworkRecord } from './store.js';

export type { NetworkDetails, NetworkMember } from './lifecycle.js';

export interface CreateNetworkRequest {
  name: string;
  /** IPv4 CIDR; absent: the next free 10.89.N.0/24. */
  subnet?: string;
  /** The bridge's address in the subnet; absent: its first. */
  gateway?: string;
  /** No way out: the containers reach only each other. */
  internal?: boolean;
  labels?: Record<string, string>;
  /** Only "bridge" is supported. */
  driver?: string;
}

/** `network inspect` of a name or id that matches no network: a caller may list the ones found and name the others. */
export class NetworkNotFoundError extends EngineError {
  constructor(readonly ref: string) {
    super(`network ${ref} not found`, 1);
    this.name = 'NetworkNotFoundError';
  }
}

/**
 * The networks operations every front door calls (the CLI, compose, the API
 * server, pods): one method per operation, taking a name or id and a typed
 * request, returning plain data. The CLI formats what they return.
 */
export class NetworkService {
  constructor(private readonly engine: Engine) {}

  /** `network create`: a new bridge network (the default one is made first, so it keeps its subnet). */
  async create(req: CreateNetworkRequest): Promise<NetworkDetails> {
    const { createNetwork, networkDetails } = await import('./lifecycle.js');
    const rec = createNetwork(this.engine, {
      name: req.name, subnet: req.subnet, gateway: req.gateway, internal: !!req.internal, labels: req.labels ?? {}, driver: req.driver,
    });
    return networkDetails(this.engine, rec);
  }

  /**
   * `network ls`: every network, the default one included, that passes the
   * filters (Docker's KEY=VALUE: driver, id, label, name, scope, type, dangling).
   */
  async list(req: { filters?: string[] } = {}): Promise<NetworkDetails[]> {
    const { containerStore } = await import('../containers/state.js');
    const { networkFilter } = await import('./filter.js');
    const { listNetworks, networkDetails } = await import('./lifecycle.js');
    const users = new Set(containerStore(this.engine).list()
      .flatMap((c) => (c.spec.net.mode === 'bridge' ? c.spec.net.networks.map((n) => n.name) : [])));
    const keep = networkFilter(req.filters ?? [], (n) => users.has(n.name) || users.has(n.id));
    return listNetworks(this.engine).filter(keep).map((n) => networkDetails(this.engine, n));
  }

  /** `network inspect`: by name, full id or unique id prefix; NetworkNotFoundError when there is none. */
  async inspect(nameOrId: string): Promise<NetworkDetails> {
    const { networkDetails } = await import('./lifecycle.js');
    const rec = this.store().find(nameOrId);
    if (!rec) throw new NetworkNotFoundError(nameOrId);
    return networkDetails(this.engine, rec);
  }

  /**
   * `network rm`: refused for the default network and while containers use
   * it. With `force` a network that does not exist is no error; `removed`
   * says whether there was one.
   */
  async remove(nameOrId: string, req: { force?: boolean } = {}): Promise<{ removed: boolean }> {
    const { removeNetwork } = await import('./lifecycle.js');
    const rec = this.store().find(nameOrId);
    if (!rec) {
      if (req.force) return { removed: false };
      throw new EngineError(`network ${nameOrId} not found`);
    }
    removeNetwork(this.engine, rec);
    return { removed: true };
  }

  /**
   * Refuses prune filters other than label=KEY[=VALUE], before anything is
   * asked or removed (the CLI checks them before its confirmation prompt).
   */
  static checkPruneFilters(filters: string[]): void {
    pruneLabels(filters);
  }

  /** `network prune`: removes every network no container names (running or not); returns their names. */
  async prune(req: { filters?: string[] } = {}): Promise<{ deleted: string[] }> {
    const { pruneNetworks } = await import('./lifecycle.js');
    return { deleted: pruneNetworks(this.engine, pruneLabels(req.filters ?? [])) };
  }

  /** `network connect`: the container joins now when it runs, and at every start. */
  async connect(network: string, container: string, req: { aliases?: string[] } = {}): Promise<void> {
    const { containerStore } = await import('../containers/state.js');
    const { connectNetwork } = await import('./lifecycle.js');
    const { checkAlias } = await import('./options.js');
    const aliases = req.aliases ?? [];
    for (const a of aliases) checkAlias(a);
    await connectNetwork(this.engine, this.resolve(network), containerStore(this.engine).resolve(container), aliases);
  }

  /** `network disconnect` (`force` is accepted for Docker compatibility and changes nothing). */
  async disconnect(network: string, container: string, _req: { force?: boolean } = {}): Promise<void> {
    const { containerStore } = await import('../containers/state.js');
    const { disconnectNetwork } = await import('./lifecycle.js');
    await disconnectNetwork(this.engine, this.resolve(network), containerStore(this.engine).resolve(container));
  }

  private store(): NetworkStore {
    return new NetworkStore(this.engine.db);
  }

  private resolve(ref: string): NetworkRecord {
    return this.store().resolve(ref);
  }
}
