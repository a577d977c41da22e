import { EngineError, errorMessage } from '../util/errors.js';

/**
 * Runs a command's action with Docker's exit status for a refused request
 * (no such container, not running, a path that does not exist): 1, as the
 * Docker CLI exits when its daemon answers with an error. 125 stays for
 * run, create and exec, where Docker reserves it for the engine's own failures.
 */
export async function dockerStatus(action: () => Promise<void> | void): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof EngineError && err.exitCode !== 125) throw err;
    throw new EngineError(errorMessage(err), 1);
  }
}
