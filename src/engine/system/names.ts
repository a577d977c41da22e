import type { Engine } from '../engine.js';
import { familiarName } from '../../image/reference.js';

export const NAME_KINDS = ['containers', 'images', 'networks', 'volumes'] as const;
export type NameKind = (typeof NAME_KINDS)[number];

/**
 * The names a shell completes (`rootlet __complete KIND`): read from the
 * database and the volumes directory only. Nothing is reconciled, asked of
 * a runtime or fetched, so a TAB costs one engine open.
 */
export async function completionNames(engine: Engine, kind: NameKind): Promise<string[]> {
  switch (kind) {
    case 'containers': {
      const { containerStore } = await import('../containers/state.js');
      return containerStore(engine).list().map((c) => c.name);
    }
    case 'images': {
      // NAME:latest is also offered as NAME, as a user types it.
      const names = engine.images.list().flatMap((i) => i.tags.map(familiarName));
      return [...new Set(names.flatMap((n) => (n.endsWith(':latest') ? [n.slice(0, -':latest'.length), n] : [n])))].sort();
    }
    case 'networks': {
      const { listNetworks } = await import('../networks/lifecycle.js');
      return listNetworks(engine).map((n) => n.name).sort();
    }
    case 'volumes': {
      const { listVolumes } = await import('../volumes/volumes.js');
      return listVolumes(engine).map((v) => v.name);
    }
  }
}
