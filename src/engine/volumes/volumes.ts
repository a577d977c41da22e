import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sumFileSizes } from '../containers/size.js';
import { ContainerStore } from '../containers/store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { randomHex } from '../../util/random.js';

/**
 * Named and anonymous volumes: a directory each under the store's
 * volumes/, the container's files in its `_data`, and beside it a small
 * JSON file with what `volume create` was given (labels, when). The file
 * lives and dies with the directory: removing a volume, a container's
 * anonymous volumes or the whole store needs no second place to tidy, and
 * `system recover` has nothing to rebuild. A volume made before the file
 * existed is still a volume: its time is the directory's, its labels none.
 */

const META = 'volume.json';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** The names rootlet gives anonymous volumes (a container id's shape). */
const ANONYMOUS_RE = /^[0-9a-f]{64}$/;

interface VolumeMeta {
  /** ms since the epoch */
  createdAt: number;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
}

export interface Volume {
  name: string;
  driver: 'local';
  /** The directory containers see (the volume's `_data`). */
  mountpoint: string;
  /** ms since the epoch */
  createdAt: number;
  labels: Record<string, string>;
  options: Record<string, string>;
  scope: 'local';
  /** Made by `-v /dst` (no name): `volume prune` removes these unless told `all`. */
  anonymous: boolean;
  /** The containers whose spec mounts it, running or not. */
  usedBy: Array<{ id: string; name: string }>;
}


function volumeDir(engine: Engine, name: string): string {
  return join(engine.paths.volumes, name);
}

export function checkVolumeName(name: string): void {
  if (!NAME_RE.test(name)) throw new EngineError(`invalid volume name "${name}": use [a-zA-Z0-9][a-zA-Z0-9_.-]`);
}

/**
 * Makes the volume unless it exists (Docker's `volume create` of an
 * existing name returns it); returns its name and `_data` directory. `-v name:/dst`
 * and `-v /dst` make theirs here too. Two rootlets making the same volume
 * at once: the one whose mkdir wins writes the description.
 */
export function ensureVolume(engine: Engine, req: { name?: string; labels?: Record<string, string>; options?: Record<string, string>; anonymous?: boolean } = {}): { name: string; data: string } {
  const name = req.name ?? randomHex(32);
  checkVolumeName(name);
  const options = req.options ?? {};
  const keys = Object.keys(options);
  if (keys.length) {
    throw new EngineError(`volume option "${keys[0]}" is not supported: rootlet's volumes are plain directories of the store, with no driver options`);
  }
  const dir = volumeDir(engine, name);
  const data = join(dir, '_data');
  let made = false;
  try {
    mkdirSync(dir, { mode: 0o700 });
    made = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // Owned by the namespace's root when the user is host root (mkdirForNs chowns; it is a no-op mkdir otherwise).
  engine.mkdirForNs(dir);
  if (!existsSync(data)) engine.mkdirForNs(data);
  if (made) {
    const meta: VolumeMeta = { createdAt: Date.now(), labels: req.labels ?? {}, options, anonymous: req.name === undefined || !!req.anonymous };
    const tmp = join(dir, `.${META}.${randomHex(4)}`);
    writeFileSync(tmp, `${JSON.stringify(meta)}\n`, { mode: 0o644 });
    renameSync(tmp, join(dir, META));
  }
  return { name, data };
}

function readMeta(dir: string, name: string): VolumeMeta {
  try {
    const m = JSON.parse(readFileSync(join(dir, META), 'utf8')) as Partial<VolumeMeta>;
    return { createdAt: m.createdAt ?? 0, labels: m.labels ?? {}, options: m.options ?? {}, anonymous: !!m.anonymous };
  } catch {
    let createdAt = 0;
    try { createdAt = Math.floor(statSync(dir).mtimeMs); } catch { /* removed meanwhile */ }
    return { createdAt, labels: {}, options: {}, anonymous: ANONYMOUS_RE.test(name) };
  }
}

/** Which containers mount which volume (by the volume's name). */
function usersByVolume(engine: Engine): Map<string, Array<{ id: string; name: string }>> {
  const out = new Map<string, Array<{ id: string; name: string }>>();
  for (const c of new ContainerStore(engine.db).list()) {
    for (const v of c.spec.volumes) {
      const list = out.get(v.name) ?? [];
      if (!list.some((u) => u.id === c.id)) list.push({ id: c.id, name: c.name });
      out.set(v.name, list);
    }
  }
  return out;
}

function describe(engine: Engine, name: string, users: Map<string, Array<{ id: string; name: string }>>): Volume {
  const dir = volumeDir(engine, name);
  const meta = readMeta(dir, name);
  return {
    name, driver: 'local', mountpoint: join(dir, '_data'), createdAt: meta.createdAt, labels: meta.labels, options: meta.options,
    scope: 'local', anonymous: meta.anonymous, usedBy: users.get(name) ?? [],
  };
}

/** Every volume of the store, by name. */
export function listVolumes(engine: Engine): Volume[] {
  let names: string[] = [];
  try {
    names = readdirSync(engine.paths.volumes).filter((n) => NAME_RE.test(n) && existsSync(join(engine.paths.volumes, n, '_data'))).sort();
  } catch { /* no volumes yet */ }
  const users = usersByVolume(engine);
  return names.map((n) => describe(engine, n, users));
}

export function findVolume(engine: Engine, name: string): Volume | undefined {
  if (!NAME_RE.test(name) || !existsSync(join(volumeDir(engine, name), '_data'))) return undefined;
  return describe(engine, name, usersByVolume(engine));
}

/**
 * Deletes a volume's directory: from the host when we may, else inside the
 * namespace (files a container made belong to subordinate ids).
 */
export function deleteVolume(engine: Engine, name: string): void {
  const dir = volumeDir(engine, name);
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    engine.ns().runChecked(['rm', '-rf', dir], `cannot remove volume ${name}`);
  }
}

/**
 * The bytes a volume's files hold (directories not counted, each inode
 * once, as containers' sizes are), read inside the namespace where every
 * file is readable; 0 when unknown.
 */
export async function volumeSize(engine: Engine, v: Volume): Promise<number> {
  const r = await engine.ns().runAsync(['find', v.mountpoint, '-xdev', '!', '-type', 'd', '-printf', '%i %s\\n']);
  return r.code === 0 ? sumFileSizes(r.stdout) : 0;
}
