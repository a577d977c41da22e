import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EngineError, errorMessage } from '../../util/errors.js';
import { DEFAULT_DOMAIN, parseReference, type Reference } from '../reference.js';

/**
 * registries.conf (version 2), from the files Podman reads: the user's
 * `$XDG_CONFIG_HOME/containers/registries.conf` when it exists, else
 * `/etc/containers/registries.conf` ($CONTAINERS_REGISTRIES_CONF
 * overrides both). Used: `unqualified-search-registries`, and per
 * `[[registry]]` `prefix`, `location`, `insecure`, `blocked` and
 * `[[registry.mirror]]` (`location`, `insecure`). Drop-in directories and
 * `[aliases]` are not read.
 */

export interface RegistryEntry {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: Array<{ location: string; insecure: boolean }>;
}

export interface RegistriesConf {
  file?: string;
  searchRegistries: string[];
  registries: RegistryEntry[];
}

/** One place to fetch a repository from: a host, the repository's path there, and whether TLS may be skipped. */
export interface Endpoint {
  /** Where the API answers (docker.io's is another host). */
  host: string;
  /** The registry as the user names it: credentials and messages use this. */
  registry: string;
  path: string;
  insecure: boolean;
  mirror: boolean;
}

/** Docker Hub's API does not answer on docker.io itself. */
const DOCKER_HUB_API = 'registry-1.docker.io';

export function registriesConfFile(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.CONTAINERS_REGISTRIES_CONF) return [env.CONTAINERS_REGISTRIES_CONF];
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return [join(config, 'containers/registries.conf'), '/etc/containers/registries.conf'];
}

export async function loadRegistriesConf(env: NodeJS.ProcessEnv = process.env): Promise<RegistriesConf> {
  for (const file of registriesConfFile(env)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const { parse } = await import('smol-toml');
    let doc: Record<string, unknown>;
    try {
      doc = parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new EngineError(`${file}: ${errorMessage(err).split('\n')[0]}: fix the file or move it away`);
    }
    return parseRegistriesConf(doc, file);
  }
  return { searchRegistries: [], registries: [] };
}

export function parseRegistriesConf(doc: Record<string, unknown>, file = 'registries.conf'): RegistriesConf {
  const bad = (what: string): never => { throw new EngineError(`${file}: ${what}`); };
  const search = doc['unqualified-search-registries'] ?? [];
  if (!Array.isArray(search) || search.some((s) => typeof s !== 'string')) bad('unqualified-search-registries must be a list of strings');
  const list = doc.registry ?? [];
  if (!Array.isArray(list)) bad('[[registry]] must be an array of tables');
  const registries = (list as Array<Record<string, unknown>>).map((r, i) => {
    const location = r.location;
    const prefix = r.prefix ?? location;
    if (typeof location !== 'string' && !(r.blocked === true && typeof prefix === 'string')) bad(`registry ${i + 1} has no location`);
    if (typeof prefix !== 'string') bad(`registry ${i + 1}: prefix must be a string`);
    const mirrors = (r.mirror ?? []) as Array<Record<string, unknown>>;
    if (!Array.isArray(mirrors)) bad(`registry ${prefix as string}: [[registry.mirror]] must be an array of tables`);
    return {
      prefix: (prefix as string).replace(/\/$/, ''),
      location: ((location as string | undefined) ?? (prefix as string)).replace(/\/$/, ''),
      insecure: r.insecure === true,
      blocked: r.blocked === true,
      mirrors: mirrors.map((m) => {
        if (typeof m.location !== 'string') bad(`a mirror of ${prefix as string} has no location`);
        return { location: (m.location as string).replace(/\/$/, ''), insecure: m.insecure === true };
      }),
    };
  });
  return { file, searchRegistries: search as string[], registries };
}

/** The entry whose prefix matches `domain/path` on a component boundary, the longest one. */
export function findRegistry(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const r of conf.registries) {
    const match = r.prefix.startsWith('*.')
      ? name.split('/')[0]!.endsWith(r.prefix.slice(1))
      : name === r.prefix || name.startsWith(`${r.prefix}/`) || (r.prefix.length > 0 && name.startsWith(`${r.prefix}:`));
    if (match && (!best || r.prefix.length > best.prefix.length)) best = r;
  }
  return best;
}

function splitLocation(location: string): { host: string; path: string } {
  const slash = location.indexOf('/');
  return slash < 0 ? { host: location, path: '' } : { host: location.slice(0, slash), path: location.slice(slash + 1) };
}

function apiHost(host: string): string {
  return host === DEFAULT_DOMAIN ? DOCKER_HUB_API : host;
}

/**
 * Where to fetch `ref` from: its mirrors first, then the registry itself
 * (rewritten by a matching `location`). A blocked registry is an error.
 * `insecure` also holds when the user gave --tls-verify=false.
 */
export function endpointsFor(conf: RegistriesConf, ref: Reference, tlsVerify: boolean | undefined): Endpoint[] {
  const name = `${ref.domain}/${ref.path}`;
  const entry = findRegistry(conf, name);
  if (entry?.blocked) throw new EngineError(`registry ${ref.domain} is blocked in ${conf.file}: ${name} cannot be pulled or pushed (ask the admin, or edit [[registry]] prefix "${entry.prefix}")`);
  const insecureFlag = tlsVerify === false;
  const rest = entry && !entry.prefix.startsWith('*.') ? name.slice(entry.prefix.length).replace(/^\//, '') : `${ref.path}`;
  const at = (location: string, insecure: boolean, mirror: boolean): Endpoint => {
    const l = splitLocation(location);
    const path = entry && !entry.prefix.startsWith('*.') ? [l.path, rest].filter(Boolean).join('/') : ref.path;
    return { host: apiHost(l.host), registry: l.host, path, insecure: insecure || insecureFlag, mirror };
  };
  const out: Endpoint[] = [];
  if (entry) for (const m of entry.mirrors) out.push(at(m.location, m.insecure, true));
  out.push(entry && !entry.prefix.startsWith('*.') ? at(entry.location, entry.insecure, false) : { host: apiHost(ref.domain), registry: ref.domain, path: ref.path, insecure: (entry?.insecure ?? false) || insecureFlag, mirror: false });
  return out;
}

/** True when the name as typed names no registry (Docker would take docker.io). */
export function isShortName(input: string): boolean {
  const first = input.split('/')[0]!;
  if (!input.includes('/')) return true;
  return !(first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
}

/**
 * The fully qualified candidates for a name as typed: the name itself when
 * it names a registry; for a short name, one per unqualified search
 * registry in order, or docker.io as Docker does when none is configured.
 */
export function candidatesFor(conf: RegistriesConf, input: string): Reference[] {
  const parsed = parseReference(input);
  if (!isShortName(input.split('@')[0]!) || !conf.searchRegistries.length) return [parsed];
  const path = parsed.domain === DEFAULT_DOMAIN && parsed.path.startsWith('library/') && !input.startsWith('library/') ? parsed.path.slice('library/'.length) : parsed.path;
  return conf.searchRegistries.map((domain) => ({
    ...parsed,
    domain,
    path: domain === DEFAULT_DOMAIN && !path.includes('/') ? `library/${path}` : path,
  }));
}
