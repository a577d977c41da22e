import { CONFIG_LIMIT, clientFor, RegistryClient, RegistryError, type RegistryAccess } from '../../image/registry/client.js';
import { formatPlatform, hostPlatform, parseManifest, parsePlatform, selectPlatform, type Platform } from '../../image/registry/manifest.js';
import { candidatesFor, endpointsFor, loadRegistriesConf, type Endpoint } from '../../image/registry/registries-conf.js';
import { readBody } from '../../image/registry/transport.js';
import type { Descriptor, ImageConfig, Manifest } from '../../image/oci.js';
import { familiarName, formatReference, parseReference, type Reference } from '../../image/reference.js';
import { digestOf } from '../../image/store.js';
import type { Engine } from '../engine.js';
import { engineEnv } from '../process-env.js';
import { EngineError, errorMessage } from '../../util/errors.js';
import { imageEvent, recordEvent } from '../events/log.js';
import { commitImage } from './lifecycle.js';
import { blobMismatch, fetchLayer, fetchLayerNative, removeLayerDirs, storeLayer, type FetchLayerOptions, type StoredLayer } from './layers.js';
import { asNoSpace, isNoSpace, noSpaceError } from '../../util/no-space.js';
import { sweepStaleTemps } from '../system/store-check.js';
import { trace } from '../../util/trace.js';

/**
 * `pull`: resolves the name (registries.conf: search registries, mirrors,
 * blocked, insecure), fetches and verifies manifest and config, downloads
 * the layers in parallel, each by its extraction helper itself (hashed,
 * kept and extracted in one pass as it arrives, renamed into place only
 * when the digest and size match), and records the image with commitImage. Nothing is
 * recorded unless every part was verified.
 */

export interface PullOptions extends RegistryAccess {
  platform?: string;
  remapOutsideIds?: boolean;
  onEvent?: (e: PullEvent) => void;
  /** Throws when the admin policy does not allow a source: checked for each candidate before any network access. */
  checkSource?: (ref: Reference) => void;
}

export type PullEvent =
  | { type: 'resolved'; name: string; host: string; path: string; tag: string }
  | { type: 'layer'; digest: string; state: 'waiting' | 'exists' | 'complete' }
  | { type: 'progress'; digest: string; bytes: number; total: number }
  /** `platform`: the image is for another platform; `devices`: a layer's device nodes were left out. */
  | { type: 'warning'; kind: 'platform' | 'devices'; message: string };

export interface PullResult {
  name: string;
  id: string;
  /** The digest the reference points to in the registry (an index's, for a multi-platform image). */
  digest: string;
  upToDate: boolean;
  remapped: number;
}

/** Layers fetched at once (Docker's default is 3; on 2 cores 2 and 4 measured alike). */
const PARALLEL_LAYERS = Number(engineEnv().ROOTLET_PULL_PARALLEL) || 4;
/** ROOTLET_LAYER_EXTRACTOR=node: every layer by the Node helper (a comparison, or a way round a bug in the C one). */
const NATIVE_FETCH = engineEnv().ROOTLET_LAYER_EXTRACTOR !== 'node';

