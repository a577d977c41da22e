import { EngineError, errorMessage } from './errors.js';

/**
 * A full disk (or quota) as the user should read it: one line naming
 * where, never the errno text of whichever write happened to fail.
 */
export function isNoSpace(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
  return /\bENOSPC\b|\bEDQUOT\b|no space left on|disk quota exceeded|database or disk is full/i.test(errorMessage(err));
}

export function noSpaceError(where: string, detail?: string): EngineError {
  return new EngineError(`no space left on ${where}${detail ? `: ${detail}` : ''}`);
}

/** `err` as a no-space error naming `where` when it is one; anything else unchanged. */
export function asNoSpace(err: unknown, where: string, detail?: string): unknown {
  if (err instanceof EngineError && /^no space left on /.test(err.message)) return err;
  return isNoSpace(err) ? noSpaceError(where, detail) : err;
}
