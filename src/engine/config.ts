import { readFileSync } from 'node:fs';
import { EngineError, errorMessage } from './errors.js';

/** The user's rootlet.toml (see docs/configuration.md). Every key is optional. */
export interface RootletConfig {
  storage: {
    /** Where images and containers live; point it at local disk when $HOME is on NFS. */
    root?: string;
    driver?: string;
  };
  engine: {
    runtime?: string;
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
  };
}

export async function loadConfig(file: string): Promise<RootletConfig> {
  const empty: RootletConfig = { storage: {}, engine: {}, images: {}, network: {}, containers: {} };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return empty;
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
  const str = (table: Record<string, unknown>, key: string, where: string): string | undefined => {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new EngineError(`${file}: ${where}.${key} must be a string`);
    return v;
  };
  const bool = (table: Record<string, unknown>, key: string, where: string): boolean | undefined => {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new EngineError(`${file}: ${where}.${key} must be true or false`);
    return v;
  };
  const storage = section('storage');
  const engine = section('engine');
  const images = section('images');
  const network = section('network');
  const containers = section('containers');
  return {
    storage: { root: str(storage, 'root', 'storage'), driver: str(storage, 'driver', 'storage') },
    engine: { runtime: str(engine, 'runtime', 'engine') },
    images: { remapOutsideIds: bool(images, 'remap_outside_ids', 'images') },
    network: { defaultRootlessNetworkCmd: str(network, 'default_rootless_network_cmd', 'network') },
    containers: { keyring: bool(containers, 'keyring', 'containers') },
  };
}
