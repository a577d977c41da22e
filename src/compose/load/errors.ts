import { EngineError } from '../../util/errors.js';

/**
 * A compose file or option that cannot be loaded. Exit 1, as `docker
 * compose` ends on a configuration error (125 stays the engine's own
 * failures); one line: `FILE: PATH: what was expected`.
 */
export class ComposeError extends EngineError {
  constructor(message: string) {
    super(message, 1);
    this.name = 'ComposeError';
  }
}

/** `services.web.ports[0]` from path segments. */
export function docPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out ? `.${s}` : s;
  }
  return out;
}
