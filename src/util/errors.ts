/**
 * An error the user should see as one line. `exitCode` follows Docker:
 * 125 when the engine itself failed, 126 when the command cannot be
 * executed, 127 when it cannot be found.
 */
export class EngineError extends Error {
  constructor(message: string, readonly exitCode = 125) {
    super(message);
    this.name = 'EngineError';
  }
}

/**
 * A refusal by the admin's rules (the policy), not a failure: shown as
 * `rootlet: MESSAGE`, the shape the policy's refusals are documented with.
 */
export class DeniedError extends EngineError {
  constructor(message: string) {
    super(message, 125);
    this.name = 'DeniedError';
  }
}

export const EXIT_ENGINE = 125;
export const EXIT_CANNOT_EXECUTE = 126;
export const EXIT_NOT_FOUND = 127;

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The caller's reader went away (`rootlet export c | head`): not a failure
 * to report. A front door ends quietly, with the status a program killed
 * by SIGPIPE has (141, as the Docker CLI ends); a server just stops writing.
 */
export class OutputClosedError extends EngineError {
  constructor(what: string) {
    super(`${what}: the output was closed before everything was written (broken pipe)`, 141);
    this.name = 'OutputClosedError';
  }
}

/** An error that only says the reader of our output went away (EPIPE on a write). */
export function isOutputClosed(err: unknown): boolean {
  return err instanceof OutputClosedError || (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}
