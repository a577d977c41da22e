import type { ImageRecord } from '../../image/store.js';
import type { Engine } from '../engine.js';

export interface HistoryEntry {
  /** The image's id on the newest entry; older ones have no image of their own ("<missing>"). */
  id: string;
  /** ms since the epoch, or undefined when the config does not say. */
  created: number | undefined;
  createdBy: string;
  /** Bytes the step added: its layer's uncompressed size, 0 for a step without a layer. */
  size: number;
  comment: string;
}

/**
 * `history`: the config's history, newest first, each step that made a
 * layer paired with that layer (in order) for its size. Layers the history
 * does not account for get rows of their own, as Docker shows them.
 */
export function imageHistory(engine: Engine, img: ImageRecord): HistoryEntry[] {
  const sizes = engine.images.layerSizes(img.layers);
  let layer = 0;
  const rows: Array<Omit<HistoryEntry, 'id'>> = [];
  for (const h of img.config.history ?? []) {
    const t = h.created ? Date.parse(h.created) : NaN;
    const size = h.empty_layer ? 0 : sizes[layer++] ?? 0;
    rows.push({ created: Number.isNaN(t) ? undefined : t, createdBy: h.created_by ?? '', size, comment: h.comment ?? '' });
  }
  for (; layer < sizes.length; layer++) rows.push({ created: undefined, createdBy: '', size: sizes[layer]!, comment: '' });
  return rows.reverse().map((r, i) => ({ id: i === 0 ? img.id : '<missing>', ...r }));
}
