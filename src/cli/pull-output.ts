import type { Engine } from '../engine/engine.js';
import { EngineError } from '../util/errors.js';
import { pullImage, type PullOptions } from '../engine/images/pull.js';
import { clientFor } from '../image/registry/client.js';
import { endpointsFor, loadRegistriesConf } from '../image/registry/registries-conf.js';
import { familiarName, formatReference, parseReference } from '../image/reference.js';
import { PullProgress } from './pull-progress.js';

/**
 * A pull with Docker's output, for `pull` (on stdout) and for `run` and
 * `create` pulling a missing image (on stderr, as Docker).
 */
export async function pullWithOutput(engine: Engine, name: string, opts: PullOptions, o: { quiet: boolean; allTags?: boolean; out: NodeJS.WriteStream; headers?: string[] }): Promise<string> {
  const remap = opts.remapOutsideIds ?? engine.config.images.remapOutsideIds;
  const names = o.allTags ? await allTags(name, opts) : [name];
  let last = '';
  for (const n of names) {
    const progress = o.quiet ? undefined : new PullProgress(o.out);
    for (const h of o.headers ?? []) progress?.header(h);
    if (progress && !/[:@]/.test(n.split('/').pop()!)) progress.header('Using default tag: latest');
    const r = await pullImage(engine, n, { ...opts, remapOutsideIds: remap, onEvent: progress?.onEvent });
    progress?.flush();
    if (r.remapped) process.stderr.write(`${r.remapped} file owner(s) outside your subordinate range were given to root\n`);
    if (progress) {
      o.out.write(`Digest: ${r.digest}\n`);
      o.out.write(`Status: ${r.upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarName(r.name)}\n`);
    }
    o.out.write(`${r.name}\n`);
    last = r.name;
  }
  return last;
}

async function allTags(name: string, opts: PullOptions): Promise<string[]> {
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
