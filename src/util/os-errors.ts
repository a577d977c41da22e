import { EngineError } from './errors.js';

/**
 * The reason an OS call failed, in the words Go (hence Docker) prints:
 * "no such file or directory", "permission denied". Node's own message
 * ("ENOENT: no such file or directory, open '/x'") repeats the call and
 * the path, which the caller names better.
 */
export function osReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  // Where libuv's words differ from strerror's (which Go and Docker print).
  const own = e?.code ? GO_WORDS[e.code] : undefined;
  if (own) return own;
  const m = /^[A-Z0-9]+: (.+?), \w+(?: '.*')?$/s.exec(e?.message ?? '');
  if (m) return m[1]!;
  return e?.code ?? String(err);
}

const GO_WORDS: Record<string, string> = { EISDIR: 'is a directory', EEXIST: 'file exists', ELOOP: 'too many levels of symbolic links' };

/** A file named by the user that cannot be opened: `open PATH: REASON` (Docker's line), exit 125. */
export function openError(path: string, err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  return new EngineError(`open ${path}: ${osReason(err)}`);
}
