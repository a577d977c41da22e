import { familiarName, formatReference, looksLikeId, parseReference } from '../../image/reference.js';
import type { Engine } from '../engine.js';
import { DeniedError, EngineError } from '../../util/errors.js';

/** When `run` and `create` pull their image: when it is not here, every time, or never. */
export type PullPolicy = 'missing' | 'always' | 'never';

/**
 * What ensure decided before any pull: the name to use when the image
 * is here (nothing to pull), or why it must be pulled.
 */
export type EnsurePlan =
  | { pull: false; name: string }
  | { pull: true; name: string; missingLocally?: string };

/**
 * The pull policy and short-name resolution: an image found locally (also
 * under a search registry's name a short name was pulled through) needs no
 * pull; `never` refuses a missing one; an id is never pulled. Nothing of
 * the registry client is loaded when the image is found locally.
 */
export async function planEnsure(engine: Engine, image: string, policy: PullPolicy): Promise<EnsurePlan> {
  if (policy !== 'always' && engine.images.find(image)) return { pull: false, name: image };
  if (policy === 'never' || looksLikeId(image)) {
    engine.images.resolve(image);
    return { pull: false, name: image };
  }
  if (policy === 'always') return { pull: true, name: image };
  const { candidatesFor, loadRegistriesConf } = await import('../../image/registry/registries-conf.js');
  // A short name pulled through a search registry is recorded under that registry's name.
  for (const c of candidatesFor(await loadRegistriesConf(), image)) {
    const name = formatReference(c);
    if (engine.images.find(name)) return { pull: false, name };
  }
  return { pull: true, name: image, missingLocally: familiarName(formatReference(parseReference(image))) };
}

/** Docker's two lines ("Unable to find ... locally", then the pull's error) as one. */
export function missingPullError(missingLocally: string, err: unknown): unknown {
  // The admin policy's refusal keeps its own shape: nothing was tried.
  if (err instanceof DeniedError) return err;
  if (err instanceof EngineError && !err.message.startsWith('Unable')) {
    return new EngineError(`Unable to find image '${missingLocally}' locally, and pulling it failed: ${err.message}`, err.exitCode);
  }
  return err;
}
