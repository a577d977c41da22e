import { EngineError } from '../../util/errors.js';

/** Docker's default detach keys. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** Docker's detach keys: "ctrl-p,ctrl-q" → [0x10, 0x11]. */
export function parseDetachKeys(keys: string): Buffer {
  if (!keys) return Buffer.alloc(0);
  return Buffer.from(keys.split(',').map((k) => {
    const m = /^ctrl-([a-z@[\\\]^_])$/.exec(k.trim());
    if (m) return m[1] === '@' ? 0 : m[1]!.charCodeAt(0) & 0x1f;
    if (k.length === 1) return k.charCodeAt(0);
    throw new EngineError(`invalid detach keys "${keys}": use a comma-separated list such as ctrl-p,ctrl-q`);
  }));
}
