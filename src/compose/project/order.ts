import { EngineError } from '../../util/errors.js';
import type { ComposeProject } from '../model.js';

/**
 * The services to act on, dependencies first: `selected` (all when empty)
 * and, unless `noDeps`, what they depend on, recursively. A cycle or an
 * unknown service is an error naming it (the loader checks too; this is
 * what the order itself needs).
 */
export function startOrder(project: ComposeProject, selected: string[] = [], noDeps = false): string[] {
  for (const s of selected) {
    if (!project.services[s]) {
      throw new EngineError(project.disabledServices[s] ? `service "${s}" is not enabled by the active profiles` : `no such service: ${s}`, 1);
    }
  }
  const want = new Set(selected.length ? selected : Object.keys(project.services));
  const out: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new EngineError(`dependency cycle detected: ${[...path, name].join(' -> ')}`, 1);
    const svc = project.services[name];
    if (!svc) throw new EngineError(`service "${path[path.length - 1]}" depends on undefined service "${name}"`, 1);
    state.set(name, 'visiting');
    for (const [dep, d] of Object.entries(svc.depends_on)) {
      if (!project.services[dep] && !d.required) continue;
      if (noDeps && !want.has(dep)) continue;
      visit(dep, [...path, name]);
    }
    state.set(name, 'done');
    if (want.has(name) || !noDeps) out.push(name);
  };
  for (const name of Object.keys(project.services)) if (want.has(name)) visit(name, []);
  return out;
}

/** The services that depend on `name` (directly or not). */
export function dependents(project: ComposeProject, name: string): string[] {
  const out = new Set<string>();
  const walk = (n: string) => {
    for (const [s, svc] of Object.entries(project.services)) {
      if (svc.depends_on[n] && !out.has(s)) {
        out.add(s);
        walk(s);
      }
    }
  };
  walk(name);
  return [...out];
}
