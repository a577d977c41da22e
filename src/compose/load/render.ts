import { stringify } from 'yaml';
import type { ComposeProject, ComposeService } from '../model.js';

/** What `compose config` prints. */
export type ConfigView = 'yaml' | 'json' | 'services' | 'volumes' | 'profiles' | 'images';

/** The model in `docker compose config`'s layout: name, services (sorted), networks, volumes, secrets, configs, then x-* extensions. */
export function renderConfig(project: ComposeProject, view: ConfigView): string {
  switch (view) {
    case 'services':
      return lines(Object.keys(project.services).sort());
    case 'volumes':
      return lines(Object.keys(project.volumes).sort());
    case 'profiles': {
      const all = new Set<string>();
      for (const s of [...Object.values(project.services), ...Object.values(project.disabledServices)]) for (const p of s.profiles ?? []) all.add(p);
      return lines([...all].sort());
    }
    case 'images':
      // A service that is only built is tagged PROJECT-SERVICE, as Docker names it.
      return lines(Object.values(project.services).sort((a, b) => a.name.localeCompare(b.name)).map((s) => s.image ?? `${project.name}-${s.name}`));
    case 'json':
      return `${JSON.stringify(configDocument(project), null, 2)}\n`;
    default:
      // YAML 1.1 output quotes yes/no/on/off strings, as Docker's (go-yaml) does, so 1.1 readers keep them strings.
      return stringify(configDocument(project), { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
  }
}

function lines(items: string[]): string {
  return items.map((i) => `${i}\n`).join('');
}

function sortedMap<T>(m: Record<string, T>, fn: (v: T) => unknown = (v) => v): Record<string, unknown> {
  return Object.fromEntries(Object.keys(m).sort().map((k) => [k, fn(m[k]!)]));
}

export function configDocument(project: ComposeProject): Record<string, unknown> {
  const doc: Record<string, unknown> = { name: project.name, services: sortedMap(project.services, serviceDocument) };
  for (const k of ['networks', 'volumes', 'secrets', 'configs'] as const) {
    if (Object.keys(project[k]).length) doc[k] = sortedMap(project[k] as Record<string, unknown>);
  }
  Object.assign(doc, project.extensions ?? {});
  return doc;
}

/** Keys sorted, the service's name (the map key) and empty defaults left out, as Docker omits them. */
function serviceDocument(s: ComposeService): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(s).sort()) {
    if (k === 'name' || k === 'extensions') continue;
    const v = (s as unknown as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (k === 'scale' && v === 1) continue;
    if (Array.isArray(v) && v.length === 0 && k !== 'command' && k !== 'entrypoint') continue;
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 && k !== 'networks') continue;
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && (k === 'environment' || k === 'labels' || k === 'depends_on' || k === 'networks') ? sortedMap(v as Record<string, unknown>) : v;
  }
  Object.assign(out, s.extensions ?? {});
  return out;
}
