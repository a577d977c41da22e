import { isRunning } from '../containers/state.js';
import { ContainerStore, type ContainerRecord } from '../containers/store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { connectRunning, disconnectRunning } from './endpoints.js';
import { DEFAULT_ALIASES, DEFAULT_NETWORK, NetworkStore, type NetworkRecord } from './store.js';
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

/** Docker's `network inspect`. */
export function inspectNetwork(engine: Engine, net: NetworkRecord): Record<string, unknown> {
  const store = new NetworkStore(engine.db);
  const containers = new ContainerStore(engine.db);
  const prefix = parseSubnet(net.subnet).prefix;
  const members: Record<string, unknown> = {};
  for (const ep of store.endpoints(net.id)) {
    const c = containers.get(ep.containerId);
    if (!c) continue;
    members[c.id] = { Name: c.name, EndpointID: `${c.id.slice(0, 32)}${net.id.slice(0, 32)}`, MacAddress: ep.mac, IPv4Address: `${ep.ip}/${prefix}`, IPv6Address: '' };
  }
  return {
    Name: net.name,
    Id: net.id,
    Created: new Date(net.created).toISOString(),
    Scope: 'local',
    Driver: net.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: net.subnet, Gateway: net.gateway }] },
    Internal: net.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: members,
    Options: {},
    Labels: net.labels,
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

/** `network prune`: removes the networks no container uses; returns their names. */
export function pruneNetworks(engine: Engine, labelFilters: string[] = []): string[] {
  const removed: string[] = [];
  for (const net of listNetworks(engine)) {
    if (net.name === DEFAULT_NETWORK || usersOf(engine, net).length) continue;
    if (!labelFilters.every((l) => labelMatches(net.labels, l))) continue;
    try {
      removeNetwork(engine, net);
      removed.push(net.name);
    } catch { /* taken meanwhile */ }
  }
  return removed;
}

export function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const i = filter.indexOf('=');
  const key = i < 0 ? filter : filter.slice(0, i);
  return Object.hasOwn(labels, key) && (i < 0 || labels[key] === filter.slice(i + 1));
}

function bridgeOnly(rec: ContainerRecord, verb: string): void {
  if (rec.spec.net.mode !== 'bridge') {
    throw new EngineError(`container ${rec.name} uses --network ${rec.spec.net.mode === 'container' ? `container:${rec.spec.net.container}` : rec.spec.net.mode}: only containers on rootlet networks can be ${verb}`);
  }
}

/** `network connect`: the container joins now if it runs, and at every start. */
export function connectNetwork(engine: Engine, net: NetworkRecord, rec: ContainerRecord, aliases: string[]): void {
  bridgeOnly(rec, 'connected to another network');
  if (rec.spec.net.networks.some((n) => sameNetwork(n.name, net))) throw new EngineError(`endpoint with name ${rec.name} already exists in network ${net.name}`);
  const spec = { ...rec.spec, net: { ...rec.spec.net, networks: [...rec.spec.net.networks, { name: net.name, aliases }] } };
  if (isRunning(engine, rec)) connectRunning(engine, rec, net, aliases);
  new ContainerStore(engine.db).updateSpec(rec.id, spec);
  recordEvent(engine, networkEvent(net, 'connect', rec.id));
}

/** `network disconnect`. A container keeps at least one network (use --network none for none). */
export function disconnectNetwork(engine: Engine, net: NetworkRecord, rec: ContainerRecord): void {
  bridgeOnly(rec, 'disconnected from a network');
  if (!rec.spec.net.networks.some((n) => sameNetwork(n.name, net))) throw new EngineError(`container ${rec.name} is not connected to network ${net.name}`);
  const rest = rec.spec.net.networks.filter((n) => !sameNetwork(n.name, net));
  if (!rest.length) throw new EngineError(`container ${rec.name} is only on network ${net.name}: connect it to another network first (a container without one: run it with --network none)`);
  if (isRunning(engine, rec)) disconnectRunning(engine, rec, net);
  new ContainerStore(engine.db).updateSpec(rec.id, { ...rec.spec, net: { ...rec.spec.net, networks: rest } });
  recordEvent(engine, networkEvent(net, 'disconnect', rec.id));
}
