import type { Engine } from '../engine/engine.js';
import { EngineError } from '../util/errors.js';
import { familiarName, looksLikeId, parseReference, formatReference } from '../image/reference.js';

/**
 * `run` and `create` with `--pull missing|always|never`: the image is
 * pulled as Docker does when it is not here (progress on stderr). Returns
 * the name to create the container from. Nothing of the registry client
 * is loaded when the image is found locally.
 */
export async function ensureImage(engine: Engine, image: string, policy = 'missing'): Promise<string> {
  if (policy !== 'always' && engine.images.find(image)) return image;
  if (policy === 'never' || looksLikeId(image)) {
    engine.images.resolve(image);
    return image;
  }
  const { candidatesFor, loadRegistriesConf } = await import('../image/registry/registries-conf.js');
  const headers: string[] = [];
  if (policy === 'missing') {
    // A short name pulled through a search registry is recorded under that registry's name.
    for (const c of candidatesFor(await loadRegistriesConf(), image)) {
      const name = formatReference(c);
      if (engine.images.find(name)) return name;
    }
    headers.push(`Unable to find image '${familiarName(formatReference(parseReference(image)))}' locally`);
  }
  const { pullWithOutput } = await import('./pull-output.js');
  let pulled: string;
  try {
    pulled = await pullWithOutput(engine, image, {}, { quiet: false, out: process.stderr, headers });
  } catch (err) {
    // Docker's two lines ("Unable to find ... locally", then the pull's error) as one.
    if (headers.length && err instanceof EngineError && !err.message.startsWith('Unable')) throw new EngineError(`${headers[0]}, and pulling it failed: ${err.message}`, err.exitCode);
    throw err;
  }
  return engine.images.find(image) ? image : pulled;
}
