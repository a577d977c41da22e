/**
 * Variable substitution in compose files, as the compose-spec defines it:
 * `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`.
 * Defaults, errors and alternatives are themselves interpolated, so they
 * nest (`${A:-${B:-x}}`). A `$` followed by anything else is an error, as
 * in Docker's loader (it is almost always a forgotten `$$`).
 */

export type Lookup = (name: string) => string | undefined;

/** Why a string could not be interpolated; the caller adds the file and the path. */
export class InterpolationError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolate(text: string, lookup: Lookup, onUnset?: (name: string) => void): string {
  if (!text.includes('$')) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) throw new InterpolationError(`invalid interpolation format in ${JSON.stringify(text)}: an unclosed "\${"; use $$ for a literal $`);
      out += braced(text.slice(i + 2, end), text, lookup, onUnset);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(text.slice(i + 1));
    if (!m) throw new InterpolationError(`invalid interpolation format in ${JSON.stringify(text)}: use $$ for a literal $`);
    const v = lookup(m[0]);
    if (v === undefined) onUnset?.(m[0]);
    out += v ?? '';
    i += 1 + m[0].length;
  }
  return out;
}

/** The index of the `}` that closes a `${` whose content starts at `from`, counting nested `${`. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') {
      i++;
    } else if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function braced(inner: string, whole: string, lookup: Lookup, onUnset?: (name: string) => void): string {
  const m = NAME.exec(inner);
  if (!m) throw new InterpolationError(`invalid interpolation format in ${JSON.stringify(whole)}: "\${${inner}}" does not start with a variable name`);
  const name = m[0];
  const rest = inner.slice(name.length);
  const value = lookup(name);
  if (rest === '') {
    if (value === undefined) onUnset?.(name);
    return value ?? '';
  }
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest);
  if (!op) throw new InterpolationError(`invalid interpolation format in ${JSON.stringify(whole)}: unknown operator in "\${${inner}}"`);
  const arg = rest.slice(op[0].length);
  const nested = () => interpolate(arg, lookup, onUnset);
  const empty = value === undefined || value === '';
  switch (op[0]) {
    case ':-': return empty ? nested() : value!;
    case '-': return value === undefined ? nested() : value;
    case ':+': return empty ? '' : nested();
    case '+': return value === undefined ? '' : nested();
    default: {
      // `:?` refuses an empty value too, `?` only an unset one.
      if (op[0] === ':?' ? empty : value === undefined) {
        const msg = nested();
        throw new InterpolationError(`required variable ${name} is missing a value${msg ? `: ${msg}` : ''}`);
      }
      return value!;
    }
  }
}
