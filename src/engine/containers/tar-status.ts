import { lastLine } from '../../rootless/userns.js';
import { EngineError, OutputClosedError } from '../../util/errors.js';

/**
 * GNU tar's exit status as one line, or nothing when it succeeded. Status 1
 * ("some files changed while being read") is success: a running container
 * may change its files during a copy. A reader that went away is
 * OutputClosedError, which a front door ends on quietly.
 */
export function tarFailure(r: { code: number; stderr: string }, what: string): EngineError | undefined {
  if (r.code <= 1) return undefined;
  // tar killed by SIGPIPE, or (when SIGPIPE is ignored, as under rootlet's helper) failing its write: the reader went away.
  if (r.code === 141 || /Cannot write: Broken pipe/.test(r.stderr)) return new OutputClosedError(what);
  const why = lastLine(r.stderr.replace(/^tar: Exiting with failure status.*$/gm, ''));
  return new EngineError(`${what}: ${why || `tar exited with status ${r.code}`}`, 1);
}
