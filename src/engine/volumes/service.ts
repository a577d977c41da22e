import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import type { Volume } from './volumes.js';
import { VolumeNotFoundError } from './not-found.js';

export type { Volume } from './volumes.js';
export { VolumeNotFoundError } from './not-found.js';

const LIST_KEYS = ['dangling', 'driver', 'label', 'name'];
const PRUNE_KEYS = ['label', 'label!', 'all'];

function isTrue(v: string, key: string): boolean {
  if (['true', '1'].includes(v)) return true;
  if (['false', '0'].includes(v)) return false;
  throw new EngineError(`invalid filter '${key}=${v}': use ${key}=true or ${key}=false`, 1);
}

/**
 * The volumes operations every front door calls (the CLI, compose, the API
 * server, pods): one method per operation, taking a name and a typed
 * request, returning plain data. The CLI formats what they return.
 */
export class VolumeService {
  constructor(private readonly engine: Engine) {}

  /**
   * `volume create`: a local volume (a directory of the store); without a
   * name, one is made up. An existing name is returned as it is, as Docker
   * does. Driver options are refused: there is no driver to give them to.
   */
  async create(req: { name?: string; labels?: Record<string, string>; options?: Record<string, string> } = {}): Promise<Volume> {
    const { ensureVolume, findVolume } = await import('./volumes.js');
    const { name } = ensureVolume(this.engine, { name: req.name, labels: req.labels, options: req.options });
    const created = findVolume(this.engine, name);
    if (!created) throw new EngineError(`volume ${name} was removed while it was being created`);
    return created;
  }

  /** `volume ls`: filters are Docker's KEY=VALUE: dangling, driver, label, name (a substring). */
  async list(req: { filters?: string[] } = {}): Promise<Volume[]> {
    const { parseFilters } = await import('../containers/filter.js');
    const { labelMatches } = await import('../networks/filter.js');
    const { listVolumes } = await import('./volumes.js');
    const by = parseFilters(req.filters ?? [], LIST_KEYS);
    const dangling = by.get('dangling')?.map((v) => isTrue(v, 'dangling'));
    return listVolumes(this.engine).filter((v) => (!dangling || dangling.some((d) => d === !v.usedBy.length))
      && (by.get('driver') ?? ['local']).some((d) => d === v.driver)
      && (by.get('label') ?? []).every((l) => labelMatches(v.labels, l))
      && (!by.has('name') || by.get('name')!.some((n) => v.name.includes(n))));
  }

  /** `volume inspect`: VolumeNotFoundError when there is none of that name. */
  async inspect(name: string): Promise<Volume> {
    const { findVolume } = await import('./volumes.js');
    const v = findVolume(this.engine, name);
    if (!v) throw new VolumeNotFoundError(name);
    return v;
  }

  /**
   * `volume rm`: refused while a container (running or not) mounts it,
   * also with `force` (as Docker: a container's files are never deleted
   * under it); `force` makes a name that does not exist no error.
   * `removed` says whether there was one.
   */
  async remove(name: string, req: { force?: boolean } = {}): Promise<{ removed: boolean }> {
    const { deleteVolume, findVolume } = await import('./volumes.js');
    const v = findVolume(this.engine, name);
    if (!v) {
      if (req.force) return { removed: false };
      throw new VolumeNotFoundError(name);
    }
    if (v.usedBy.length) {
      const many = v.usedBy.length > 1;
      throw new EngineError(`volume ${name} is in use by container${many ? 's' : ''} ${v.usedBy.map((c) => c.name).join(', ')}: remove ${many ? 'them' : 'it'} first`);
    }
    deleteVolume(this.engine, name);
    return { removed: true };
  }

  /**
   * `volume prune`: removes the volumes no container mounts. As Docker
   * does since API 1.42, only anonymous ones unless the filter all=true;
   * label= and label!= narrow it. Returns their names and the bytes freed;
   * nothing (and nothing removed) when `confirm`, asked after the filters
   * were checked, says no.
   */
  async prune(req: { filters?: string[]; confirm?: () => Promise<boolean> } = {}): Promise<{ deleted: string[]; spaceReclaimed: number } | undefined> {
    const { parseFilters } = await import('../containers/filter.js');
    const { labelMatches } = await import('../networks/filter.js');
    const { deleteVolume, findVolume, listVolumes, volumeSize } = await import('./volumes.js');
    const by = parseFilters(req.filters ?? [], PRUNE_KEYS);
    const all = (by.get('all') ?? []).some((v) => isTrue(v, 'all'));
    if (req.confirm && !(await req.confirm())) return undefined;
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const v of listVolumes(this.engine)) {
      if (v.usedBy.length || (!all && !v.anonymous)) continue;
      if (!(by.get('label') ?? []).every((l) => labelMatches(v.labels, l))) continue;
      if ((by.get('label!') ?? []).some((l) => labelMatches(v.labels, l))) continue;
      const size = await volumeSize(this.engine, v);
      // A container may have taken it meanwhile.
      if (findVolume(this.engine, v.name)?.usedBy.length) continue;
      deleteVolume(this.engine, v.name);
      deleted.push(v.name);
      spaceReclaimed += size;
    }
    return { deleted, spaceReclaimed };
  }

  /** The bytes a volume's files take (for `system df`). */
  async size(v: Volume): Promise<number> {
    const { volumeSize } = await import('./volumes.js');
    return volumeSize(this.engine, v);
  }
}
