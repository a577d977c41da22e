import { createHash } from 'node:crypto';
import type { ComposeService } from '../model.js';

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/**
 * The service's configuration hash (label com.docker.compose.config-hash):
 * `up` recreates a container whose label differs. As Compose, the number
 * of replicas is left out (scaling is not a change of configuration), and
 * so are profiles and the build section (a rebuilt image is seen by its
 * id, not by its recipe).
 */
export function configHash(s: ComposeService): string {
  const { scale: _scale, profiles: _profiles, build: _build, deploy, ...rest } = s;
  const { replicas: _replicas, ...deployRest } = deploy ?? {};
  return createHash('sha256').update(JSON.stringify(canonical({ ...rest, deploy: deployRest }))).digest('hex');
}
