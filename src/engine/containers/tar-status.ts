import { lastLine } from '../../rootless/userns.js';
import { EngineError } from '../../util/errors.js';

/**
 * GNU tar's exit status as one line, or nothing when it succeeded. Status 1
 * ("some files changed while being read") is success: a running container
 * may change its files during a copy.
 */
export function tarFailure(r: { code: number; stderr: string }, what: string): EngineError | undefined {
  if (r.code <= 1) return undefined;
  if (r.code === 141) return new EngineError(`${what}: the output was closed before the archive was written (broken pipe)`, 1);
  const why = lastLine(r.stderr.replace(/^tar: Exiting with failure status.*$/gm, ''));
  return new EngineError(`${what}: ${why || `tar exited with status ${r.code}`}`, 1);
}
