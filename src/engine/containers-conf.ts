import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { normalizeCap } from '../runtime/capabilities.js';
import { KNOWN_RUNTIMES } from '../runtime/runtime.js';
import { EngineError, errorMessage } from '../util/errors.js';
import { STACKS } from './networks/stack.js';
import type { RootletConfig } from './config.js';

/**
 * The keys of Podman's containers.conf and storage.conf that mean the same
 * for rootlet, read from the files a user already has, so a setup made for
 * Podman carries over. rootlet.toml, where it sets the same thing, wins;
 * a command's flags win over both (docs/configuration.md). Other keys are
 * Podman's own and ignored.
 *
 * containers.conf: /usr/share/containers, then /etc/containers, then
 * $XDG_CONFIG_HOME/containers (each later file overrides key by key), or
 * only $CONTAINERS_CONF when set, as Podman reads them. storage.conf: the
 * user's own ($XDG_CONFIG_HOME/containers/storage.conf), as rootless Podman
 * reads it; root's store is not moved by the system's file.
 */

export interface ContainersConf {
  defaultCapabilities?: string[];
  env?: string[];
  dnsServers?: string[];
  dnsSearches?: string[];
  dnsOptions?: string[];
  keyring?: boolean;
  runtime?: string;
  defaultRootlessNetworkCmd?: string;
  /** From storage.conf: rootlet keeps its store in `rootlet/` under them (Podman's own layout stays apart). */
  graphRoot?: string;
  runRoot?: string;
}

export function containersConfFiles(env: NodeJS.ProcessEnv, configHome: string): string[] {
  if (env.CONTAINERS_CONF) return [env.CONTAINERS_CONF];
  return [...new Set(['/usr/share/containers/containers.conf', '/etc/containers/containers.conf', join(configHome, 'containers/containers.conf')])];
}

type Table = Record<string, unknown>;

function table(v: unknown): Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Table) : {};
}

function strings(v: unknown, name: string): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new EngineError(`${name} must be a list of strings`);
  return v as string[];
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string') throw new EngineError(`${name} must be a string`);
  return v;
}

