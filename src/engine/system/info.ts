import { arch, availableParallelism, hostname, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { chooseRuntime, cgroupLayout } from '../../runtime/runtime.js';
import { findInPath, runCapture } from '../../util/proc.js';
import { containerStore, refreshStates } from '../containers/state.js';
import { isRunning } from '../containers/running.js';
import type { Engine } from '../engine.js';
import { errorMessage } from '../../util/errors.js';
import { VERSION } from '../../util/version.js';
import { chooseStack, STACKS } from '../networks/stack.js';
import { NetworkStore } from '../networks/store.js';
import { DEFAULT_NETWORK } from '../networks/defaults.js';

export interface EngineInfo {
  version: string;
  host: { kernel: string; os: string; arch: string; cgroups: string; user: string; uid: number; hostname: string; cpus: number; memTotal: number };
  runtime: { name?: string; path?: string; version?: string; error?: string };
  storage: { driver: string; root: string; runRoot: string; images: number; containers: number; containersRunning: number };
  network: { default: string; stack: string; available: string[]; networks: number };
  idMappings: { uids: Array<{ container: number; host: number; size: number }>; gids: Array<{ container: number; host: number; size: number }> };
  paths: { config: string; database: string; namespaceHolderPid?: number };
}

export { VERSION };

/** The user-mode stack rootlet's networks use here, and why. */
function stack(engine: Engine): string {
  try {
    const s = chooseStack(engine.config.network.defaultRootlessNetworkCmd);
    return `${s} (${engine.config.network.defaultRootlessNetworkCmd ? 'configured' : 'installed'}; one per network, shared by its containers)`;
  } catch (err) {
    return `unavailable: ${errorMessage(err)}`;
  }
}

function osName(): string {
  try {
    return /PRETTY_NAME="?([^"\n]*)/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'linux';
  } catch {
    return 'linux';
  }
}

export function engineInfo(engine: Engine): EngineInfo {
  const runtime: EngineInfo['runtime'] = {};
  try {
    const rt = chooseRuntime(engine.config.engine.runtime, cgroupLayout(), engine.config.engine.runtimes);
    runtime.name = rt.name;
    runtime.path = rt.path;
    runtime.version = runCapture(rt.path, ['--version']).stdout.split('\n')[0];
  } catch (err) {
    runtime.error = errorMessage(err);
  }
  let uids: EngineInfo['idMappings']['uids'] = [];
  let gids: EngineInfo['idMappings']['gids'] = [];
  let holder: number | undefined;
  let driver = 'unknown';
  try {
    const ns = engine.ns();
    holder = ns.pid;
    uids = ns.uidMap.map((e) => ({ container: e.inside, host: e.outside, size: e.count }));
    gids = ns.gidMap.map((e) => ({ container: e.inside, host: e.outside, size: e.count }));
    driver = engine.storageDriver();
  } catch (err) {
    driver = `unavailable: ${errorMessage(err)}`;
  }
  const containers = refreshStates(engine, containerStore(engine).list());
  return {
    version: VERSION,
    host: {
      kernel: release(), os: osName(), arch: arch(), cgroups: cgroupLayout(), user: engine.id.name, uid: engine.id.uid,
      hostname: hostname(), cpus: availableParallelism(), memTotal: totalmem(),
    },
    runtime,
    storage: {
      driver,
      root: engine.paths.dataDir,
      runRoot: engine.paths.runDir,
      images: engine.images.list().length,
      containers: containers.length,
      containersRunning: containers.filter((c) => isRunning(engine, c)).length,
    },
    network: {
      default: DEFAULT_NETWORK,
      stack: stack(engine),
      available: [DEFAULT_NETWORK, 'NAME (network create)', ...STACKS.filter((t) => findInPath(t)), 'none', 'host', 'container:NAME'],
      networks: new NetworkStore(engine.db).list().length,
    },
    idMappings: { uids, gids },
    paths: { config: engine.paths.configFile, database: engine.paths.db, namespaceHolderPid: holder },
  };
}
