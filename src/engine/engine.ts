import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ImageStore } from '../image/store.js';
import { currentIdentity, type Identity } from '../rootless/identity.js';
import { readSubIds, type SubIds } from '../rootless/subid.js';
import { ensureUserNamespace, type UserNamespace } from '../rootless/userns.js';
import { getMeta, openDb, setMeta, type DB } from '../state/db.js';
import { parseDriver, probeDriver, type DriverName } from '../storage/rootfs.js';
import { loadConfig, type RootletConfig } from './config.js';
import { ensureDirs, resolvePaths, type Paths } from '../state/paths.js';
import { refuseLostDatabase } from './system/store-damage.js';
import { engineEnv } from './process-env.js';

let helperPath: string | undefined;
let cliPath: string | undefined;

/** Set by the CLI entry: the helper bundle (rootlet-helper.cjs) and the CLI (rootlet.cjs) lie beside it. */
export function setEntryPath(entry: string): void {
  helperPath = join(dirname(entry), 'rootlet-helper.cjs');
  cliPath = join(dirname(entry), 'rootlet.cjs');
}

/** A file shipped beside the CLI bundle (e.g. the port forwarder rootlet-portfwd). */
export function besideEntry(name: string): string {
  const path = join(dirname(cliPath ?? process.argv[1] ?? '.'), name);
  if (!existsSync(path)) throw new Error(`rootlet's ${name} is missing beside ${cliPath ?? 'rootlet.cjs'}: reinstall rootlet`);
  return path;
}

/** One user's engine: store, state database and namespace, shared by every front door. */
export class Engine {
  readonly images: ImageStore;
  private nsCache?: UserNamespace;
  private subidCache?: SubIds;

  private constructor(
    readonly id: Identity,
    readonly paths: Paths,
    readonly config: RootletConfig,
    readonly db: DB,
  ) {
    this.images = new ImageStore(db, paths);
  }

  /**
   * `fresh: 'allow'` takes a new database even where the store shows state
   * (system recover rebuilds into it; system reset deletes it all anyway).
   */
  static async open(opts: { fresh?: 'refuse' | 'allow' } = {}): Promise<Engine> {
    const { id, config, paths } = await Engine.locate();
    ensureDirs(paths, id);
    const db = openDb(paths.db, opts.fresh === 'allow' ? {} : { onFresh: (how) => refuseLostDatabase(paths, how) });
    return new Engine(id, paths, config, db);
  }

  /** Whose store, with which configuration, where: without opening anything. */
  static async locate(): Promise<{ id: Identity; config: RootletConfig; paths: Paths }> {
    const id = currentIdentity();
    const bootstrap = resolvePaths(id);
    const config = await loadConfig(bootstrap.configFile);
    // Podman's containers.conf and storage.conf fill what rootlet.toml leaves unset.
    const { readContainersConf, mergeIntoConfig } = await import('./containers-conf.js');
    const configHome = dirname(dirname(bootstrap.configFile));
    mergeIntoConfig(config, await readContainersConf(engineEnv(), configHome, id.uid === 0, join(bootstrap.runDir, 'containers-conf.json')));
    const paths = config.storage.root || config.storage.runRoot ? resolvePaths(id, engineEnv(), config.storage.root, config.storage.runRoot) : bootstrap;
    return { id, config, paths };
  }

  subIds(): SubIds {
    return (this.subidCache ??= readSubIds(this.id));
  }

  /** The user's namespace, (re)created on demand. */
  ns(): UserNamespace {
    if (!this.nsCache) {
      this.nsCache = ensureUserNamespace(this.db, this.id, this.subIds());
      if (this.id.uid === 0) this.chownStoreForRoot(this.nsCache);
    }
    return this.nsCache;
  }

  /**
   * Root's containers run as a subordinate id, never as host root, so the
   * store directories that the namespace writes must belong to that id.
   */
  private chownStoreForRoot(ns: UserNamespace): void {
    // The namespace's root must traverse (not read) the store and run directories.
    for (const d of [this.paths.dataDir, this.paths.runDir]) chmodSync(d, 0o711);
    for (const d of [this.paths.layers, this.paths.containers, this.paths.volumes, this.paths.tmp, this.paths.runcRoot, this.paths.exits, this.paths.sockets]) {
      chownSync(d, ns.rootHostUid, ns.rootHostGid);
    }
  }

  /** Makes a directory (or writes a file) that container root must own. */
  mkdirForNs(path: string, mode = 0o700): void {
    mkdirSync(path, { recursive: true, mode });
    if (this.id.uid === 0) chownSync(path, this.ns().rootHostUid, this.ns().rootHostGid);
  }

  writeFileForNs(path: string, data: string, mode = 0o644): void {
    writeFileSync(path, data, { mode });
    if (this.id.uid === 0) chownSync(path, this.ns().rootHostUid, this.ns().rootHostGid);
  }

  /** The storage driver: configured, or probed once per store and remembered. */
  storageDriver(): DriverName {
    if (this.config.storage.driver) return parseDriver(this.config.storage.driver);
    const known = getMeta(this.db, 'storage_driver');
    if (known) return parseDriver(known);
    const { driver } = probeDriver(this.ns(), join(this.paths.tmp, `probe-${process.pid}`));
    setMeta(this.db, 'storage_driver', driver);
    return driver;
  }

  /** Command line that runs rootlet's own helper (e.g. layer extraction) with node. */
  helperCommand(name: string, args: string[]): string[] {
    if (!helperPath || !existsSync(helperPath)) throw new Error(`rootlet's helper ${helperPath ?? 'rootlet-helper.cjs'} is missing: reinstall rootlet`);
    return [process.execPath, helperPath, name, ...args];
  }

  /** Command line of rootlet itself, for the exit hook conmon runs. */
  cliCommand(args: string[]): string[] {
    if (!cliPath || !existsSync(cliPath)) throw new Error(`rootlet's entry ${cliPath ?? 'rootlet.cjs'} is missing: reinstall rootlet`);
    return [process.execPath, cliPath, ...args];
  }

  /**
   * The environment of the process the engine runs in (the CLI's, or a
   * server's): the one that placed its store and that the helpers it starts
   * inherit. Never the caller's (that is CallerContext.env): the one place
   * inside the engine that reads process.env (through engineEnv).
   */
  hostEnv(): Readonly<NodeJS.ProcessEnv> {
    return engineEnv();
  }

  /** Environment for helpers: nothing that slows node's start (an extra CA bundle is read at every start). */
  helperEnv(): NodeJS.ProcessEnv {
    const env = { ...this.hostEnv() };
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.NODE_OPTIONS;
    return env;
  }

  close(): void {
    this.db.close();
  }
}