export async function pullImage(engine: Engine, input: string, opts: PullOptions = {}): Promise<PullResult> {
  const conf = await loadRegistriesConf();
  let candidates = candidatesFor(conf, input);
  if (opts.checkSource) {
    // A short name's search registries the policy does not allow are left out; none allowed: the first refusal.
    const denied: unknown[] = [];
    candidates = candidates.filter((c) => {
      try { opts.checkSource!(c); return true; } catch (err) { denied.push(err); return false; }
    });
    if (!candidates.length && denied.length) throw denied[0];
  }
  const errors: Array<{ where: string; err: unknown }> = [];
  sweepStaleTemps(engine);
  trace('pull: temps swept');
  for (const ref of candidates) {
    let endpoints: Endpoint[];
    try {
      endpoints = endpointsFor(conf, ref, opts.tlsVerify);
    } catch (err) {
      errors.push({ where: ref.domain, err });
      continue;
    }
    for (const ep of endpoints) {
      try {
        const pulled = await pullFrom(engine, ref, ep, opts);
        // Again once done: the helper of a pull killed a moment ago may have still been finishing at the first sweep.
        sweepStaleTemps(engine);
        recordEvent(engine, imageEvent(familiarName(pulled.name), 'pull', familiarName(pulled.name)));
        return pulled;
      } catch (err) {
        errors.push({ where: ep.host, err });
        // A failure that is not "not there" (a corrupt blob, an unsafe layer) stops here: another source is no excuse.
        if (!(err instanceof RegistryError) && !isNetwork(err) && !ep.mirror) throw err;
      }
    }
  }
  if (errors.length === 1) {
    const err = errors[0]!.err;
    throw isNetwork(err) ? new EngineError(`cannot pull ${formatReference(candidates[0]!)}: ${errorMessage(err)}`) : err;
  }
  throw new EngineError(`cannot pull ${input} from any of ${errors.map((e) => e.where).join(', ')}: ${errors.map((e) => `${e.where}: ${errorMessage(e.err)}`).join('; ')}`);
}

/** `pull --all-tags`: every tag the registry lists for a repository, as names to pull one by one. */
export async function repositoryTags(name: string, opts: RegistryAccess): Promise<string[]> {
  const ref = parseReference(name, null);
  if (ref.tag || ref.digest) throw new EngineError(`--all-tags takes a repository without a tag or digest, not ${name}`);
  const conf = await loadRegistriesConf();
  const ep = endpointsFor(conf, ref, opts.tlsVerify).find((e) => !e.mirror)!;
  const client = clientFor(ep, opts);
  try {
    const tags = await client.listTags(ep.path);
    if (!tags.length) throw new EngineError(`${formatReference(ref)} has no tags`);
    return tags.map((t) => formatReference({ ...ref, tag: t }));
  } finally {
    client.close();
  }
}

/** Deletes layers (and their blobs) stored by a pull that failed, unless an image uses them. */
async function dropFreshLayers(engine: Engine, layers: StoredLayer[]): Promise<void> {
  try {
    const used = new Set(engine.images.list().flatMap((img) => img.layers));
    const doomed = layers.filter((l) => !used.has(l.diffId));
    await removeLayerDirs(engine, doomed.map((l) => l.diffId));
    for (const l of doomed) engine.images.removeBlob(l.digest);
  } catch { /* the failure itself is what the user must see; what is left is whole and reusable */ }
}

function isNetwork(err: unknown): boolean {
  return /cannot (connect|resolve|talk)|connection to .* was reset|does not speak TLS/.test(errorMessage(err));
}

async function pullFrom(engine: Engine, ref: Reference, ep: Endpoint, opts: PullOptions): Promise<PullResult> {
  const name = formatReference(ref);
  const client = clientFor(ep, opts);
  const where = `${ep.registry}/${ep.path}`;
  try {
    const top = await client.getManifest(ep.path, ref.digest ?? ref.tag ?? 'latest');
    trace('pull: manifest');
    opts.onEvent?.({ type: 'resolved', name, host: ep.host, path: ep.path, tag: ref.digest ?? ref.tag ?? 'latest' });
    const want = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
    let manifestBytes = top.bytes;
    let parsed = parseManifest(top.bytes, top.mediaType, where);
    const fromIndex = parsed.kind === 'index';
    if (parsed.kind === 'index') {
      const desc = selectPlatform(parsed.index, want, where);
      const m = await client.getManifest(ep.path, desc.digest);
      if (m.bytes.length !== desc.size) throw new EngineError(`the manifest ${desc.digest} from ${where} has ${m.bytes.length} bytes where the index announced ${desc.size}: nothing was stored`);
      manifestBytes = m.bytes;
      parsed = parseManifest(m.bytes, m.mediaType, `${where}@${desc.digest}`);
      if (parsed.kind !== 'manifest') throw new EngineError(`${where}: an index inside an index is not supported`);
    }
    const manifest = parsed.manifest;
    const configBytes = await fetchConfig(client, ep.path, manifest.config, where);
    const config = parseConfig(configBytes, manifest, where);
    // An index's descriptor names the platform; a lone manifest only says it in its config.
    if (!fromIndex) checkPlatform(config, want, !!opts.platform, where, opts);
    trace('pull: config');
    const layers = await fetchLayers(engine, client, ep.path, manifest, config, opts);
    trace('pull: layers stored');
    const before = engine.images.find(name)?.id;
    let id: string;
    try {
      ({ id } = commitImage(engine, { config: configBytes, layers, manifest: manifestBytes }, [name]));
    } catch (err) {
      throw asNoSpace(err, engine.paths.dataDir, 'the image could not be recorded; nothing was recorded');
    }
    trace('pull: recorded');
    return { name, id, digest: top.digest, upToDate: before === id, remapped: layers.reduce((n, l) => n + l.remapped, 0) };
  } finally {
    client.close();
  }
}

