import { EngineError } from '../../util/errors.js';
import { type NetworkRecord } from './store.js';
import { DEFAULT_NETWORK } from './defaults.js';

const LIST_KEYS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];

/**
 * Docker's `network ls --filter`: each argument is KEY=VALUE; one key ORs
 * its values, several keys AND. `inUse` tells whether a container names the
 * network (dangling=).
 */
export function networkFilter(args: string[], inUse: (n: NetworkRecord) => boolean): (n: NetworkRecord) => boolean {
  const by = new Map<string, string[]>();
  for (const a of args) {
    const i = a.indexOf('=');
    const k = i < 0 ? a : a.slice(0, i);
    if (!LIST_KEYS.includes(k) || i < 0) throw new EngineError(`invalid filter '${a}': use ${LIST_KEYS.map((x) => `${x}=...`).join(', ')}`, 1);
    by.set(k, [...(by.get(k) ?? []), a.slice(i + 1)]);
  }
  const any = (k: string, pred: (v: string) => boolean) => !by.has(k) || by.get(k)!.some(pred);
  return (n) => any('driver', (v) => v === n.driver)
    && any('id', (v) => n.id.startsWith(v))
    && (by.get('label') ?? []).every((l) => labelMatches(n.labels, l))
    && any('name', (v) => n.name.includes(v))
    && any('scope', (v) => v === 'local')
    && any('type', (v) => v === (n.name === DEFAULT_NETWORK ? 'builtin' : 'custom'))
    && any('dangling', (v) => (v === 'true' || v === '1') === (!inUse(n) && n.name !== DEFAULT_NETWORK));
}

/** `network prune --filter`: only label=KEY[=VALUE]; returns the label filters. */
export function pruneLabels(args: string[]): string[] {
  return args.map((x) => {
    if (!x.startsWith('label=')) throw new EngineError(`invalid filter '${x}': network prune takes label=KEY[=VALUE]`, 1);
    return x.slice('label='.length);
  });
}

/** A label filter: KEY (present) or KEY=VALUE (equal). */
export function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const i = filter.indexOf('=');
  const key = i < 0 ? filter : filter.slice(0, i);
  return Object.hasOwn(labels, key) && (i < 0 || labels[key] === filter.slice(i + 1));
}
