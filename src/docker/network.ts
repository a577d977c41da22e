import type { NetworkDetails } from '../engine/index.js';

/** Docker's `network inspect` JSON for a network the engine describes. */
export function networkDoc(n: NetworkDetails): Record<string, unknown> {
  const members: Record<string, unknown> = {};
  for (const m of n.containers) {
    members[m.containerId] = { Name: m.name, EndpointID: m.endpointId, MacAddress: m.macAddress, IPv4Address: `${m.ipv4Address}/${m.prefixLength}`, IPv6Address: '' };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: new Date(n.created).toISOString(),
    Scope: n.scope,
    Driver: n.driver,
    EnableIPv6: n.enableIPv6,
    IPAM: { Driver: n.ipam.driver, Options: {}, Config: n.ipam.config.map((c) => ({ Subnet: c.subnet, Gateway: c.gateway })) },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: members,
    Options: n.options,
    Labels: n.labels,
  };
}
