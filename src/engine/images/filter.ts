import { familiarName, familiarRepository, parseReference, repository } from '../../image/reference.js';
import type { ImageRecord } from '../../image/store.js';
import { invalidFilter, parseFilters } from '../containers/filter.js';
import { parseTimestamp, ValueError } from '../../util/values.js';

const LIST_KEYS = ['dangling', 'reference', 'label', 'before', 'since', 'until'];
const PRUNE_KEYS = ['until', 'label', 'label!'];

/** When the image was made: its config's `created`, else when it entered the store. */
export function imageCreated(img: ImageRecord): number {
  const t = img.config.created ? Date.parse(img.config.created) : NaN;
  return Number.isNaN(t) ? img.created : t;
}

/** Go's path.Match: `*` and `?` stop at `/`, `[...]` is a class; anything else is literal. */
export function globMatch(pattern: string, subject: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) return false;
      const body = pattern.slice(i + 1, end);
      re += `[${body.startsWith('^') ? `^${body.slice(1)}` : body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]!}`;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`).test(subject);
  } catch {
    return false;
  }
}

/** Docker's reference filter: the pattern against the familiar `name:tag`, then against the familiar name alone. */
export function referenceMatches(pattern: string, fullName: string): boolean {
  const r = parseReference(fullName, null);
  return globMatch(pattern, familiarName(fullName)) || globMatch(pattern, familiarRepository(repository(r)));
}

/** `label=KEY`, `label=KEY=VALUE`: the image's labels hold it. */
function hasLabel(img: ImageRecord, spec: string): boolean {
  const labels = img.config.config?.Labels ?? {};
  const i = spec.indexOf('=');
  const key = i < 0 ? spec : spec.slice(0, i);
  return Object.hasOwn(labels, key) && (i < 0 || labels[key] === spec.slice(i + 1));
}

/**
 * Docker's `until=`: a duration before now (`10m`, `1h30m`), a Unix time
 * (seconds, with a fraction) or an RFC 3339 date.
 */
export function parseUntil(value: string, now = Date.now()): number {
  try {
    return parseTimestamp(value, 'until', now);
  } catch (err) {
    if (err instanceof ValueError) throw invalidFilter(`until=${value}`, 'give a duration (10m, 24h), a Unix time or an RFC 3339 date');
    throw err;
  }
}

export interface ImageFilter {
  /** Whether the image is listed at all. */
  test(img: ImageRecord): boolean;
  /** Which of its names are shown (reference= hides the others). */
  names(img: ImageRecord): string[];
}

/**
 * `images --filter`: dangling, reference, label, before, since, until.
 * Values of one key are alternatives, keys must all hold; every label must.
 * `resolve` finds the image that before=/since= name.
 */
export function imageListFilter(args: string[], resolve: (ref: string) => ImageRecord, now = Date.now()): ImageFilter {
  const f = parseFilters(args, LIST_KEYS);
  const get = (k: string) => f.get(k) ?? [];
  const dangling = get('dangling').map((v) => {
    if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') throw invalidFilter(`dangling=${v}`, 'use true or false');
    return v === 'true' || v === '1';
  });
  const before = get('before').map((r) => imageCreated(resolve(r)));
  const since = get('since').map((r) => imageCreated(resolve(r)));
  const until = get('until').map((v) => parseUntil(v, now));
  const refs = get('reference');
  const names = (img: ImageRecord) => (refs.length ? img.tags.filter((t) => refs.some((p) => referenceMatches(p, t))) : img.tags);
  return {
    names,
    test(img) {
      const created = imageCreated(img);
      return dangling.every((d) => d === (img.tags.length === 0))
        && (!refs.length || names(img).length > 0)
        && get('label').every((l) => hasLabel(img, l))
        && before.every((t) => created < t)
        && since.every((t) => created > t)
        && until.every((t) => created < t);
    },
  };
}

/** `image prune --filter`: until=, label=, label!=. */
export function imagePruneFilter(args: string[], now = Date.now()): (img: ImageRecord) => boolean {
  // `label!=KEY=VALUE` splits at its first `=` into the key `label!`.
  const f = parseFilters(args, PRUNE_KEYS);
  const until = (f.get('until') ?? []).map((v) => parseUntil(v, now));
  const labels = f.get('label') ?? [];
  const notLabels = f.get('label!') ?? [];
  return (img) => until.every((t) => imageCreated(img) < t)
    && labels.every((l) => hasLabel(img, l))
    && notLabels.every((l) => !hasLabel(img, l));
}
