import type { PortBinding } from '../util/values.js';

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
