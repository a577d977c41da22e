import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { STACKS } from './networks/stack.js';
import { KNOWN_RUNTIMES } from '../runtime/runtime.js';
import { DRIVERS } from '../storage/rootfs.js';
import { parseChoice } from '../util/values.js';
import { EngineError, errorMessage } from '../util/errors.js';

/** The user's rootlet.toml (see docs/configuration.md). Every key is optional. */
export interface RootletConfig {
  storage: {
    /** Where images and containers live; point it at local disk when $HOME is on NFS. */
    root?: string;
    driver?: string;
    /** From storage.conf's runroot (docs/configuration.md): the runtime state's directory. */
    runRoot?: string;
  };
  engine: {
    runtime?: string;
    /** [engine.runtimes] NAME = "/path": more OCI runtimes, for --runtime NAME (e.g. a gVisor build of one's own). */
    runtimes?: Record<string, string>;
  };
  images: {
    /** Give files owned by ids outside the user's subordinate range to container root when pulling (else the pull fails). */
    remapOutsideIds?: boolean;
  };
  network: {
    /** pasta | slirp4netns: the user-mode stack of rootlet's networks (containers.conf's key). */
    defaultRootlessNetworkCmd?: string;
  };
  containers: {
    /** false: no session keyring of its own per container (the runtime's --no-new-keyring; containers.conf's key). */
    keyring?: boolean;
    /** From containers.conf (src/engine/containers-conf.ts): the defaults a create request starts from. */
    defaultCapabilities?: string[];
    env?: string[];
    dnsServers?: string[];
    dnsSearches?: string[];
    dnsOptions?: string[];
  };
}

type Section = keyof RootletConfig;

/** How a key's value is checked; `name` is "FILE: section.key", for the one-line refusal. */
type Check = (v: unknown, name: string) => unknown;

const string: Check = (v, name) => {
  if (typeof v !== 'string') throw new EngineError(`${name} must be a string`);
  return v;
};

const boolean: Check = (v, name) => {
  if (typeof v !== 'boolean') throw new EngineError(`${name} must be true or false`);
  return v;
};

const absolutePath: Check = (v, name) => {
  const s = string(v, name) as string;
  if (!isAbsolute(s)) throw new EngineError(`${name}: "${s}" is not an absolute path`);
  return s;
};

/** A table of runtime names to absolute paths of their binaries. */
const runtimeTable: Check = (v, name) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EngineError(`${name} must be a table of NAME = "/path/to/runtime"`);
  const out: Record<string, string> = {};
  for (const [k, p] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(k)) throw new EngineError(`${name}: "${k}" is not a runtime name (letters, digits, _ . -)`);
    out[k] = absolutePath(p, `${name}.${k}`) as string;
  }
  return out;
};

/** One of a fixed set: a value rootlet does not know is refused when the file is read, not when it is used. */
function oneOf(choices: readonly string[], what: string): Check {
  return (v, name) => parseChoice(string(v, name) as string, name, choices, what);
}

/**
 * Every key: its section, its name in the file, the field it sets, and its
 * check. A new key is one line here (and its field in RootletConfig).
 * Keys not listed are ignored, as they always were.
 */
const KEYS: Array<{ section: Section; key: string; field: string; check: Check }> = [
  { section: 'storage', key: 'root', field: 'root', check: absolutePath },
  { section: 'storage', key: 'driver', field: 'driver', check: oneOf(DRIVERS, 'a storage driver') },
  { section: 'engine', key: 'runtime', field: 'runtime', check: string },
  { section: 'engine', key: 'runtimes', field: 'runtimes', check: runtimeTable },
  { section: 'images', key: 'remap_outside_ids', field: 'remapOutsideIds', check: boolean },
  { section: 'network', key: 'default_rootless_network_cmd', field: 'defaultRootlessNetworkCmd', check: oneOf(STACKS, 'a network stack') },
  { section: 'containers', key: 'keyring', field: 'keyring', check: boolean },
];

export async function loadConfig(file: string): Promise<RootletConfig> {
  const config: RootletConfig = { storage: {}, engine: {}, images: {}, network: {}, containers: {} };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return config;
  }
  let parsed: Record<string, unknown>;
  try {
    // Loaded only when there is a file: most runs pay nothing for TOML.
    const { parse } = await import('smol-toml');
    parsed = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new EngineError(`${file}: ${errorMessage(err).split('\n')[0]}: fix the file or move it away`);
  }
  const section = (name: string): Record<string, unknown> => {
    const v = parsed[name];
    if (v === undefined) return {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EngineError(`${file}: [${name}] must be a table`);
    return v as Record<string, unknown>;
  };
  for (const k of KEYS) {
    const v = section(k.section)[k.key];
    if (v === undefined) continue;
    (config[k.section] as Record<string, unknown>)[k.field] = k.check(v, `${file}: ${k.section}.${k.key}`);
  }
  // A known runtime or one of the file's own: checked once both keys are read.
  const rt = config.engine.runtime;
  if (rt !== undefined && !Object.hasOwn(config.engine.runtimes ?? {}, rt)) {
    parseChoice(rt, `${file}: engine.runtime`, KNOWN_RUNTIMES, 'an OCI runtime');
  }
  return config;
}
