import type { Engine } from '../engine.js';
import { containerPruneFilter, pruneContainers } from '../containers/prune.js';
import { parseFilters } from '../containers/filter.js';
import { imagePruneFilter, parseUntil } from '../images/filter.js';
import { labelMatches } from '../networks/filter.js';
import { pruneImages, type PruneResult } from '../images/prune.js';
import { pruneNetworks } from '../networks/lifecycle.js';
import { VolumeService } from '../volumes/service.js';

export interface SystemPruneRequest {
  /** Images: every one no container uses, not only nameless ones. */
  all?: boolean;
  /** Anonymous volumes no container uses too. */
  volumes?: boolean;
  /** until=, label=, label!= (as each prune takes them; networks and volumes take the label ones). */
  filters?: string[];
  /** Asked once the filters were checked; no: nothing is removed. */
  confirm?: () => Promise<boolean>;
}

export interface SystemPruneResult {
  containers: string[];
  networks: string[];
  images: PruneResult;
  volumes: string[];
  /** Bytes: containers' writable layers, images' layers, volumes' files. */
  spaceReclaimed: number;
}

/**
 * `system prune`: stopped containers first (they hold networks, images
 * and volumes), then unused networks, images (nameless ones, or all
 * unused with `all`), and with `volumes` unused anonymous volumes, as
 * Docker does. Every filter is checked before anything is asked or removed.
 */
export async function systemPrune(engine: Engine, req: SystemPruneRequest): Promise<SystemPruneResult | undefined> {
  const filters = req.filters ?? [];
  const keepContainer = containerPruneFilter(filters);
  imagePruneFilter(filters);
  const by = parseFilters(filters, ['until', 'label', 'label!']);
  const labels = by.get('label') ?? [];
  const notLabels = by.get('label!') ?? [];
  const volumeFilters = [...labels.map((l) => `label=${l}`), ...notLabels.map((l) => `label!=${l}`)];
  if (req.confirm && !(await req.confirm())) return undefined;

  const c = await pruneContainers(engine, keepContainer);
  const until = (by.get('until') ?? []).map((v) => parseUntil(v));
  const networks = pruneNetworks(engine, labels, (n) => until.every((t) => n.created < t) && !notLabels.some((l) => labelMatches(n.labels, l)));
  const images = await pruneImages(engine, { all: req.all, filters });
  const volumes = req.volumes ? await new VolumeService(engine).prune({ filters: volumeFilters }) : undefined;
  return {
    containers: c.deleted,
    networks,
    images,
    volumes: volumes?.deleted ?? [],
    spaceReclaimed: c.spaceReclaimed + images.reclaimed + (volumes?.spaceReclaimed ?? 0),
  };
}
