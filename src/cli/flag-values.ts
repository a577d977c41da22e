import { Option } from 'commander';
import { EngineError } from '../util/errors.js';
import { invalid, ValueError } from '../util/values.js';

/**
 * Options whose values are checked while commander parses the command
 * line, so that a bad one is refused (exit 125, one line naming the flag)
 * before the command's action opens the store, pulls an image or touches
 * a container.
 */

/** The flag as Docker's messages name it: "-t, --time". */
export function flagName(flags: string): string {
  return flags.replace(/\s*[<[].*$/, '').trim();
}

/**
 * A refusal from a parser that does not know the flag (e.g. "invalid volume
 * specification ...") gets Docker's flag prefix; one that names it already,
 * or a file's open error, is kept.
 */
function asFlagError(flag: string, value: string, err: unknown, wrap: boolean): unknown {
  if (!wrap || err instanceof ValueError || !(err instanceof EngineError)) return err;
  // "invalid subnet "x": use ..." says again what the flag's prefix says: keep what follows.
  return new ValueError(flag, value, err.message.replace(/^invalid [^"]*"[^"]*": /, ''));
}

export interface CheckOptions {
  /** false: the parser's own message is the whole line (e.g. "open FILE: permission denied"). */
  wrap?: boolean;
}

/** An option whose value is parsed at once: the action gets what `parse` returns. */
export function valueOption<T>(flags: string, description: string, parse: (v: string, flag: string) => T, o: CheckOptions = {}): Option {
  const flag = flagName(flags);
  return new Option(flags, description).argParser((v: string) => {
    try {
      return parse(v, flag);
    } catch (err) {
      throw asFlagError(flag, v, err, o.wrap !== false);
    }
  });
}

/** A repeatable option: each value is checked at once and collected as given (the engine parses the list). */
export function listOption(flags: string, description: string, check: (v: string, flag: string) => unknown, o: CheckOptions = {}): Option {
  const flag = flagName(flags);
  return new Option(flags, description).argParser((v: string, previous: string[] | undefined) => {
    try {
      check(v, flag);
    } catch (err) {
      throw asFlagError(flag, v, err, o.wrap !== false);
    }
    return [...(previous ?? []), v];
  });
}

/** A value option that is checked but kept as the string given (the engine parses it again, the same way). */
export function checkedOption(flags: string, description: string, check: (v: string, flag: string) => unknown, o: CheckOptions = {}): Option {
  return valueOption(flags, description, (v, flag) => {
    check(v, flag);
    return v;
  }, o);
}

/**
 * `--format` of a command that prints text or one JSON document (`json`;
 * `also` for spellings a command accepts besides, e.g. `{{json .}}`):
 * any other value is refused while the command line is parsed.
 */
export function jsonFormatOption(flags: string, description: string, also: readonly string[] = []): Option {
  return valueOption(flags, description, (v, flag) => (v === 'json' || also.includes(v) ? 'json' : invalid(flag, v, 'only json is supported')));
}
