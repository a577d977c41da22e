import { familiarName, type LoadedImage } from '../engine/index.js';

/** What Docker prints for the images a `load` loaded (the CLI's lines, the API's `stream` lines). */
export function loadedLines(images: LoadedImage[]): string[] {
  return images.flatMap((i) => (i.names.length ? i.names.map((n) => `Loaded image: ${familiarName(n)}`) : [`Loaded image ID: ${i.id}`]));
}
