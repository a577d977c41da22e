import { accessSync, constants, openSync, statSync } from 'node:fs';
import { EngineError } from '../util/errors.js';
import { openError } from '../util/os-errors.js';

/**
 * Files named by flags and arguments (save -o, export -o, load -i, import
 * FILE) are opened before the store is, so that a wrong path is refused
 * with one line (`open PATH: REASON`, exit 125) and nothing touched.
 */

/**
 * Throws `open PATH: REASON` unless the file could be opened for reading.
 * Checked without opening it: the file may be a pipe (`--env-file <(...)`)
 * that can be read only once, by whoever reads it for real later.
 */
export function checkReadable(path: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw openError(path, err);
  }
  if (statSync(path).isDirectory()) throw new EngineError(`read ${path}: is a directory`);
}

/** Opens a file, or throws `open PATH: REASON` naming `shown` (the user's name for it). */
export function openFile(path: string, flags: string, mode = 0o644, shown = path): number {
  try {
    return openSync(path, flags, mode);
  } catch (err) {
    throw openError(shown, err);
  }
}
