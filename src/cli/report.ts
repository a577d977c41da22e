import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DeniedError, EngineError, errorMessage, EXIT_ENGINE } from '../util/errors.js';
import { resolvePaths } from '../state/paths.js';
import { currentIdentity } from '../rootless/identity.js';
import { osReason } from '../util/os-errors.js';

/**
 * How an error reaches the user: always one line (`Error: ...`) and a
 * Docker exit code, never a stack trace. An error rootlet did not expect
 * (anything but an EngineError) is an internal error: its trace goes to
 * the debug log (docs/configuration.md), and to stderr too with
 * ROOTLET_DEBUG=1 or --log-level debug.
 */

let debug = !!process.env.ROOTLET_DEBUG && process.env.ROOTLET_DEBUG !== '0';

/** --log-level debug: traces go to stderr as well. */
export function setDebug(on: boolean): void {
  debug = debug || on;
}

/** Where the traces of internal errors are kept: the runtime directory (per boot, the user's own). */
export function debugLogPath(): string {
  return join(resolvePaths(currentIdentity()).runDir, 'debug.log');
}

const MAX_LOG = 1 << 20;

/** Appends the trace to the debug log; returns the log's path, or why it could not be written. */
function writeTrace(err: unknown, argv: string[]): { path: string; failed?: string } {
  let path = 'debug.log';
  try {
    path = debugLogPath();
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    // Kept small: the previous megabyte is kept as debug.log.1.
    try {
      if (statSync(path).size > MAX_LOG) renameSync(path, `${path}.1`);
    } catch { /* not there yet */ }
    const stack = err instanceof Error ? err.stack ?? err.message : String(err);
    appendFileSync(path, `${new Date().toISOString()} pid ${process.pid} rootlet ${argv.slice(2).join(' ')}\n${stack}\n\n`, { mode: 0o600 });
    return { path };
  } catch (e) {
    return { path, failed: osReason(e) };
  }
}

/** The line to print for an error and the exit code (EngineError's own, else 125). */
export function describeError(err: unknown, argv: string[] = process.argv): { line: string; exitCode: number } {
  if (err instanceof DeniedError) return { line: `rootlet: ${err.message}`, exitCode: err.exitCode };
  if (err instanceof EngineError) return { line: `Error: ${err.message}`, exitCode: err.exitCode };
  const log = writeTrace(err, argv);
  if (debug) process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  const where = log.failed ? `its trace could not be written to ${log.path}: ${log.failed}` : `its trace is in ${log.path}`;
  const e = err as NodeJS.ErrnoException;
  // An OS call that failed where rootlet did not expect it: the call and the reason say most of it.
  const what = e?.syscall ? `${e.syscall}${e.path ? ` ${e.path}` : ''}: ${osReason(err)}` : errorMessage(err).split('\n')[0];
  return { line: `Error: internal error: ${what} (${where})`, exitCode: EXIT_ENGINE };
}
