import type { ComposeProject, LoadOptions } from '../model.js';

/**
 * Find, read, merge, interpolate, validate and normalise a project's compose
 * files into the model that every compose command reads.
 */
export async function loadProject(opts: LoadOptions): Promise<ComposeProject> {
  void opts;
  throw new Error('compose: the file loader is not built yet');
}
