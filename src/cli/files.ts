import { closeSync, openSync } from 'node:fs';
import { openError } from '../util/os-errors.js';

/**
 * Files named by flags and arguments (save -o, export -o, load -i, import
 * FILE) are opened before the store is, so that a wrong path is refused
 * with one line (`open PATH: REASON`, exit 125) and nothing touched.
 */

/** Throws `open PATH: REASON` unless the file can be opened for reading. */
export function checkReadable(path: string): void {
  closeSync(openFile(path, 'r'));
}

/** Opens a file, or throws `open PATH: REASON` naming `shown` (the user's name for it). */
export function openFile(path: string, flags: string, mode = 0o644, shown = path): number {
  try {
    return openSync(path, flags, mode);
  } catch (err) {
    throw openError(shown, err);
  }
}
