/**
 * The plain TOML that policy files are written in, read without a TOML
 * library: `[a.b]` headers of bare keys, and `key = value` lines whose value
 * is true or false, a decimal integer or float, a string without escapes,
 * or a one-line array of those. smol-toml costs about 1 ms per file on a
 * start (bench figure `policy`), half of what a whole policy check may cost.
 *
 * This only recognises the obvious: any line outside that subset, a key
 * given twice or a table defined twice gives undefined, and the caller
 * parses the text with smol-toml, which then decides what it means (or
 * says what is wrong with it, with its own message). test/unit/plain-toml
 * checks that both agree on every text this accepts.
 */

type Value = boolean | number | string | Value[];

const BARE = /^[A-Za-z0-9_-]+$/;
const HEADER = /^\[([^[\]"']+)\]$/;
const KEY_VALUE = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/;
// Control characters other than tab are not allowed in TOML strings or comments: left to the library.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** One value at the start of `s`: the value and the rest of the text, or undefined. */
function value(s: string): [Value, string] | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^(true|false)(?![A-Za-z0-9_-])/.exec(s))) return [m[1] === 'true', s.slice(m[0].length)];
  // No leading zeros, underscores, exponents, hex or inf/nan: those are the library's.
  if ((m = /^[+-]?(0|[1-9][0-9]*)(\.[0-9]+)?(?![A-Za-z0-9_.:-])/.exec(s))) {
    const n = Number(m[0]);
    if (!m[2] && !Number.isSafeInteger(n)) return undefined;
    // + 0: an integer -0 is 0 (there is no negative zero among integers).
    return [m[2] ? n : n + 0, s.slice(m[0].length)];
  }
  if ((m = /^"([^"\\]*)"/.exec(s)) || (m = /^'([^']*)'/.exec(s))) return [m[1]!, s.slice(m[0].length)];
  if (s.startsWith('[')) {
    const items: Value[] = [];
    let rest = s.slice(1).trimStart();
    while (!rest.startsWith(']')) {
      if (rest.startsWith('[')) return undefined; // nested arrays: the library's
      const v = value(rest);
      if (!v) return undefined;
      items.push(v[0]);
      rest = v[1].trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
      else if (!rest.startsWith(']')) return undefined;
    }
    return [items, rest.slice(1)];
  }
  return undefined;
}

/** The whole line after a value: nothing, or a comment. */
function endsLine(rest: string): boolean {
  return /^\s*(#.*)?$/.test(rest);
}

export function parsePlainToml(text: string): Record<string, unknown> | undefined {
  // Without a prototype, as smol-toml makes them: a key such as __proto__ is then just a key.
  const doc: Record<string, unknown> = Object.create(null);
  const defined = new Set<object>();
  let table: Record<string, unknown> = doc;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (CONTROL.test(line)) return undefined;
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    if (t.startsWith('[')) {
      const end = t.indexOf(']');
      const head = HEADER.exec(t.slice(0, end + 1));
      if (!head || !endsLine(t.slice(end + 1))) return undefined;
      const keys = head[1]!.split('.').map((k) => k.trim());
      if (!keys.every((k) => BARE.test(k))) return undefined;
      let at: Record<string, unknown> = doc;
      for (const k of keys) {
        const next = at[k];
        if (next === undefined) at[k] = Object.create(null);
        else if (typeof next !== 'object' || next === null || Array.isArray(next)) return undefined;
        at = at[k] as Record<string, unknown>;
      }
      if (defined.has(at)) return undefined;
      defined.add(at);
      table = at;
      continue;
    }
    const kv = KEY_VALUE.exec(t);
    if (!kv) return undefined;
    const v = value(kv[2]!);
    if (!v || !endsLine(v[1]) || kv[1]! in table) return undefined;
    table[kv[1]!] = v[0];
  }
  return doc;
}
