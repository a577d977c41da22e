/**
 * Docker's word processing for Dockerfile arguments (the "shell lexer" of
 * the builder): quotes are removed, the escape character escapes, and
 * `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`,
 * `${VAR+word}`, `${VAR:?msg}`, `${VAR?msg}` are expanded, not inside single
 * quotes. It is not a shell: no command substitution, no globbing.
 */

export interface Lookup {
  (name: string): string | undefined;
}

export interface LexResult {
  words: string[];
  /** The variables the text referred to (for the build cache: the build args a step used). */
  used: Set<string>;
}

export class SubstitutionError extends Error {}

/**
 * Processes `text`: with `split`, whitespace outside quotes separates words
 * (an unquoted expansion is split too, as Docker's ProcessWords does);
 * without, the whole text is one word.
 */
export function lexWords(text: string, lookup: Lookup, escape = '\\', split = true): LexResult {
  const used = new Set<string>();
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const pushWord = () => {
    if (inWord) words.push(cur);
    cur = '';
    inWord = false;
  };

  const readName = (): string => {
    let name = '';
    while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) name += text[i++];
    return name;
  };

  /** After a `$`: the value, and whether it came from an expansion (for splitting). */
  const expand = (): string => {
    if (text[i] === '{') {
      i++;
      const name = readName();
      if (!name) throw new SubstitutionError(`bad substitution in "${text}"`);
      if (text[i] === '}') {
        i++;
        used.add(name);
        return lookup(name) ?? '';
      }
      let op = '';
      if (text[i] === ':') { op = ':'; i++; }
      const c = text[i];
      if (c !== '-' && c !== '+' && c !== '?') throw new SubstitutionError(`unsupported modifier (${op}${c ?? ''}) in substitution "${text}"`);
      op += c;
      i++;
      // The word after the modifier is itself processed (nested ${}), up to the matching brace.
      let word = '';
      let depth = 0;
      while (i < text.length) {
        const ch = text[i]!;
        if (ch === escape && i + 1 < text.length) { word += ch + text[i + 1]; i += 2; continue; }
        if (ch === '{') depth++;
        if (ch === '}') {
          if (depth === 0) break;
          depth--;
        }
        word += ch;
        i++;
      }
      if (text[i] !== '}') throw new SubstitutionError(`missing '}' in substitution "${text}"`);
      i++;
      used.add(name);
      const value = lookup(name);
      const set = op.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
      const inner = () => {
        const r = lexWords(word, lookup, escape, false);
        r.used.forEach((u) => used.add(u));
        return r.words[0] ?? '';
      };
      switch (op.replace(':', '')) {
        case '-': return set ? value! : inner();
        case '+': return set ? inner() : '';
        default:
          if (!set) throw new SubstitutionError(`${name}: ${inner() || 'is not set'}`);
          return value!;
      }
    }
    const name = readName();
    if (!name) return '$';
    used.add(name);
    return lookup(name) ?? '';
  };

  while (i < text.length) {
    const ch = text[i]!;
    if (split && /\s/.test(ch)) {
      pushWord();
      i++;
      continue;
    }
    if (ch === escape) {
      inWord = true;
      if (i + 1 < text.length) cur += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === "'") {
      inWord = true;
      i++;
      while (i < text.length && text[i] !== "'") cur += text[i++];
      if (i >= text.length) throw new SubstitutionError(`unexpected end of text: unmatched single quote in "${text}"`);
      i++;
      continue;
    }
    if (ch === '"') {
      inWord = true;
      i++;
      while (i < text.length && text[i] !== '"') {
        const c = text[i]!;
        if (c === escape && i + 1 < text.length) {
          // Inside double quotes the escape character escapes only what would otherwise be special.
          const n = text[i + 1]!;
          cur += n === '"' || n === '$' || n === escape ? n : c + n;
          i += 2;
          continue;
        }
        if (c === '$') {
          i++;
          cur += expand();
          continue;
        }
        cur += c;
        i++;
      }
      if (i >= text.length) throw new SubstitutionError(`unexpected end of text: unmatched double quote in "${text}"`);
      i++;
      continue;
    }
    if (ch === '$') {
      i++;
      const value = expand();
      if (split) {
        // An unquoted expansion is split at whitespace, as in Docker's ProcessWords.
        const parts = value.split(/\s+/);
        parts.forEach((p, k) => {
          if (k > 0) pushWord();
          if (p) { cur += p; inWord = true; }
        });
      } else {
        cur += value;
        inWord = true;
      }
      continue;
    }
    cur += ch;
    inWord = true;
    i++;
  }
  pushWord();
  if (!split && words.length === 0) words.push('');
  return { words, used };
}

/** One word: the whole text processed (quotes removed, variables expanded). */
export function lexWord(text: string, lookup: Lookup, escape = '\\'): { word: string; used: Set<string> } {
  const r = lexWords(text, lookup, escape, false);
  return { word: r.words[0] ?? '', used: r.used };
}

/**
 * ENV, LABEL and ARG's pairs: `k=v k2="v 2"`, or the old `ENV k v w` (one
 * pair, the rest of the line the value). ARG may name a key alone.
 */
export function parsePairs(text: string, lookup: Lookup, escape: string, opts: { keyOnly?: boolean } = {}): { pairs: Array<[string, string | undefined]>; used: Set<string> } {
  const trimmed = text.trim();
  const first = trimmed.split(/\s+/)[0] ?? '';
  if (!first.includes('=') && !opts.keyOnly) {
    const rest = trimmed.slice(first.length).trim();
    if (!rest) throw new SubstitutionError(`${first || 'it'} needs a value (KEY=VALUE, or KEY VALUE)`);
    const r = lexWord(rest, lookup, escape);
    return { pairs: [[first, r.word]], used: r.used };
  }
  const r = lexWords(trimmed, lookup, escape, true);
  const pairs: Array<[string, string | undefined]> = r.words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) {
      if (opts.keyOnly) return [w, undefined];
      throw new SubstitutionError(`"${w}" is not KEY=VALUE`);
    }
    if (eq === 0) throw new SubstitutionError(`"${w}" has no key`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
  return { pairs, used: r.used };
}
