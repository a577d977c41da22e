import { isRunning } from '../containers/running.js';
import { labelMatches } from './filter.js';
import { ContainerStore, type ContainerRecord } from '../containers/store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { connectRunning, disconnectRunning } from './endpoints.js';
import { NetworkStore, type NetworkRecord } from './store.js';
import { DEFAULT_ALIASES, DEFAULT_NETWORK } from './defaults.js';
import { parseSubnet } from './subnet.js';
import { networkEvent, recordEvent } from '../events/log.js';

/** The operations behind `rootlet network ...`. */

export function createNetwork(engine: Engine, o: { name: string; subnet?: string; gateway?: string; internal: boolean; labels: Record<string, string>; driver?: string }): NetworkRecord {
  const store = new NetworkStore(engine.db);
  store.ensureDefault();
  const net = store.create(o);
  recordEvent(engine, networkEvent(net, 'create'));
  return net;
}

/** Every network, the default one included (made on first look, as Podman shows "podman"). */
export function listNetworks(engine: Engine): NetworkRecord[] {
  const store = new NetworkStore(engine.db);
  store.ensureDefault();
  return store.list();
}

/** Containers whose spec names the network, running or not. */
function usersOf(engine: Engine, net: NetworkRecord): ContainerRecord[] {
  return new ContainerStore(engine.db).list().filter((c) => c.spec.net.mode === 'bridge' && c.spec.net.networks.some((n) => sameNetwork(n.name, net)));
}

function sameNetwork(name: string, net: NetworkRecord): boolean {
  return name === net.name || name === net.id || (net.name === DEFAULT_NETWORK && DEFAULT_ALIASES.has(name));
}

/** One container on a network, as `network inspect` shows it. */
export interface NetworkMember {
  containerId: string;
  name: string;
  /** Docker's endpoint id: the container's id and the network's, 32 hex digits of each. */
  endpointId: string;
  macAddress: string;
  ipv4Address: string;
  prefixLength: number;
  aliases: string[];
}

/** A network in detail (`network inspect`): its record and the containers on it now. */
export interface NetworkDetails {
  id: string;
  name: string;
  driver: string;
  scope: 'local';
  internal: boolean;
  enableIPv6: false;
  /** ms since the epoch */
  created: number;
  ipam: { driver: 'default'; config: Array<{ subnet: string; gateway: string }> };
  labels: Record<string, string>;
  options: Record<string, string>;
  containers: NetworkMember[];
}

/** `network inspect`: the record and its endpoints (containers of the current run), as data. */
export function networkDetails(engine: Engine, net: NetworkRecord): NetworkDetails {
  const store = new NetworkStore(engine.db);
  const containers = new ContainerStore(engine.db);
  const prefix = parseSubnet(net.subnet).prefix;
  const members: NetworkMember[] = [];
  for (const ep of store.endpoints(net.id)) {
    const c = containers.get(ep.containerId);
    if (!c) continue;
    members.push({
      containerId: c.id, name: c.name, endpointId: `${c.id.slice(0, 32)}${net.id.slice(0, 32)}`,
      macAddress: ep.mac, ipv4Address: ep.ip, prefixLength: prefix, aliases: ep.aliases,
    });
  }
  return {
    id: net.id,
    name: net.name,
    driver: net.driver,
    scope: 'local',
    internal: net.internal,
    enableIPv6: false,
    created: net.created,
    ipam: { driver: 'default', config: [{ subnet: net.subnet, gateway: net.gateway }] },
    labels: net.labels,
    options: {},
    containers: members,
  };
}

