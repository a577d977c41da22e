import { familiarName } from '../../image/reference.js';
import type { Engine } from '../engine.js';
import { imagePruneFilter } from './filter.js';
import { deleteUnusedImage } from './lifecycle.js';
import { imageEvent, recordEvent } from '../events/log.js';

export interface PruneResult {
  untagged: string[];
  deleted: string[];
  /** Bytes of layers deleted (uncompressed, as `images` counts them). */
  reclaimed: number;
}

/**
 * `image prune`: deletes the images no container uses, nameless ones only
 * unless `all`, that the filters (until=, label=, label!=) keep.
 */
export async function pruneImages(engine: Engine, opts: { all?: boolean; filters?: string[] } = {}): Promise<PruneResult> {
  const keep = imagePruneFilter(opts.filters ?? []);
  const out: PruneResult = { untagged: [], deleted: [], reclaimed: 0 };
  for (const img of engine.images.list()) {
    if (!opts.all && img.tags.length) continue;
    if (!keep(img) || engine.images.containersUsing(img.id).length) continue;
    for (const t of img.tags) {
      if (!engine.images.removeTag(t)) continue;
      out.untagged.push(familiarName(t));
      recordEvent(engine, imageEvent(img.id, 'untag', familiarName(t)));
    }
    const left = engine.images.get(img.id);
    // Another rootlet may have tagged it or made a container from it meanwhile.
    if (!left || left.tags.length || engine.images.containersUsing(img.id).length) continue;
    out.reclaimed += (await deleteUnusedImage(engine, left)).reclaimed;
    out.deleted.push(img.id);
  }
  return out;
}
