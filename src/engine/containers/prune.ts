import type { Engine } from '../engine.js';
import { parseFilters } from './filter.js';
import { labelMatches } from '../networks/filter.js';
import { parseUntil } from '../images/filter.js';
import { removeContainer } from './remove.js';
import { containerSize } from './size.js';
import { isRunning } from './running.js';
import { containerStore, refreshStates } from './state.js';

const PRUNE_KEYS = ['until', 'label', 'label!'];

/**
 * Checks `container prune`'s filters (until=, label=, label!=) and returns
 * the test they make, so a bad one is refused before anything is asked or
 * removed.
 */
export function containerPruneFilter(filters: string[], now = Date.now()): (c: { created: number; labels: Record<string, string> }) => boolean {
  const by = parseFilters(filters, PRUNE_KEYS);
  const until = (by.get('until') ?? []).map((v) => parseUntil(v, now));
  const labels = by.get('label') ?? [];
  const notLabels = by.get('label!') ?? [];
  return (c) => until.every((t) => c.created < t)
    && labels.every((l) => labelMatches(c.labels, l))
    && notLabels.every((l) => !labelMatches(c.labels, l));
}

/**
 * `container prune`: removes every container that is not running (created,
 * exited) that the filter keeps, as Docker does; paused and restarting ones
 * stay. Returns the ids and the bytes their writable layers held.
 */
export async function pruneContainers(engine: Engine, keep: (c: { created: number; labels: Record<string, string> }) => boolean): Promise<{ deleted: string[]; spaceReclaimed: number }> {
  const deleted: string[] = [];
  let spaceReclaimed = 0;
  for (const rec of refreshStates(engine, containerStore(engine).list())) {
    const phase = rec.phase ?? rec.state;
    if (phase !== 'created' && phase !== 'exited') continue;
    if (isRunning(engine, rec) || !keep({ created: rec.created, labels: rec.spec.labels })) continue;
    // A pod's infra goes with its pod (pod rm), as Podman's: pruned alone, the pod could not start again.
    if (rec.spec.labels['io.rootlet.infra'] === 'true' && rec.spec.labels['io.rootlet.pod']) continue;
    const { rw } = await containerSize(engine, rec);
    // Started meanwhile by another rootlet: removeContainer refuses a running one without force.
    try {
      removeContainer(engine, rec, { force: false, volumes: false });
    } catch {
      continue;
    }
    deleted.push(rec.id);
    spaceReclaimed += rw;
  }
  return { deleted, spaceReclaimed };
}