/** `network rm`: refused while containers use the network (running: "active endpoints"). */
export function removeNetwork(engine: Engine, net: NetworkRecord): void {
  if (net.name === DEFAULT_NETWORK) throw new EngineError(`${net.name} is a pre-defined network and cannot be removed`);
  const users = usersOf(engine, net);
  const running = users.filter((c) => isRunning(engine, c));
  if (running.length) {
    throw new EngineError(`error while removing network: network ${net.name} id ${net.id} has active endpoints (${running.map((c) => c.name).join(', ')}): stop those containers or disconnect them first`);
  }
  if (users.length) {
    throw new EngineError(`error while removing network: network ${net.name} is used by container${users.length > 1 ? 's' : ''} ${users.map((c) => c.name).join(', ')}: remove ${users.length > 1 ? 'them' : 'it'} or disconnect ${users.length > 1 ? 'them' : 'it'} first`);
  }
  const store = new NetworkStore(engine.db);
  engine.db.transaction(() => {
    if (store.endpoints(net.id).length) throw new EngineError(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
    store.delete(net.id);
  }).immediate();
  recordEvent(engine, networkEvent(net, 'destroy'));
}

/**
 * `network prune`: removes the networks no container uses; returns their
 * names. `also` narrows it further (system prune's until= and label!=).
 */
export function pruneNetworks(engine: Engine, labelFilters: string[] = [], also: (net: NetworkRecord) => boolean = () => true): string[] {
  const removed: string[] = [];
  for (const net of listNetworks(engine)) {
    if (net.name === DEFAULT_NETWORK || usersOf(engine, net).length) continue;
    if (!labelFilters.every((l) => labelMatches(net.labels, l)) || !also(net)) continue;
    try {
      removeNetwork(engine, net);
      removed.push(net.name);
    } catch { /* taken meanwhile */ }
  }
  return removed;
}

function bridgeOnly(rec: ContainerRecord, verb: string): void {
  if (rec.spec.net.mode !== 'bridge') {
    throw new EngineError(`container ${rec.name} uses --network ${rec.spec.net.mode === 'container' ? `container:${rec.spec.net.container}` : rec.spec.net.mode}: only containers on rootlet networks can be ${verb}`);
  }
}

/** `network connect`: the container joins now if it runs, and at every start. */
export async function connectNetwork(engine: Engine, net: NetworkRecord, rec: ContainerRecord, aliases: string[]): Promise<void> {
  bridgeOnly(rec, 'connected to another network');
  if (rec.spec.net.networks.some((n) => sameNetwork(n.name, net))) throw new EngineError(`endpoint with name ${rec.name} already exists in network ${net.name}`);
  const spec = { ...rec.spec, net: { ...rec.spec.net, networks: [...rec.spec.net.networks, { name: net.name, aliases }] } };
  if (isRunning(engine, rec)) await connectRunning(engine, rec, net, aliases);
  new ContainerStore(engine.db).updateSpec(rec.id, spec);
  recordEvent(engine, networkEvent(net, 'connect', rec.id));
}

/**
 * `network disconnect`. A running container keeps at least one network
 * (its namespace is rootlet's to rebuild only at a start); a stopped one
 * may leave its last, as Docker allows, and then starts with loopback
 * alone until connected again. Clients rely on that: docker-compose 1.29
 * creates a container, takes it off its network and connects it again
 * with the service's aliases.
 */
export async function disconnectNetwork(engine: Engine, net: NetworkRecord, rec: ContainerRecord): Promise<void> {
  bridgeOnly(rec, 'disconnected from a network');
  if (!rec.spec.net.networks.some((n) => sameNetwork(n.name, net))) throw new EngineError(`container ${rec.name} is not connected to network ${net.name}`);
  const rest = rec.spec.net.networks.filter((n) => !sameNetwork(n.name, net));
  const running = isRunning(engine, rec);
  if (!rest.length && running) throw new EngineError(`container ${rec.name} is only on network ${net.name}: connect it to another network first, or stop it`);
  if (running) await disconnectRunning(engine, rec, net);
  new ContainerStore(engine.db).updateSpec(rec.id, { ...rec.spec, net: { ...rec.spec.net, networks: rest } });
  recordEvent(engine, networkEvent(net, 'disconnect', rec.id));
}
