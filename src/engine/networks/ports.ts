import { readFileSync } from 'node:fs';
import { EngineError } from '../../util/errors.js';
import type { PortBinding } from '../../util/values.js';

// -p and --expose are parsed in src/util/values.ts with every other typed value.
export { parseExpose, parsePublish, type PortBinding, type Protocol } from '../../util/values.js';

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