async function fetchConfig(client: RegistryClient, path: string, d: Descriptor, where: string): Promise<Buffer> {
  if (d.size > CONFIG_LIMIT) throw new EngineError(`the image config of ${where} announces ${d.size} bytes, over the ${CONFIG_LIMIT}-byte limit: refusing it`);
  const res = await client.getBlob(path, d.digest);
  const bytes = await readBody(res, CONFIG_LIMIT, `the image config of ${where}`);
  const why = blobMismatch(d, digestOf(bytes), bytes.length);
  if (why) throw new EngineError(`the image config ${d.digest} from ${where} ${why}: nothing was stored`);
  return bytes;
}

function parseConfig(bytes: Buffer, manifest: Manifest, where: string): ImageConfig {
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch {
    throw new EngineError(`the image config of ${where} is not valid JSON: nothing was stored`);
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new EngineError(`${where}: the manifest lists ${manifest.layers.length} layers but the config ${diffIds.length}: the image is corrupt; nothing was stored`);
  }
  return config;
}

function checkPlatform(config: ImageConfig, want: Platform, explicit: boolean, where: string, opts: PullOptions): void {
  const have: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  if (have.os === want.os && have.architecture === want.architecture) return;
  const msg = `the image ${where} is for ${formatPlatform(have)}, not ${formatPlatform(want)}`;
  if (explicit) throw new EngineError(`${msg}: it has no image for the --platform asked; nothing was stored`);
  opts.onEvent?.({ type: 'warning', kind: 'platform', message: `${msg}: it may not run here` });
}

type LayerOut = StoredLayer & { mediaType: string };

/**
 * The blob fetched here and relayed into the extraction helper: when the
 * helper's own request was not answered 200, getBlob asks again with a
 * fresh token if need be, and words the registry's error.
 */
async function relayLayer(
  engine: Engine, client: RegistryClient, path: string, d: Descriptor, outsideIds: 'fail' | 'root',
  warn: (message: string) => void, progress: (bytes: number) => void, active: Set<{ destroy(e?: Error): void }>,
): Promise<StoredLayer> {
  const res = await client.getBlob(path, d.digest);
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && res.headers['content-length'] !== undefined && declared !== d.size) {
    res.body.destroy();
    throw new EngineError(`layer ${d.digest}: the registry sends ${declared} bytes where the manifest announces ${d.size}: nothing was stored`);
  }
  active.add(res.body);
  let bytes = 0;
  res.body.on('data', (c: Buffer) => {
    bytes += c.length;
    if (bytes > d.size) res.body.destroy(new Error(`layer ${d.digest}: the registry sent more than the ${d.size} bytes the manifest announces`));
    else progress(bytes);
  });
  try {
    return await storeLayer(engine, res.body, { outsideIds, expect: { digest: d.digest, size: d.size }, warn });
  } finally {
    active.delete(res.body);
  }
}

/**
 * Downloads the layers a few at a time, each streamed into storeLayer. On
 * the first failure the other downloads are cut (their helpers then
 * discard what they wrote) and the first error is reported.
 */
