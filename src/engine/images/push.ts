import { createReadStream, readFileSync, statSync } from 'node:fs';
import { clientFor, pushScope, type RegistryAccess, type RegistryClient } from '../../image/registry/client.js';
import { endpointsFor, loadRegistriesConf } from '../../image/registry/registries-conf.js';
import type { Manifest } from '../../image/oci.js';
import { familiarName, formatReference, parseReference } from '../../image/reference.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { imageEvent, recordEvent } from '../events/log.js';

/**
 * `push IMAGE [DEST]`: sends each blob the registry lacks (a HEAD first;
 * a cross-repository mount when the image came from another repository of
 * the same registry; else one monolithic upload streamed from the store),
 * then the manifest under the tag, with its exact stored bytes, so the
 * digest in the registry is the digest rootlet has.
 */

export interface PushOptions extends RegistryAccess {
  onEvent?: (e: PushEvent) => void;
}

export type PushEvent =
  | { type: 'start'; name: string; host: string; path: string }
  | { type: 'blob'; digest: string; state: 'exists' | 'mounted' | 'pushed'; from?: string }
  | { type: 'progress'; digest: string; bytes: number; total: number };

const PARALLEL_UPLOADS = 3;

export async function pushImage(engine: Engine, source: string, dest: string | undefined, opts: PushOptions = {}): Promise<{ name: string; digest: string; size: number }> {
  const ref = parseReference(dest ?? source);
  if (ref.digest) throw new EngineError(`cannot push to ${dest ?? source}: a digest reference names content, not a place; give a tag`);
  const img = engine.images.resolve(source);
  const name = formatReference(ref);
  const conf = await loadRegistriesConf();
  const ep = endpointsFor(conf, ref, opts.tlsVerify).find((e) => !e.mirror)!;
  const manifestBytes = readFileSync(engine.images.blobPath(img.manifestDigest));
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
  // Another repository of the same registry that this image came from can lend its blobs.
  const mountFrom = img.tags.map((t) => parseReference(t, null)).find((r) => r.domain === ref.domain && r.path !== ref.path)?.path;
  const client = clientFor(ep, opts);
  opts.onEvent?.({ type: 'start', name, host: ep.host, path: ep.path });
  try {
    const blobs = [...manifest.layers, manifest.config];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < blobs.length) {
        const d = blobs[next++]!;
        await pushBlob(engine, client, ep.path, d.digest, mountFrom, opts);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_UPLOADS, blobs.length) }, worker));
    await client.putManifest(ep.path, ref.tag ?? 'latest', manifestBytes, manifest.mediaType);
    recordEvent(engine, imageEvent(familiarName(name), 'push', familiarName(name)));
    return { name, digest: img.manifestDigest, size: manifestBytes.length };
  } finally {
    client.close();
  }
}

async function pushBlob(engine: Engine, client: RegistryClient, path: string, digest: string, mountFrom: string | undefined, opts: PushOptions): Promise<void> {
  if (await client.hasBlob(path, digest, [pushScope(path)])) {
    opts.onEvent?.({ type: 'blob', digest, state: 'exists' });
    return;
  }
  const file = engine.images.blobPath(digest);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new EngineError(`blob ${digest} of the image is missing from the store: run rootlet image check --repair, then pull or build the image again`);
  }
  const started = await client.startUpload(path, digest, mountFrom);
  if (started === true) {
    opts.onEvent?.({ type: 'blob', digest, state: 'mounted', from: mountFrom });
    return;
  }
  const body = createReadStream(file, { highWaterMark: 1 << 20 });
  let bytes = 0;
  body.on('data', (c) => {
    bytes += c.length;
    opts.onEvent?.({ type: 'progress', digest, bytes, total: size });
  });
  await client.finishUpload(path, started, digest, size, body);
  opts.onEvent?.({ type: 'blob', digest, state: 'pushed' });
}
