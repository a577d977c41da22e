import { EngineError } from '../../util/errors.js';
import type { EngineEvent } from './log.js';

/** `--filter` values by key, as Docker's API takes them (`{"type": ["container"], "event": ["start", "die"]}`). */
export type EventFilters = Record<string, string[]>;

/** The keys Docker's events take; those of objects rootlet has not (services, nodes, ...) simply never match. */
const KEYS = ['container', 'event', 'image', 'label', 'network', 'type', 'volume', 'scope', 'daemon', 'plugin', 'node', 'service', 'secret', 'config'];
const TYPES = ['container', 'image', 'network', 'volume', 'daemon', 'plugin', 'node', 'service', 'secret', 'config'];

function invalidFilter(what: string, hint: string): EngineError {
  // Exit 1, as Docker's daemon refuses it (and as `ps --filter` does).
  return new EngineError(`invalid filter '${what}': ${hint}`, 1);
}

/** Refuses an unknown key or type, in one line, before anything is read. */
export function checkEventFilters(f: EventFilters): void {
  for (const [key, values] of Object.entries(f)) {
    if (!KEYS.includes(key)) throw invalidFilter(key, `use one of ${KEYS.slice(0, 7).join(', ')}`);
    if (key === 'type') {
      const bad = values.find((v) => !TYPES.includes(v));
      if (bad !== undefined) throw invalidFilter(`type=${bad}`, 'use container, image, network or volume');
    }
  }
}

/** Docker's ExactMatch: no values for the key lets everything through. */
function exact(f: EventFilters, key: string, ...subjects: Array<string | undefined>): boolean {
  const want = f[key];
  if (!want?.length) return true;
  return subjects.some((s) => s !== undefined && want.includes(s));
}

/** Docker's FuzzyMatch: a value matches exactly or as a prefix (a short id). */
function fuzzy(f: EventFilters, key: string, ...subjects: Array<string | undefined>): boolean {
  const want = f[key];
  if (!want?.length) return true;
  return subjects.some((s) => s !== undefined && want.some((w) => s === w || (w !== '' && s.startsWith(w))));
}

/** busybox:latest -> busybox (a registry port's colon is not a tag's). */
function stripTag(ref: string): string {
  const i = ref.lastIndexOf(':');
  return i > ref.lastIndexOf('/') ? ref.slice(0, i) : ref;
}

function labelsMatch(f: EventFilters, attrs: Record<string, string>): boolean {
  return (f.label ?? []).every((l) => {
    const i = l.indexOf('=');
    const key = i < 0 ? l : l.slice(0, i);
    return Object.hasOwn(attrs, key) && (i < 0 || attrs[key] === l.slice(i + 1));
  });
}

/**
 * Docker's rule: values of one key OR, keys AND. `container`, `network` and
 * `volume` match an event of that type by id (or its prefix) or name, so
 * they keep only events of their type; `image` matches an image event by id
 * or name and a container event by its image, with or without the tag.
 */
export function eventMatches(ev: EngineEvent, f: EventFilters): boolean {
  const a = ev.actor.attributes;
  const own = (type: string) => (ev.type === type ? [ev.actor.id, a.name] : []);
  const imageName = ev.type === 'image' ? a.name : a.image;
  return exact(f, 'event', ev.action)
    && exact(f, 'type', ev.type)
    && exact(f, 'scope', 'local')
    && fuzzy(f, 'container', ...own('container'))
    && fuzzy(f, 'network', ...own('network'))
    && fuzzy(f, 'volume', ...own('volume'))
    && fuzzy(f, 'daemon') && fuzzy(f, 'plugin') && fuzzy(f, 'node') && fuzzy(f, 'service') && fuzzy(f, 'secret') && fuzzy(f, 'config')
    && exact(f, 'image', ev.actor.id, imageName, stripTag(ev.actor.id), imageName === undefined ? undefined : stripTag(imageName))
    && labelsMatch(f, a);
}
