import { ComposeError } from './errors.js';

/**
 * Splits a command string into words as a POSIX shell would, without
 * expanding anything: compose hands `command: echo "$$HOME"` to the
 * container as `['echo', '$HOME']` (the `$` left after interpolation is the
 * container's business). Operators (`&&`, `|`, `;`) stay plain words, as
 * Docker's loader keeps them. Hand-written rather than `shell-quote`:
 * that library expands variables and turns operators and globs into
 * objects, which compose does not do.
 */
export function splitShellWords(s: string, what: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === '\\') {
      if (i + 1 < s.length) {
        // A backslash-newline joins lines; any other escaped character is itself.
        if (s[i + 1] !== '\n') cur += s[i + 1];
        i += 2;
      } else {
        i++;
      }
      continue;
    }
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new ComposeError(`${what}: unterminated single quote in ${JSON.stringify(s)}`);
      cur += s.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const d = s[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        // Inside double quotes a backslash escapes only these, as in sh.
        if (d === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1]!)) {
          if (s[i + 1] !== '\n') cur += s[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      if (!closed) throw new ComposeError(`${what}: unterminated double quote in ${JSON.stringify(s)}`);
      continue;
    }
    cur += c;
    i++;
  }
  if (inWord) words.push(cur);
  return words;
}
