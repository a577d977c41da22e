import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { EngineError } from '../../util/errors.js';

/** Names through which containers reach the host's own services (Podman's and Docker's). */
export const HOST_NAMES = ['host.containers.internal', 'host.docker.internal'];

export interface HostsInput {
  hostname: string;
  name: string;
  /** The container's own addresses (first network first); none: the name maps to 127.0.1.1. */
  ownIps: string[];
  /** Where the host answers, when the network has a way out. */
  hostAddr?: string;
  /** Other containers on the container's networks: their address and names (name, aliases, short id). */
  peers: Array<{ ip: string; names: string[] }>;
  /** --add-host NAME:IP */
  extra: Array<{ name: string; ip: string }>;
}

/** /etc/hosts of a container with a network namespace of its own. */
export function hostsContent(h: HostsInput): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  const own = [...new Set([h.hostname, h.name])].join(' ');
  lines.push(`${h.ownIps[0] ?? '127.0.1.1'}\t${own}`);
  for (const ip of h.ownIps.slice(1)) lines.push(`${ip}\t${own}`);
  if (h.hostAddr) lines.push(`${h.hostAddr}\t${HOST_NAMES.join(' ')}`);
  for (const p of h.peers) lines.push(`${p.ip}\t${[...new Set(p.names)].join(' ')}`);
  for (const e of h.extra) lines.push(`${e.ip}\t${e.name}`);
  return `${lines.join('\n')}\n`;
}

/** --add-host NAME:IP (or NAME=IP); the IP may be an IPv6 address, or host-gateway. */
export function parseAddHost(v: string): { name: string; ip: string } {
  const i = v.search(/[:=]/);
  const name = i < 0 ? '' : v.slice(0, i);
  let ip = i < 0 ? '' : v.slice(i + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (!name || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || (ip !== 'host-gateway' && !isIP(ip))) {
    throw new EngineError(`invalid --add-host "${v}": use NAME:IP (e.g. db:10.0.0.5, or NAME:host-gateway for the host)`);
  }
  return { name, ip };
}

export interface ResolvConf {
  servers: string[];
  search: string[];
  options: string[];
}

export function readResolvConf(file = '/etc/resolv.conf'): ResolvConf {
  const r: ResolvConf = { servers: [], search: [], options: [] };
  let text = '';
  try { text = readFileSync(file, 'utf8'); } catch { return r; }
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (key === 'nameserver' && rest[0]) r.servers.push(rest[0]);
    else if (key === 'search' || key === 'domain') r.search = rest;
    else if (key === 'options') r.options.push(...rest);
  }
  return r;
}

export function resolvContent(r: ResolvConf): string {
  const lines: string[] = [];
  if (r.search.length) lines.push(`search ${r.search.join(' ')}`);
  for (const s of r.servers) lines.push(`nameserver ${s}`);
  if (r.options.length) lines.push(`options ${r.options.join(' ')}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** --dns addresses must be IP addresses: a name could not be looked up without one. */
export function checkDnsServers(list: string[]): string[] {
  for (const s of list) if (!isIP(s)) throw new EngineError(`invalid --dns "${s}": give the name server's IP address`);
  return list;
}

/**
 * The container's resolv.conf: --dns/--dns-search/--dns-option replace the
 * defaults; the default server is the stack's DNS forwarder (it reaches the
 * host's resolvers, also when those listen on the host's loopback), else
 * the host's own servers (--net host, none).
 */
export function containerResolv(opts: { dns: string[]; dnsSearch: string[]; dnsOptions: string[] }, stackDns: string | undefined, host: ResolvConf): ResolvConf {
  return {
    servers: opts.dns.length ? opts.dns : stackDns ? [stackDns] : host.servers,
    search: opts.dnsSearch.length ? opts.dnsSearch.filter((s) => s !== '.') : host.search,
    options: opts.dnsOptions.length ? opts.dnsOptions : host.options,
  };
}