/** Comments dropped before parsing: the shipped files are mostly comments, and parsing them at every start would cost. */
function uncommented(text: string): string {
  return text.split('\n').filter((l) => !/^\s*(#|$)/.test(l)).join('\n');
}

async function parseFile(file: string): Promise<Table | undefined> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const body = uncommented(text);
  if (!body.trim()) return {};
  try {
    const { parse } = await import('smol-toml');
    return parse(body) as Table;
  } catch (err) {
    throw new EngineError(`${file}: ${errorMessage(err).split('\n')[0]}: fix the file or move it away`);
  }
}

/** containers.conf's keys, one file at a time over the previous ones. */
function fromContainersConf(parsed: Table, file: string, into: ContainersConf): void {
  const c = table(parsed.containers);
  const n = table(parsed.network);
  const e = table(parsed.engine);
  const at = (section: string, key: string) => `${file}: ${section}.${key}`;
  if (c.default_capabilities !== undefined) {
    into.defaultCapabilities = strings(c.default_capabilities, at('containers', 'default_capabilities')).map((cap) => normalizeCap(cap, `${at('containers', 'default_capabilities')} entry`));
  }
  if (c.env !== undefined) {
    into.env = strings(c.env, at('containers', 'env'));
    for (const kv of into.env) if (!/^[^=]+=/.test(kv)) throw new EngineError(`${at('containers', 'env')}: "${kv}" is not KEY=VALUE`);
  }
  if (c.dns_servers !== undefined) into.dnsServers = strings(c.dns_servers, at('containers', 'dns_servers'));
  if (c.dns_searches !== undefined) into.dnsSearches = strings(c.dns_searches, at('containers', 'dns_searches'));
  if (c.dns_options !== undefined) into.dnsOptions = strings(c.dns_options, at('containers', 'dns_options'));
  if (c.keyring !== undefined) {
    if (typeof c.keyring !== 'boolean') throw new EngineError(`${at('containers', 'keyring')} must be true or false`);
    into.keyring = c.keyring;
  }
  // Podman's runtime by name, when it is one rootlet drives (others are entries of Podman's own runtimes table).
  if (e.runtime !== undefined) {
    const rt = str(e.runtime, at('engine', 'runtime'));
    if ((KNOWN_RUNTIMES as readonly string[]).includes(rt)) into.runtime = rt;
  }
  if (n.default_rootless_network_cmd !== undefined) {
    const cmd = str(n.default_rootless_network_cmd, at('network', 'default_rootless_network_cmd'));
    if (!(STACKS as readonly string[]).includes(cmd)) throw new EngineError(`${at('network', 'default_rootless_network_cmd')}: "${cmd}" is not a network stack rootlet drives (${STACKS.join(', ')})`);
    into.defaultRootlessNetworkCmd = cmd;
  }
}

function fromStorageConf(parsed: Table, file: string, into: ContainersConf): void {
  const s = table(parsed.storage);
  for (const [key, field] of [['graphroot', 'graphRoot'], ['runroot', 'runRoot']] as const) {
    if (s[key] === undefined) continue;
    const v = str(s[key], `${file}: storage.${key}`);
    if (!isAbsolute(v)) throw new EngineError(`${file}: storage.${key}: "${v}" is not an absolute path`);
    into[field] = v;
  }
}

interface Cached { stamp: string; conf: ContainersConf }

/** The files' paths, sizes and times: the cache is good while they are unchanged. */
function stampOf(files: string[]): string {
  return files.map((f) => {
    try {
      const st = statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    } catch {
      return `${f}:-`;
    }
  }).join('|');
}

/**
 * Reads the files (or their cached reading, kept in `cacheFile` while no
 * file changed: the shipped containers.conf exists on every host with
 * Podman's packages, and a start should not parse TOML for it).
 */
export async function readContainersConf(env: NodeJS.ProcessEnv, configHome: string, isRoot: boolean, cacheFile: string): Promise<ContainersConf> {
  const confFiles = containersConfFiles(env, configHome);
  const storageFile = isRoot ? undefined : join(configHome, 'containers/storage.conf');
  const all = [...confFiles, ...(storageFile ? [storageFile] : [])];
  const stamp = stampOf(all);
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as Cached;
    if (cached.stamp === stamp) return cached.conf;
  } catch { /* none yet, or unreadable: read the files */ }
  const conf: ContainersConf = {};
  for (const f of confFiles) {
    const parsed = await parseFile(f);
    if (parsed) fromContainersConf(parsed, f, conf);
  }
  if (storageFile) {
    const parsed = await parseFile(storageFile);
    if (parsed) fromStorageConf(parsed, storageFile, conf);
  }
  try {
    mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
    const tmp = `${cacheFile}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ stamp, conf } satisfies Cached), { mode: 0o600 });
    renameSync(tmp, cacheFile);
  } catch { /* no writable runtime directory: read the files next time too */ }
  return conf;
}

/** Fills what rootlet.toml left unset (rootlet.toml wins). */
export function mergeIntoConfig(config: RootletConfig, conf: ContainersConf): void {
  config.containers.keyring ??= conf.keyring;
  config.engine.runtime ??= conf.runtime;
  config.network.defaultRootlessNetworkCmd ??= conf.defaultRootlessNetworkCmd;
  config.containers.defaultCapabilities ??= conf.defaultCapabilities;
  config.containers.env ??= conf.env;
  config.containers.dnsServers ??= conf.dnsServers;
  config.containers.dnsSearches ??= conf.dnsSearches;
  config.containers.dnsOptions ??= conf.dnsOptions;
  if (!config.storage.root && conf.graphRoot) config.storage.root = join(conf.graphRoot, 'rootlet');
  config.storage.runRoot ??= conf.runRoot ? join(conf.runRoot, 'rootlet') : undefined;
}
