import { DEFAULT_CAPS } from '../../runtime/capabilities.js';
import type { RootletConfig } from '../config.js';
import type { CreateRequest } from './request.js';

/**
 * A create request with containers.conf's defaults (default capabilities,
 * DNS) folded in where the request says nothing, before the admin policy
 * sees it: a capability a user's containers.conf adds is checked like one
 * from --cap-add. The request's own values win, as a flag beats the file.
 * (containers.conf's env goes in below the image's, in buildSpec.)
 */
export function withConfDefaults(config: RootletConfig, req: CreateRequest): CreateRequest {
  const c = config.containers;
  let host = req.host ?? {};
  const defaults = c.defaultCapabilities;
  if (defaults && !host.privileged) {
    const add = host.capAdd ?? [];
    const drop = host.capDrop ?? [];
    if (!add.includes('ALL') && !drop.includes('ALL')) {
      // Expressed against rootlet's own defaults, as drops and adds; the user's flags still decide their capabilities.
      const confDrop = DEFAULT_CAPS.filter((cap) => !defaults.includes(cap) && !add.includes(cap));
      const confAdd = defaults.filter((cap) => !DEFAULT_CAPS.includes(cap) && !drop.includes(cap));
      if (confDrop.length || confAdd.length) host = { ...host, capAdd: [...add, ...confAdd], capDrop: [...drop, ...confDrop] };
    }
  }
  const mode = host.networkMode ?? 'default';
  const ownResolv = mode !== 'host' && mode !== 'none' && !mode.startsWith('container:');
  if (ownResolv) {
    if (!host.dns?.length && c.dnsServers?.length) host = { ...host, dns: c.dnsServers };
    if (!host.dnsSearch?.length && c.dnsSearches?.length) host = { ...host, dnsSearch: c.dnsSearches };
    if (!host.dnsOptions?.length && c.dnsOptions?.length) host = { ...host, dnsOptions: c.dnsOptions };
  }
  return host === req.host ? req : { ...req, host };
}
