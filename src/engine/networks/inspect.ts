import type { ContainerRecord } from '../containers/store.js';
import type { Engine } from '../engine.js';
import { boundPorts } from './endpoints.js';
import type { PortBinding } from './ports.js';
import { NetworkStore, type NetworkRecord } from './store.js';
import { parseSubnet } from './subnet.js';

type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

/** Docker's port map: "80/tcp" -> host bindings (null for exposed-only ports when `exposed` is given). */
export function portMap(bindings: PortBinding[], exposed: string[] = []): PortMap {
  const out: PortMap = {};
  for (const e of exposed) out[e] = null;
  for (const b of bindings) {
    const k = `${b.containerPort}/${b.protocol}`;
    (out[k] ??= []).push({ HostIp: b.hostIp || '0.0.0.0', HostPort: b.hostPort ? String(b.hostPort) : '' });
  }
  return out;
}

/** inspect's NetworkSettings: the addresses of the current run, the ports as bound. */
export function networkSettings(engine: Engine, rec: ContainerRecord): Record<string, unknown> {
  const store = new NetworkStore(engine.db);
  const running = rec.state === 'running';
  const eps = running ? store.endpointsOf(rec.id) : [];
  const run = running ? store.run(rec.id) : undefined;
  const nets = new Map<string, NetworkRecord>();
  for (const n of rec.spec.net.networks) {
    const found = store.find(n.name);
    if (found) nets.set(found.id, found);
  }
  const entry = (name: string, n: NetworkRecord | undefined, aliases: string[]) => {
    const ep = n && eps.find((e) => e.networkId === n.id);
    return {
      IPAMConfig: null, Links: null, Aliases: aliases.length ? aliases : null,
      NetworkID: n?.id ?? name, EndpointID: ep ? `${rec.id.slice(0, 32)}${n!.id.slice(0, 32)}` : '',
      Gateway: ep ? n!.gateway : '', IPAddress: ep?.ip ?? '', IPPrefixLen: ep ? parseSubnet(n!.subnet).prefix : 0,
      IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: ep?.mac ?? '',
    };
  };
  const networks: Record<string, unknown> = {};
  if (rec.spec.net.mode === 'bridge') {
    for (const n of rec.spec.net.networks) {
      const found = [...nets.values()].find((x) => x.name === n.name) ?? store.find(n.name);
      networks[found?.name ?? n.name] = entry(n.name, found, n.aliases);
    }
  } else {
    networks[rec.spec.net.mode] = entry(rec.spec.net.mode, undefined, []);
  }
  const first = Object.values(networks)[0] as { Gateway: string; IPAddress: string; IPPrefixLen: number; MacAddress: string } | undefined;
  return {
    Bridge: '',
    SandboxID: '',
    SandboxKey: run?.netns ?? '',
    Ports: portMap(running ? boundPorts(engine, rec.id) : [], running ? rec.spec.net.exposed : []),
    Gateway: first?.Gateway ?? '',
    IPAddress: first?.IPAddress ?? '',
    IPPrefixLen: first?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: first?.MacAddress ?? '',
    Networks: networks,
  };
}

/** inspect's Config.ExposedPorts: {"80/tcp": {}} */
export function exposedPorts(exposed: string[]): Record<string, Record<string, never>> | undefined {
  return exposed.length ? Object.fromEntries(exposed.map((e) => [e, {}])) : undefined;
}
