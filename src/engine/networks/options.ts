import { EngineError } from '../../util/errors.js';
import { invalid } from '../../util/values.js';
import { checkDnsServers, parseAddHost } from './hosts.js';
import { checkDuplicates, checkHostPorts, parseExpose, type PortBinding } from './ports.js';
import { isStack } from './stack.js';
import { DEFAULT_NETWORK } from './defaults.js';

/**
 * How a container is networked:
 * - bridge: on one or more rootlet networks (the default one unless named), through a veth each;
 * - pasta / slirp4netns: a namespace with a user-mode stack of its own (Podman's modes);
 * - none: loopback only; host: the user's view of the host's network;
 * - container: another container's namespace;
 * - private: what records made before networking existed ran with (loopback only).
 */
export type NetworkMode = 'bridge' | 'pasta' | 'slirp4netns' | 'none' | 'host' | 'container' | 'private';

/** The network part of a container's spec, as stored with its record. */
export interface NetworkSpec {
  mode: NetworkMode;
  /** bridge: the networks joined, by name, first is the default route's. */
  networks: Array<{ name: string; aliases: string[] }>;
  /** container: the container whose namespace is shared (its name or id as given). */
  container?: string;
  ports: PortBinding[];
  /** "80/tcp": the image's EXPOSE, --expose and the published ports. */
  exposed: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** NAME:IP from --add-host */
  extraHosts: string[];
  /** -P: the exposed ports are among `ports`, on free host ports. */
  publishAll?: boolean;
}

/** The network fields of a create request, as networkSpec checks them. */
export interface NetworkRequest {
  network?: string;
  ports: PortBinding[];
  publishAll: boolean;
  expose: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  addHosts: string[];
  aliases: string[];
  hostname?: string;
}

/** A --network-alias: a name others can resolve. */
export function checkAlias(a: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(a)) invalid('--network-alias', a, 'not a valid name: use letters, digits, _ . - (starting with a letter or digit)');
}

/** Checks the network part of a create request; every refusal happens here, before anything is created. */
export function networkSpec(f: NetworkRequest, imageExposed: string[]): NetworkSpec {
  const n = f.network;
  let mode: NetworkMode = 'bridge';
  let networks: NetworkSpec['networks'] = [];
  let container: string | undefined;
  if (n === undefined || n === '') {
    networks = [{ name: DEFAULT_NETWORK, aliases: [] }];
  } else if (n === 'none' || n === 'host' || n === 'private') {
    mode = n;
  } else if (isStack(n)) {
    mode = n;
  } else if (n.startsWith('container:')) {
    mode = 'container';
    container = n.slice('container:'.length);
    if (!container) throw new EngineError('--network container: needs a container name or id (container:NAME)');
  } else {
    const names = n.split(',').map((s) => s.trim());
    if (names.some((s) => !s)) throw new EngineError(`invalid --network "${n}": give network names separated by commas`);
    networks = names.map((name) => ({ name, aliases: [] }));
  }
  const ports = f.ports.map((p) => ({ ...p }));
  checkDuplicates(ports);
  const own = mode === 'bridge' || mode === 'pasta' || mode === 'slirp4netns';
  if (ports.length && !own) {
    throw new EngineError(`conflicting options: port publishing and --network ${n}: published ports need a network namespace of the container's own (the default network, a named one, pasta or slirp4netns)`);
  }
  if (f.aliases.length) {
    if (mode !== 'bridge') throw new EngineError(`--network-alias needs a rootlet network (the default or a named one), not --network ${n}`);
    f.aliases.forEach(checkAlias);
    networks = networks.map((x) => ({ ...x, aliases: f.aliases }));
  }
  if (mode === 'container') {
    const what = f.dns.length || f.dnsSearch.length || f.dnsOptions.length ? '--dns' : f.addHosts.length ? '--add-host' : f.hostname ? '--hostname' : f.expose.length || f.publishAll ? '--expose/-P' : '';
    if (what) throw new EngineError(`conflicting options: ${what} and --network container:...: the container shares the other one's network and its files`);
  }
  const exposed = [...new Set([...imageExposed.flatMap((e) => parseExpose(e, 'the image\'s ExposedPorts')), ...f.expose.flatMap((e) => parseExpose(e)), ...ports.map((p) => `${p.containerPort}/${p.protocol}`)])];
  if (f.publishAll && own) {
    const published = new Set(ports.map((p) => `${p.containerPort}/${p.protocol}`));
    for (const e of exposed) {
      if (published.has(e)) continue;
      const [port, proto] = e.split('/');
      ports.push({ hostIp: '', hostPort: 0, containerPort: Number(port), protocol: proto as PortBinding['protocol'] });
    }
  }
  checkHostPorts(ports);
  f.addHosts.forEach(parseAddHost);
  return {
    mode, networks, container, ports, exposed,
    dns: checkDnsServers(f.dns), dnsSearch: f.dnsSearch, dnsOptions: f.dnsOptions, extraHosts: f.addHosts, publishAll: f.publishAll,
  };
}

/** The network spec of a record made before networking existed. */
export function legacyNetworkSpec(mode: string | undefined): NetworkSpec {
  return { mode: (mode as NetworkMode | undefined) ?? 'private', networks: [], ports: [], exposed: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [] };
}

/** Whether the container gets a network namespace that rootlet makes (and tears down). */
export function hasOwnNetns(s: NetworkSpec): boolean {
  return s.mode === 'bridge' || s.mode === 'pasta' || s.mode === 'slirp4netns';
}
