import { closeSync, createReadStream, existsSync, openSync, readSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { ImageConfig, Manifest } from '../../image/oci.js';
import { familiarName } from '../../image/reference.js';
import { readTagsFile } from '../../image/store.js';
import { isZstd, zstdDecompressor } from '../../image/zstd.js';
import { adoptHolder } from '../../rootless/userns.js';
import { checkIntegrity, openDb } from '../../state/db.js';
import { isProcessAlive, processStartTime } from '../../util/proc.js';
import { hasRuntimeState, runtimeCommand } from '../containers/bundle.js';
import { containerDir } from '../containers/paths.js';
import { readExitFile } from '../containers/running.js';
import { ContainerStore, readRecordFile, type ContainerState } from '../containers/store.js';
import type { Engine } from '../engine.js';
import { errorMessage } from '../../util/errors.js';
import { listNetworks } from '../networks/lifecycle.js';
import { stopStrayNetworking } from '../networks/strays.js';
import { DEFAULT_ALIASES, DEFAULT_NETWORK } from '../networks/defaults.js';

/**
 * `system recover`: a state database that is lost (missing, emptied) or
 * damaged is moved aside, never deleted, and a new one is rebuilt from
 * what the store keeps on disk:
 * - images from the manifest and config blobs, when every layer blob and
 *   extracted layer is there; their names from repositories.json;
 * - containers from the record file each container directory keeps
 *   (containers/store.ts), their run state from the runtime, conmon's pid
 *   file and the exit files;
 * - the namespace holder that still runs, so running containers stay in
 *   their namespace.
 * Named networks live only in the database: they are reported, not guessed.
 * The network stacks the old database named are found by their namespace
 * files and stopped unless a restored running container still uses them
 * (networks/strays.ts): nothing would ever stop them otherwise.
 */

export type DatabaseVerdict = { state: 'sound' | 'missing' | 'empty' } | { state: 'damaged'; why: string };

/** What the database file is, without changing it. */
export function databaseVerdict(file: string): DatabaseVerdict {
  if (!existsSync(file)) return { state: 'missing' };
  const fresh = new Error('fresh');
  let db;
  try {
    db = openDb(file, { onFresh: () => { throw fresh; } });
  } catch (err) {
    if (err === fresh) return { state: 'empty' };
    return { state: 'damaged', why: errorMessage((err as { cause?: unknown }).cause ?? err) };
  }
  try {
    const why = checkIntegrity(db);
    return why ? { state: 'damaged', why } : { state: 'sound' };
  } finally {
    db.close();
  }
}

/** Renames the database and its WAL files to NAME.damaged-TIME[-wal|-shm]; returns the new names. */
export function moveDatabaseAside(file: string): string[] {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const moved: string[] = [];
  for (const suffix of ['', '-wal', '-shm']) {
    if (!existsSync(file + suffix)) continue;
    const dest = `${file}.damaged-${stamp}${suffix}`;
    renameSync(file + suffix, dest);
    moved.push(dest);
  }
  return moved;
}

export interface RecoverReport {
  restored: string[];
  notRestored: string[];
}

const HEX = /^[0-9a-f]{64}$/;

/** Rebuilds the records of a fresh database from the store. */
export async function rebuildState(engine: Engine): Promise<RecoverReport> {
  const report: RecoverReport = { restored: [], notRestored: [] };
  const holder = adoptHolder(engine.db);
  if (holder) report.restored.push(`the user namespace (holder pid ${holder})`);
  await rebuildImages(engine, report);
  rebuildContainers(engine, report);
  const running = new ContainerStore(engine.db).list().filter((c) => c.state === 'running').map((c) => c.id);
  stopStrayNetworking(engine, running);
  return report;
}

function readJson<T>(path: string): T | undefined {
  try { return JSON.parse(readFileSync(path, 'utf8')) as T; } catch { return undefined; }
}

function isManifest(m: unknown): m is Manifest {
  const o = m as Partial<Manifest> | undefined;
  return !!o && typeof o === 'object' && typeof o.config?.digest === 'string' && Array.isArray(o.layers);
}

/** The size and digest of a layer blob's tar (decompressed when gzip or zstd). */
async function tarOf(path: string): Promise<{ size: number; digest: string }> {
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try { readSync(fd, head, 0, 4, 0); } finally { closeSync(fd); }
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  const zst = isZstd(head);
  const h = createHash('sha256');
  let size = 0;
  const src = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gz ? src.pipe(createGunzip()) : zst ? src.pipe(zstdDecompressor()) : src;
  for await (const c of stream) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { size, digest: `sha256:${h.digest('hex')}` };
}

async function rebuildImages(engine: Engine, report: RecoverReport): Promise<void> {
  const store = engine.images;
  const names = readTagsFile(engine.paths);
  // Each config blob named by a manifest is an image; the manifest it was recorded with is preferred.
  const manifests = new Map<string, { digest: string; manifest: Manifest; mtime: number }>();
  for (const hex of readdirSync(engine.paths.blobs).filter((n) => HEX.test(n))) {
    const path = join(engine.paths.blobs, hex);
    const st = statSync(path);
    if (st.size > 4 << 20) continue;
    const m = readJson<unknown>(path);
    if (!isManifest(m)) continue;
    const digest = `sha256:${hex}`;
    const id = m.config.digest;
    if (!manifests.has(id) || names.manifests[id] === digest) manifests.set(id, { digest, manifest: m, mtime: st.mtimeMs });
  }
  for (const [id, { digest, manifest, mtime }] of manifests) {
    const short = id.slice(7, 19);
    const config = readJson<ImageConfig>(store.blobPath(id));
    if (!config) { report.notRestored.push(`image ${short}: its config blob is missing or unreadable`); continue; }
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) { report.notRestored.push(`image ${short}: its manifest and config disagree on its layers`); continue; }
    const lacking = manifest.layers.filter((l, i) => !store.hasBlob(l.digest) || !existsSync(store.layerPath(diffIds[i]!)));
    if (lacking.length) { report.notRestored.push(`image ${short}: layer ${lacking[0]!.digest} is not in the store (pull it again)`); continue; }
    const layers: Array<{ diffId: string; size: number }> = [];
    let bad: string | undefined;
    for (const [i, l] of manifest.layers.entries()) {
      const tar = await tarOf(store.blobPath(l.digest));
      if (tar.digest !== diffIds[i]) { bad = `layer blob ${l.digest} does not unpack to ${diffIds[i]}`; break; }
      store.recordLayerBlob(l.digest, diffIds[i]!, statSync(store.blobPath(l.digest)).size, tar.size);
      layers.push({ diffId: diffIds[i]!, size: tar.size });
    }
    if (bad) { report.notRestored.push(`image ${short}: ${bad}`); continue; }
    const tags = Object.entries(names.tags).filter(([, img]) => img === id).map(([name]) => name);
    store.add({ id, manifestDigest: digest, config, layers, created: Math.round(mtime) }, tags);
    report.restored.push(`image ${tags.map(familiarName).join(', ') || '<none>'} (${short})`);
  }
}

