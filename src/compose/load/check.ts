import type { ComposeProject, ComposeService } from '../model.js';
import { ComposeError } from './errors.js';

/**
 * What the schema cannot see: references between parts of the project.
 * Every service counts, profiles or not (a disabled service is still
 * defined); `origin` names the file a service was last defined in.
 */
export function checkProject(project: ComposeProject, all: Record<string, ComposeService>, origin: Record<string, string>): void {
  const at = (svc: string, path: string) => `${origin[svc] ?? ''}: services.${svc}.${path}`;
  const known = (n: string) => Object.prototype.hasOwnProperty.call(all, n);
  for (const [name, s] of Object.entries(all)) {
    for (const dep of Object.keys(s.depends_on)) {
      if (!known(dep)) throw new ComposeError(`${at(name, 'depends_on')}: unknown service "${dep}"`);
    }
    (s.links ?? []).forEach((l, i) => {
      const target = l.split(':')[0]!;
      if (!known(target)) throw new ComposeError(`${at(name, `links[${i}]`)}: unknown service "${target}"`);
    });
    (s.volumes_from ?? []).forEach((v, i) => {
      if (v.startsWith('container:')) return;
      const target = v.split(':')[0]!;
      if (!known(target)) throw new ComposeError(`${at(name, `volumes_from[${i}]`)}: unknown service "${target}"`);
    });
    if (s.network_mode?.startsWith('service:')) {
      const target = s.network_mode.slice('service:'.length);
      if (!known(target)) throw new ComposeError(`${at(name, 'network_mode')}: unknown service "${target}"`);
    }
    s.volumes.forEach((v, i) => {
      if (v.type === 'volume' && v.source && !project.volumes[v.source]) {
        throw new ComposeError(`${at(name, `volumes[${i}]`)}: volume "${v.source}" is not declared in the top-level volumes`);
      }
    });
    for (const net of Object.keys(s.networks)) {
      if (net !== 'default' && !project.networks[net]) {
        throw new ComposeError(`${at(name, 'networks')}: network "${net}" is not declared in the top-level networks`);
      }
    }
    for (const kind of ['secrets', 'configs'] as const) {
      (s[kind] ?? []).forEach((r, i) => {
        if (!project[kind][r.source]) throw new ComposeError(`${at(name, `${kind}[${i}]`)}: ${kind.slice(0, -1)} "${r.source}" is not declared in the top-level ${kind}`);
      });
    }
    (s.build?.secrets ?? []).forEach((r, i) => {
      if (!project.secrets[r.source]) throw new ComposeError(`${at(name, `build.secrets[${i}]`)}: secret "${r.source}" is not declared in the top-level secrets`);
    });
  }
  const cycle = dependencyCycle(all);
  if (cycle) throw new ComposeError(`${at(cycle[0]!, 'depends_on')}: dependency cycle: ${cycle.join(' -> ')}`);
}

/** The first depends_on cycle, as `[a, b, a]`, in the services' order. */
export function dependencyCycle(services: Record<string, { depends_on: Record<string, unknown> }>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'visiting') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'visiting');
    stack.push(n);
    for (const dep of Object.keys(services[n]?.depends_on ?? {})) {
      const c = visit(dep);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of Object.keys(services)) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}
