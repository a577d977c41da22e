import { interpolate, type Lookup } from './interpolate.js';

/**
 * Docker's env file syntax (`.env`, `--env-file`, a service's `env_file`):
 * `KEY=value` lines, `export KEY=value`, `#` comments (a whole line, or
 * after a space in an unquoted value), single quotes literal, double quotes
 * with `\n`, `\t`, `\\`, `\"` escapes and lines joined until the closing
 * quote; unquoted and double-quoted values are interpolated from the
 * variables defined above them and from `lookup`. A bare `KEY` takes the
 * value from `lookup` (null when unset: the variable is then left out).
 * Hand-written: `dotenv` has neither the interpolation nor bare keys.
 */
export function parseEnvFile(text: string, lookup: Lookup = () => undefined): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const seen: Lookup = (n) => (Object.prototype.hasOwnProperty.call(out, n) && out[n] !== null ? out[n]! : lookup(n));
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let li = 0; li < lines.length; li++) {
    let line = lines[li]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (/^export\s+/.test(line)) line = line.replace(/^export\s+/, '');
    const m = /^([^=\s]+)\s*(=?)\s*/.exec(line);
    if (!m) throw new Error(`line ${li + 1}: not KEY=VALUE`);
    const key = m[1]!;
    if (!/^[^\s=]+$/.test(key) || key.includes('#')) throw new Error(`line ${li + 1}: invalid variable name ${JSON.stringify(key)}`);
    if (!m[2]) {
      if (line.slice(m[0].length).trim() && !line.slice(m[0].length).trim().startsWith('#')) throw new Error(`line ${li + 1}: ${JSON.stringify(key)} has no "="`);
      const v = lookup(key);
      out[key] = v ?? null;
      continue;
    }
    let rest = line.slice(m[0].length);
    const q = rest[0];
    if (q === "'" || q === '"') {
      // A quoted value may run over several lines until its closing quote.
      let body = rest.slice(1);
      let end = findQuote(body, q);
      while (end < 0 && li + 1 < lines.length) {
        body += '\n' + lines[++li];
        end = findQuote(body, q);
      }
      if (end < 0) throw new Error(`line ${li + 1}: unterminated quoted value of ${key}`);
      const raw = body.slice(0, end);
      out[key] = q === "'" ? raw : interpolate(unescapeDouble(raw), seen);
      continue;
    }
    const hash = rest.search(/\s#/);
    if (hash >= 0) rest = rest.slice(0, hash);
    out[key] = interpolate(rest.trimEnd(), seen);
  }
  return out;
}

function findQuote(s: string, q: string): number {
  for (let i = 0; i < s.length; i++) {
    if (q === '"' && s[i] === '\\') {
      i++;
      continue;
    }
    if (s[i] === q) return i;
  }
  return -1;
}

function unescapeDouble(s: string): string {
  return s.replace(/\\(.)/gs, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', $: '$$' }[c] ?? `\\${c}`));
}