/** What the runtime says of a container: its status and main pid, or undefined when it has no state. */
function runtimeState(engine: Engine, rec: Parameters<typeof runtimeCommand>[1]): { status: string; pid?: number; created?: number } | undefined {
  if (!hasRuntimeState(engine, rec)) return undefined;
  const r = engine.ns().run(runtimeCommand(engine, rec, 'state', rec.id));
  if (r.code !== 0) return undefined;
  try {
    const s = JSON.parse(r.stdout) as { status?: string; pid?: number; created?: string };
    const created = s.created ? Date.parse(s.created) : NaN;
    return s.status ? { status: s.status, pid: s.pid, created: Number.isFinite(created) ? created : undefined } : undefined;
  } catch {
    return undefined;
  }
}

/** A detached container's conmon (from its pid file) and the run token its exit hook carries. */
function monitorOf(dir: string, id: string): { pid: number; start?: number; token?: string } | undefined {
  let pid: number;
  try { pid = Number(readFileSync(join(dir, 'conmon.pid'), 'utf8').trim()); } catch { return undefined; }
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return undefined;
  let args: string[];
  try { args = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0'); } catch { return undefined; }
  // A pid reused by another process is not this container's monitor.
  if (!args.includes(id)) return undefined;
  const hookArgs = args.flatMap((a, i) => (args[i - 1] === '--exit-command-arg' ? [a] : []));
  const at = hookArgs.indexOf(id);
  return { pid, start: processStartTime(pid), token: at >= 0 ? hookArgs[at + 1] : undefined };
}

function rebuildContainers(engine: Engine, report: RecoverReport): void {
  const store = new ContainerStore(engine.db);
  let networks: Set<string> | undefined;
  const known = (name: string): boolean => {
    networks ??= new Set(listNetworks(engine).flatMap((n) => [n.name, n.id]));
    return name === DEFAULT_NETWORK || DEFAULT_ALIASES.has(name) || networks.has(name);
  };
  for (const id of readdirSync(engine.paths.containers).filter((n) => HEX.test(n))) {
    const dir = containerDir(engine, id);
    const r = readRecordFile(dir);
    if (!r || r.id !== id) {
      report.notRestored.push(`container ${id.slice(0, 12)}: its directory ${dir} has no record file (made before rootlet kept one); its files are kept there`);
      continue;
    }
    try {
      store.insert({ ...r, state: 'created', restartCount: 0, stoppedByUser: false });
    } catch (err) {
      report.notRestored.push(`container ${r.name} (${id.slice(0, 12)}): ${errorMessage(err)}`);
      continue;
    }
    const rec = store.get(id)!;
    const rt = runtimeState(engine, rec);
    const exit = readExitFile(engine, id);
    let state: ContainerState;
    if (rt && (rt.status === 'running' || rt.status === 'paused')) {
      const mon = monitorOf(dir, id);
      state = 'running';
      store.restoreRunState(id, { state, pid: rt.pid, conmonPid: mon?.pid, conmonStart: mon?.start, runToken: mon?.token, startedAt: rt.created ?? Date.now() });
    } else if (exit || rt || existsSync(join(dir, 'config.json'))) {
      // It ran (the runtime's state or a bundle is left): it has ended, with the code conmon wrote if any.
      state = 'exited';
      store.restoreRunState(id, { state, exitCode: exit?.code ?? r.exitCode, finishedAt: exit?.at ?? r.finishedAt ?? Date.now() });
    } else {
      state = 'created';
    }
    if (!engine.images.get(r.imageId)) report.notRestored.push(`container ${r.name}: its image ${r.imageId.slice(7, 19)} was not restored (it runs from its layers as long as they are kept)`);
    const lost = r.spec.net?.mode === 'bridge' ? r.spec.net.networks.map((n) => n.name).filter((n) => !known(n)) : [];
    for (const n of lost) report.notRestored.push(`network ${n} (container ${r.name} is on it): networks are kept only in the database; create it again with its options (rootlet network create ... ${n})`);
    report.restored.push(`container ${r.name} (${id.slice(0, 12)}): ${state}`);
  }
}
