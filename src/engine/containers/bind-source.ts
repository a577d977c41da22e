import { statSync } from 'node:fs';
import { EngineError } from '../../util/errors.js';
import { osReason } from '../../util/os-errors.js';

/**
 * Whether a bind source exists (a missing one is created, as Docker does).
 * One that exists but cannot be looked at (a directory on its path the
 * user may not search) is refused with the reason, not taken for missing.
 */
export function bindSourceExists(source: string): boolean {
  try {
    statSync(source);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new EngineError(`bind mount source ${source}: ${osReason(err)}`);
  }
}
