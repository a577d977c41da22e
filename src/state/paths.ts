import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from '../rootless/identity.js';
import { EngineError } from '../util/errors.js';

/** Where one user's rootlet keeps its data (persistent) and runtime state (tmpfs, per boot). */
export interface Paths {
  dataDir: string;
  runDir: string;
  configFile: string;
  db: string;
  blobs: string;
  layers: string;
  containers: string;
  volumes: string;
  tmp: string;
  runcRoot: string;
  /** conmon writes a container's exit code here, in a file named by its id. */
  exits: string;
  /** conmon's attach sockets. */
  sockets: string;
}

/**
 * ROOTLET_ROOT and ROOTLET_RUNROOT (the global flags --root and --runroot
 * set them) come before the config's storage root (or storage.conf's
 * graphroot) and the XDG defaults; `runRoot` is storage.conf's runroot.
 */
export function resolvePaths(id: Identity, env: NodeJS.ProcessEnv = process.env, storageRoot?: string, runRoot?: string): Paths {
  const isRoot = id.uid === 0;
  const dataDir = (env.ROOTLET_ROOT || undefined) ?? storageRoot
    ?? (env.XDG_DATA_HOME ? join(env.XDG_DATA_HOME, 'rootlet')
      : isRoot ? '/var/lib/rootlet' : join(id.home, '.local/share/rootlet'));
  const configHome = env.XDG_CONFIG_HOME || (isRoot ? '/etc' : join(id.home, '.config'));
  const runDir = (env.ROOTLET_RUNROOT || undefined) ?? runRoot ?? join(runtimeBase(id, env), 'rootlet');
  return {
    dataDir,
    runDir,
    configFile: join(configHome, 'rootlet', 'rootlet.toml'),
    db: join(dataDir, 'state.db'),
    blobs: join(dataDir, 'blobs', 'sha256'),
    layers: join(dataDir, 'layers'),
    containers: join(dataDir, 'containers'),
    volumes: join(dataDir, 'volumes'),
    tmp: join(dataDir, 'tmp'),
    runcRoot: join(runDir, 'runc'),
    exits: join(runDir, 'exits'),
    sockets: join(runDir, 'sockets'),
  };
}

/**
 * XDG_RUNTIME_DIR when set; else /run/user/UID when it is ours (a login
 * without pam_systemd); else a private directory in /tmp, as Podman does.
 */
function runtimeBase(id: Identity, env: NodeJS.ProcessEnv): string {
  if (env.XDG_RUNTIME_DIR) return env.XDG_RUNTIME_DIR;
  if (id.uid === 0) return '/run';
  const userRun = `/run/user/${id.uid}`;
  try {
    if (statSync(userRun).uid === id.uid) return userRun;
  } catch { /* absent */ }
  return `/tmp/rootlet-run-${id.uid}`;
}

/** Creates the store's directories, owner-only, and refuses a runtime directory someone else owns. */
export function ensureDirs(paths: Paths, id: Identity): void {
  // For root the namespace's root (a subordinate id) must get through the store's parents.
  if (id.uid === 0) mkdirSync(paths.dataDir, { recursive: true, mode: 0o711 });
  for (const dir of [paths.dataDir, paths.blobs, paths.layers, paths.containers, paths.volumes, paths.tmp, paths.runDir, paths.runcRoot, paths.exits, paths.sockets]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const st = statSync(paths.runDir);
  // Inside the user's namespace (conmon's exit hook) the user's files show as root's.
  if (st.uid !== id.uid && st.uid !== process.getuid!()) {
    throw new EngineError(`runtime directory ${paths.runDir} belongs to uid ${st.uid}, not you (uid ${id.uid}): set XDG_RUNTIME_DIR to a directory you own`);
  }
}
