import { familiarName, formatReference, parseReference } from '../../image/reference.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { imageEvent, recordEvent } from '../events/log.js';

/** The normalized name a new tag gets, refused as Docker refuses it. */
export function tagName(target: string): string {
  const r = parseReference(target);
  if (r.digest) throw new EngineError(`refusing to create a tag with a digest reference "${target}": give NAME[:TAG]`);
  // An id-like name would shadow the image ids that commands accept in its place.
  if (/^[a-f0-9]{64}$/.test(r.path.split('/').pop()!)) {
    throw new EngineError(`invalid repository name "${target}": a 64-character hexadecimal name cannot be told from an image id`);
  }
  return formatReference(r);
}

/** `tag SOURCE TARGET`: points TARGET at the image SOURCE names (moving it if it named another). */
export function tagImage(engine: Engine, source: string, target: string): { id: string; name: string } {
  const name = tagName(target);
  const img = engine.images.find(source);
  if (!img) throw new EngineError(`No such image: ${source}`);
  engine.images.setTag(name, img.id);
  recordEvent(engine, imageEvent(img.id, 'tag', familiarName(name)));
  return { id: img.id, name };
}
