/**
 * What Go's templates do with values: print them as fmt does, judge their
 * truth, and the functions a template may call (Go's built-ins and
 * Docker's). Used by template.ts.
 */

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export type Fn = (...args: unknown[]) => unknown;

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function goType(v: unknown): string {
  if (v === null || v === undefined) return 'interface {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** Go's %v of a float64: shortest digits, exponent form below 1e-4 and from 1e21. */
function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mant, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 21) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** fmt.Sprint of one value, as Go prints what a template action yields. */
export function printValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(printNested).join(' ')}]`;
  if (typeof v === 'function') return '<func>';
  const m = v as Record<string, unknown>;
  return `map[${Object.keys(m).sort().map((k) => `${k}:${printNested(m[k])}`).join(' ')}]`;
}

// Inside a composite, Go prints a nil as <nil> whatever its origin.
function printNested(v: unknown): string {
  return v === undefined ? '<nil>' : printValue(v);
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'function') return true;
  return Object.keys(v as object).length > 0;
}

/** Go's json.Encoder with HTML escaping off, as Docker's `json` function uses it. */
export function goJson(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v);
  return (s ?? 'null').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function str(v: unknown, fn: string): string {
  if (typeof v !== 'string') throw new TemplateError(`wrong type for value; expected string; got ${goType(v)} (in ${fn})`);
  return v;
}

function int(v: unknown, fn: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TemplateError(`wrong type for value; expected int; got ${goType(v)} (in ${fn})`);
  return v;
}

/** fmt.Sprint: a space between operands when neither is a string. */
function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printValue(a);
  });
  return out;
}

/** fmt.Sprintf for the verbs templates use: %v %s %d %q %t %x %X %f %%, with flags, width and precision. */
function sprintf(format: string, args: unknown[]): string {
  let n = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([vsdqtxXfeg%])/g, (_m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++];
    let s: string;
    switch (verb) {
      case 'd': s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${goType(a)}=${printValue(a)})`; break;
      case 'q': s = JSON.stringify(typeof a === 'string' ? a : printValue(a)); break;
      case 'x': case 'X': {
        const h = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(printValue(a)).toString('hex');
        s = verb === 'X' ? h.toUpperCase() : h;
        break;
      }
      case 'f': s = typeof a === 'number' ? a.toFixed(prec !== undefined ? Number(prec) : 6) : `%!f(${goType(a)}=${printValue(a)})`; break;
      case 'e': s = typeof a === 'number' ? a.toExponential(prec !== undefined ? Number(prec) : 6).replace(/e([+-])(\d)$/, 'e$10$2') : printValue(a); break;
      default: s = printValue(a);
        if ((verb === 's' || verb === 'v') && prec !== undefined) s = [...s].slice(0, Number(prec)).join('');
    }
    if (width) {
      const w = Number(width);
      const len = [...s].length;
      if (len < w) s = flags.includes('-') ? s + ' '.repeat(w - len) : (flags.includes('0') && /[dfxX]/.test(verb!) ? '0' : ' ').repeat(w - len) + s;
    }
    return s;
  }) + (n < args.length ? `%!(EXTRA ${args.slice(n).map((a) => `${goType(a)}=${printValue(a)}`).join(', ')})` : '');
}

function compare(name: string, a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (name === 'eq' || name === 'ne') {
    if (typeof a === typeof b || a === null || b === null || a === undefined || b === undefined) {
      if (typeof a === 'object' && a !== null) throw new TemplateError(`error calling ${name}: non-comparable type ${goType(a)}`);
      return a === b ? 0 : 1;
    }
  }
  throw new TemplateError(`error calling ${name}: incompatible types for comparison`);
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (v === undefined) throw new TemplateError('error calling index: index of untyped nil');
    // A nil map indexes to the zero value, as Go's typed maps do.
    if (v === null) return '';
    if (Array.isArray(v) || typeof v === 'string') {
      if (typeof k !== 'number' || !Number.isInteger(k)) throw new TemplateError(`error calling index: cannot index slice/array with type ${goType(k)}`);
      if (k < 0 || k >= v.length) throw new TemplateError(`error calling index: index out of range: ${k}`);
      v = typeof v === 'string' ? Buffer.from(v)[k] : v[k];
    } else if (isMap(v)) {
      if (typeof k !== 'string') throw new TemplateError(`error calling index: value has type ${goType(k)}; should be string`);
      // Go gives the map's zero value for a missing key: Docker's maps hold strings.
      v = Object.hasOwn(v, k) ? v[k] : '';
    } else {
      throw new TemplateError(`error calling index: can't index item of type ${goType(v)}`);
    }
  }
  return v;
}

function titleCase(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase());
}

/** Go's built-in template functions (less html, js, urlquery, slice, call) and Docker's. */
export const FUNCTIONS: Record<string, Fn> = {
  // and/or are evaluated lazily by the executor; these serve piped calls.
  and: (...a) => a.find((x) => !truth(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truth(x)) ?? a[a.length - 1],
  not: (a) => !truth(a),
  len: (a) => {
    if (typeof a === 'string') return Buffer.byteLength(a);
    if (Array.isArray(a)) return a.length;
    if (isMap(a)) return Object.keys(a).length;
    throw new TemplateError(`error calling len: len of type ${goType(a)}`);
  },
  index,
  print: (...a) => sprint(a),
  println: (...a) => `${a.map(printValue).join(' ')}\n`,
  printf: (f, ...a) => sprintf(str(f, 'printf'), a),
  eq: (a, ...b) => {
    if (!b.length) throw new TemplateError('error calling eq: missing argument for comparison');
    return b.some((x) => compare('eq', a, x) === 0);
  },
  ne: (a, b) => compare('ne', a, b) !== 0,
  lt: (a, b) => compare('lt', a, b) < 0,
  le: (a, b) => compare('le', a, b) <= 0,
  gt: (a, b) => compare('gt', a, b) > 0,
  ge: (a, b) => compare('ge', a, b) >= 0,
  json: (v) => goJson(v),
  join: (a, sep) => {
    if (!Array.isArray(a)) throw new TemplateError(`wrong type for value; expected []string; got ${goType(a)} (in join)`);
    return a.map((x) => printValue(x)).join(str(sep, 'join'));
  },
  split: (s, sep) => {
    const text = str(s, 'split');
    const by = str(sep, 'split');
    return by === '' ? [...text] : text.split(by);
  },
  lower: (s) => str(s, 'lower').toLowerCase(),
  upper: (s) => str(s, 'upper').toUpperCase(),
  title: (s) => titleCase(str(s, 'title')),
  pad: (s, before, after) => ' '.repeat(Math.max(0, int(before, 'pad'))) + str(s, 'pad') + ' '.repeat(Math.max(0, int(after, 'pad'))),
  truncate: (s, n) => {
    const text = str(s, 'truncate');
    const len = int(n, 'truncate');
    return text.length < len ? text : text.slice(0, len);
  },
};

/**
 * Docker's functions when a table's header row is rendered: each gives its
 * first argument back, so `{{json .Names}}` heads its column with NAMES.
 */
export const HEADER_FUNCTIONS: Record<string, Fn> = Object.fromEntries(
  ['json', 'join', 'split', 'lower', 'upper', 'title', 'pad', 'truncate'].map((n) => [n, (v: unknown) => (typeof v === 'string' ? v : printValue(v))]),
);
