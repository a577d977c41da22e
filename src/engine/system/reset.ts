import { rmSync } from 'node:fs';
import { stopUserNamespace } from '../../rootless/userns.js';
import { shq } from '../../storage/rootfs.js';
import { removeContainer } from '../containers/remove.js';
import { containerStore } from '../containers/state.js';
import type { Engine } from '../engine.js';
import { resetNetworking } from '../networks/endpoints.js';
import { stopNetworkingByPath } from '../networks/strays.js';

/** `system reset`: every container removed (killed if running), the store deleted, the namespace stopped. */
export function resetStore(engine: Engine): void {
  const store = containerStore(engine);
  let containers: ReturnType<typeof store.list> = [];
  // A damaged database must not keep reset from deleting the store: its records go with it.
  try { containers = store.list(); } catch { /* nothing to stop by record */ }
  for (const c of containers) {
    try { removeContainer(engine, c, { force: true, volumes: true }); } catch { /* the store goes below anyway */ }
  }
  try { resetNetworking(engine); } catch { /* the holder goes below, and its namespaces with it */ }
  // Stacks the database does not name (lost or damaged, or rebuilt by recover) hold their namespaces themselves.
  stopNetworkingByPath(engine);
  // Files owned by subordinate ids can only be deleted from inside the namespace.
  const { dataDir, runDir } = engine.paths;
  try {
    engine.ns().run(['sh', '-c', `rm -rf ${shq(dataDir)}/layers ${shq(dataDir)}/containers ${shq(dataDir)}/volumes ${shq(dataDir)}/tmp ${shq(dataDir)}/build-cache-mounts ${shq(runDir)}/runc`]);
  } catch { /* no namespace possible: delete what we can */ }
  try { stopUserNamespace(engine.db); } catch { /* a damaged database: the holder's mark stops it at the next start */ }
  try { engine.close(); } catch { /* closing a damaged database */ }
  // Retried: the exit hooks of the containers just killed may still be writing their exit files there
  // (seen with ~60 running containers: rmdir's ENOTEMPTY), and are gone within moments.
  rmSync(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
  rmSync(runDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
}