async function fetchLayers(engine: Engine, client: RegistryClient, path: string, manifest: Manifest, config: ImageConfig, opts: PullOptions): Promise<LayerOut[]> {
  const out: LayerOut[] = new Array(manifest.layers.length);
  const fresh: StoredLayer[] = [];
  const active = new Set<{ destroy(e?: Error): void }>();
  let failure: unknown;
  let next = 0;
  const diffIds = config.rootfs.diff_ids;
  const outsideIds = opts.remapOutsideIds ? 'root' : 'fail';
  for (const l of manifest.layers) opts.onEvent?.({ type: 'layer', digest: l.digest, state: 'waiting' });

  const one = async (i: number): Promise<void> => {
    const d = manifest.layers[i]!;
    const known = engine.images.knownLayer(d.digest);
    if (known && known.diffId === diffIds[i] && known.blobSize === d.size) {
      out[i] = { ...known, remapped: 0, mediaType: d.mediaType };
      opts.onEvent?.({ type: 'layer', digest: d.digest, state: 'exists' });
      return;
    }
    // A warning (device nodes left out) goes with the progress output, which the caller renders.
    const warn = (message: string) => opts.onEvent?.({ type: 'warning', kind: 'devices', message });
    const progress = (bytes: number) => opts.onEvent?.({ type: 'progress', digest: d.digest, bytes, total: d.size });
    let stored: StoredLayer | 'refetch';
    try {
      // The helper fetches the blob itself (no relay through this process); only an answer other than 200 comes back here.
      const source = await client.blobSource(path, d.digest);
      let stop: (() => void) | undefined;
      const handle = { destroy: () => stop?.() };
      active.add(handle);
      let extractor = 'the node helper';
      const fetchOpts: FetchLayerOptions = {
        outsideIds, expect: { digest: d.digest, size: d.size }, warn, onProgress: progress,
        onStart: (s: () => void) => { stop = s; if (failure !== undefined) s(); },
      };
      try {
        // A C process does it all; what it hands back (nothing kept) the Node helper does.
        const native = NATIVE_FETCH ? await fetchLayerNative(engine, source, fetchOpts) : 'fallback';
        stored = native === 'fallback' ? await fetchLayer(engine, source, fetchOpts) : native;
        extractor = native === 'fallback' || native === 'refetch' ? 'the node helper' : 'rootlet-layer-fetch';
      } finally {
        active.delete(handle);
      }
      if (stored === 'refetch') stored = await relayLayer(engine, client, path, d, outsideIds, warn, progress, active);
      trace(`pull: layer ${d.digest.slice(7, 19)} extracted by ${extractor}`);
      if (stored.diffId !== diffIds[i]) {
        throw new EngineError(`layer ${d.digest} unpacks to ${stored.diffId} but the image config says ${diffIds[i]}: the image is corrupt; nothing was recorded`);
      }
      out[i] = { ...stored, mediaType: d.mediaType };
      fresh.push(stored);
      opts.onEvent?.({ type: 'layer', digest: d.digest, state: 'complete' });
    } catch (err) {
      if (isNoSpace(err)) throw noSpaceError(engine.paths.dataDir, `layer ${d.digest} could not be stored; nothing of it was kept`);
      throw err instanceof EngineError && !errorMessage(err).includes(d.digest.slice(7, 19)) ? new EngineError(`layer ${d.digest}: ${errorMessage(err)}`) : err;
    }
  };

  const worker = async (): Promise<void> => {
    while (failure === undefined && next < manifest.layers.length) {
      const i = next++;
      try {
        await one(i);
      } catch (err) {
        if (failure === undefined) {
          failure = err;
          for (const s of active) s.destroy(new Error('pull stopped: another layer failed'));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_LAYERS, manifest.layers.length) }, worker));
  if (failure !== undefined) {
    // On a full disk the layers this pull stored are what used the space: give it back (a later pull fetches them again).
    if (isNoSpace(failure)) await dropFreshLayers(engine, fresh);
    throw failure;
  }
  return out;
}
