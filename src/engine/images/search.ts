import { clientFor, type RegistryAccess } from '../../image/registry/client.js';
import { endpointsFor, loadRegistriesConf } from '../../image/registry/registries-conf.js';
import { parseReference } from '../../image/reference.js';
import { EngineError } from '../../util/errors.js';
import { checkPullFrom } from '../policy/check.js';
import type { Engine } from '../engine.js';

/** One repository `search` found: only its name is known (a registry's catalog has no descriptions or stars). */
export interface SearchResult {
  name: string;
}

/** How many names are asked of a catalog: enough to filter from on a local registry, not a crawl of a big one. */
const CATALOG_PAGE = 1000;

/**
 * `search REGISTRY/TERM`: the repositories of REGISTRY's catalog (GET
 * /v2/_catalog, as Podman searches a registry) whose names contain TERM.
 * Registries have no search of their own and this engine uses no hub
 * index, so a term without a registry is refused with how to give one.
 */
export async function searchImages(engine: Engine, term: string, opts: RegistryAccess & { limit?: number } = {}): Promise<SearchResult[]> {
  const slash = term.indexOf('/');
  const first = slash < 0 ? '' : term.slice(0, slash);
  if (!first || !(first.includes('.') || first.includes(':') || first === 'localhost')) {
    throw new EngineError(`search ${term}: there is no index to search: registries list their repositories, so give one, as in REGISTRY/${term} (e.g. localhost:5000/${term}); or pull the image by its full name`);
  }
  const query = term.slice(slash + 1).toLowerCase();
  const limit = opts.limit ?? 25;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100) throw new EngineError(`invalid limit ${limit}: from 1 to 100`);
  await checkPullFrom(engine, first, `search ${term}`);
  const conf = await loadRegistriesConf();
  // An endpoint as a pull from that registry would use: its TLS settings and credentials.
  const ep = endpointsFor(conf, parseReference(`${first}/${query.replace(/[^a-z0-9._/-]/g, '') || 'x'}`, null), opts.tlsVerify).find((e) => !e.mirror)!;
  const client = clientFor(ep, opts);
  try {
    const names = await client.catalog(CATALOG_PAGE);
    return names.filter((n) => n.toLowerCase().includes(query)).slice(0, limit).map((n) => ({ name: `${ep.registry}/${n}` }));
  } finally {
    client.close();
  }
}
