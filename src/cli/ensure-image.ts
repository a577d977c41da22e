import type { PullPolicy } from '../engine/index.js';
import { services } from './common.js';
import { pullRenderer } from './pull-output.js';

/**
 * `run` and `create` with `--pull missing|always|never`: the image
 * service's `ensure`, its pull shown as Docker does (progress on stderr).
 * Returns the name to create the container from.
 */
export async function ensureImage(image: string, policy = 'missing'): Promise<string> {
  const { images } = await services();
  const r = await images.ensure(image, { policy: policy as PullPolicy }, pullRenderer({ quiet: false, out: process.stderr }));
  return r.name;
}
