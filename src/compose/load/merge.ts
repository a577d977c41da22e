import { isPlainObject, type Raw } from './normalize.js';
import { Override, Reset } from './yaml.js';

/**
 * The compose-spec merge rules, for several `-f` files and for `extends`,
 * on services already in long form (normalize.ts):
 * - mappings merge key by key, a later scalar replaces an earlier one;
 * - command, entrypoint and healthcheck.test are replaced whole;
 * - ports, volumes, secrets and configs merge by their key (address,
 *   target), a later entry replacing an earlier one with the same key;
 * - other sequences (dns, cap_add, expose, ...) are unions in order;
 * - `!reset` removes the value, `!override` replaces it instead of merging.
 */

const REPLACED = new Set(['command', 'entrypoint', 'test', 'platforms']);

const KEYED: Record<string, (item: any) => string> = {
  ports: (p) => `${p.host_ip ?? ''}|${p.published ?? ''}|${p.target}|${p.protocol}`,
  volumes: (v) => String(v.target),
  secrets: (s) => String(s.target),
  configs: (c) => String(c.target),
  env_file: (e) => String(e.path),
};

export function mergeValue(key: string, base: unknown, over: unknown): unknown {
  if (over instanceof Reset) return undefined;
  if (over instanceof Override) return unwrap(over.value);
  if (base === undefined || base instanceof Reset) return unwrap(over);
  if (base instanceof Override) base = base.value;
  if (REPLACED.has(key)) return unwrap(over);
  if (isPlainObject(base) && isPlainObject(over)) return mergeMaps(base, over);
  if (Array.isArray(base) && Array.isArray(over)) {
    const keyOf = KEYED[key];
    if (keyOf) {
      const out = [...base];
      for (const item of over) {
        const k = keyOf(item);
        const at = out.findIndex((b) => keyOf(b) === k);
        if (at >= 0) out[at] = item;
        else out.push(item);
      }
      return out;
    }
    const out = [...base];
    for (const item of over) if (!out.some((b) => JSON.stringify(b) === JSON.stringify(item))) out.push(item);
    return out;
  }
  return unwrap(over);
}

export function mergeMaps(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const merged = mergeValue(k, base[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}

/** The markers left where nothing was merged under them: `!reset` goes, `!override` is its value. */
export function unwrap(v: unknown): unknown {
  if (v instanceof Override) return unwrap(v.value);
  if (Array.isArray(v)) return v.filter((x) => !(x instanceof Reset)).map(unwrap);
  if (isPlainObject(v)) {
    const out: Raw = {};
    for (const [k, x] of Object.entries(v)) if (!(x instanceof Reset)) out[k] = unwrap(x);
    return out;
  }
  return v;
}
