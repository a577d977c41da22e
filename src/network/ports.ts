import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { EngineError } from '../engine/errors.js';

export type Protocol = 'tcp' | 'udp';

/** One published port. hostPort 0: a free port the kernel picks when the container starts. */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

function portNumber(v: string, spec: string, what: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new EngineError(`invalid port specification "${spec}": ${what} "${v}" is not a port number (1-65535)`);
  return n;
}

/** "8000" or "8000-8002" as a list of ports. */
function portRange(v: string, spec: string, what: string): number[] {
  const m = /^([^-]+)(?:-(.+))?$/.exec(v);
  if (!m) throw new EngineError(`invalid port specification "${spec}": ${what} "${v}" is not a port or range`);
  const lo = portNumber(m[1]!, spec, what);
  const hi = m[2] === undefined ? lo : portNumber(m[2], spec, what);
  if (hi < lo) throw new EngineError(`invalid port specification "${spec}": the range ${v} ends before it starts`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

function protocolOf(v: string | undefined, spec: string): Protocol {
  const p = (v ?? 'tcp').toLowerCase();
  if (p !== 'tcp' && p !== 'udp') throw new EngineError(`invalid port specification "${spec}": protocol "${v}" is not tcp or udp (sctp is not supported)`);
  return p;
}

/**
 * Parses -p [IP:][HOSTPORT:]CTRPORT[/PROTO] as Docker does: ranges on
 * either side (of equal length when both are given), an IPv6 address in
 * brackets, no host port for a free one.
 */
export function parsePublish(spec: string): PortBinding[] {
  const slash = spec.lastIndexOf('/');
  const body = slash < 0 ? spec : spec.slice(0, slash);
  const protocol = protocolOf(slash < 0 ? undefined : spec.slice(slash + 1), spec);
  let hostIp = '';
  let rest = body;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(body);
  if (v6) {
    hostIp = v6[1]!;
    rest = v6[2]!;
  } else {
    const parts = body.split(':');
    if (parts.length > 3) throw new EngineError(`invalid port specification "${spec}": use [IP:][HOSTPORT:]CONTAINERPORT[/PROTOCOL]`);
    if (parts.length === 3) {
      hostIp = parts[0]!;
      rest = `${parts[1]}:${parts[2]}`;
    }
  }
  if (hostIp && !isIP(hostIp)) throw new EngineError(`invalid port specification "${spec}": "${hostIp}" is not an IP address`);
  const colon = rest.indexOf(':');
  const hostPart = colon < 0 ? '' : rest.slice(0, colon);
  const ctrPart = colon < 0 ? rest : rest.slice(colon + 1);
  if (!ctrPart) throw new EngineError(`invalid port specification "${spec}": no container port`);
  const ctr = portRange(ctrPart, spec, 'container port');
  const host = hostPart ? portRange(hostPart, spec, 'host port') : ctr.map(() => 0);
  if (host.length !== ctr.length) {
    if (host.length > 1 && ctr.length === 1) {
      // Docker: a host range for one container port means "any one of these"; rootlet takes the first free one at start.
      throw new EngineError(`invalid port specification "${spec}": a host port range needs a container range of the same length`);
    }
    throw new EngineError(`invalid port specification "${spec}": the host range (${host.length} ports) and the container range (${ctr.length}) differ in length`);
  }
  return ctr.map((c, i) => ({ hostIp, hostPort: host[i]!, containerPort: c, protocol }));
}

/** --expose PORT[-PORT][/PROTO] (and the image's ExposedPorts keys) as "80/tcp" entries. */
export function parseExpose(spec: string): string[] {
  const [ports, proto] = spec.split('/');
  const protocol = protocolOf(proto, spec);
  return portRange(ports ?? '', spec, 'port').map((p) => `${p}/${protocol}`);
}

export function unprivilegedPortStart(file = '/proc/sys/net/ipv4/ip_unprivileged_port_start'): number {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return 1024;
  }
}

/** A user cannot bind a host port below the sysctl: refused before anything is created. */
export function checkHostPorts(bindings: PortBinding[], start = unprivilegedPortStart(), isRoot = false): void {
  if (isRoot) return;
  const low = bindings.find((b) => b.hostPort !== 0 && b.hostPort < start);
  if (!low) return;
  throw new EngineError(
    `cannot publish host port ${low.hostPort}: ports below net.ipv4.ip_unprivileged_port_start (${start} here) are reserved to root; ` +
    `pick a host port >= ${start} (e.g. -p ${Math.max(start, 8000 + (low.hostPort % 1000))}:${low.containerPort}), ` +
    `or have an admin lower it: sysctl -w net.ipv4.ip_unprivileged_port_start=${low.hostPort}`,
  );
}

/** Two bindings of one host address, port and protocol cannot both exist. */
export function checkDuplicates(bindings: PortBinding[]): void {
  const seen = new Set<string>();
  for (const b of bindings) {
    if (b.hostPort === 0) continue;
    const k = `${b.hostIp || '*'}:${b.hostPort}/${b.protocol}`;
    if (seen.has(k)) throw new EngineError(`host port ${b.hostPort}/${b.protocol} is published twice: give each binding its own host port`);
    seen.add(k);
  }
}

/** "0.0.0.0:18080->80/tcp" items, as Docker's ps shows them (consecutive ports folded into ranges). */
export function formatPorts(bound: PortBinding[], exposed: string[]): string {
  const items: string[] = [];
  const sorted = [...bound].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.containerPort - b.containerPort);
  let i = 0;
  while (i < sorted.length) {
    const first = sorted[i]!;
    let j = i;
    while (j + 1 < sorted.length) {
      const n = sorted[j + 1]!;
      const p = sorted[j]!;
      if (n.protocol !== p.protocol || n.hostIp !== p.hostIp || n.containerPort !== p.containerPort + 1 || n.hostPort !== p.hostPort + 1) break;
      j++;
    }
    const last = sorted[j]!;
    const ip = displayIp(first.hostIp);
    const hp = first.hostPort === last.hostPort ? `${first.hostPort}` : `${first.hostPort}-${last.hostPort}`;
    const cp = first.containerPort === last.containerPort ? `${first.containerPort}` : `${first.containerPort}-${last.containerPort}`;
    items.push(`${ip}:${hp}->${cp}/${first.protocol}`);
    i = j + 1;
  }
  const published = new Set(bound.map((b) => `${b.containerPort}/${b.protocol}`));
  const rest = exposed.filter((e) => !published.has(e)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b));
  items.push(...rest);
  return items.join(', ');
}

/** How a host address is shown: every address as Docker shows it, an IPv6 one in brackets. */
export function displayIp(ip: string): string {
  if (!ip) return '0.0.0.0';
  return ip.includes(':') ? `[${ip}]` : ip;
}
