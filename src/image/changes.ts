import { EngineError } from '../util/errors.js';
import type { ImageRuntimeConfig } from './oci.js';

/** Parses a JSON array form (`["a","b"]`) or falls back to the shell form. */
function commandForm(value: string): string[] {
  const v = value.trim();
  if (v.startsWith('[')) {
    try {
      const arr = JSON.parse(v) as unknown;
      if (Array.isArray(arr) && arr.every((x) => typeof x === 'string')) return arr as string[];
    } catch { /* shell form below */ }
  }
  return ['/bin/sh', '-c', v];
}

/** Splits `k=v k2="v 2"` or the legacy `k v` form. */
function keyValues(value: string, legacySpace: boolean): Array<[string, string]> {
  const v = value.trim();
  if (legacySpace && !/^[^\s=]+=/.test(v)) {
    const sp = v.search(/\s/);
    if (sp < 0) throw new EngineError(`ENV ${v}: needs a value`);
    return [[v.slice(0, sp), v.slice(sp).trim()]];
  }
  const out: Array<[string, string]> = [];
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(v)) !== null) {
    const val = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4] ?? m[5] ?? '';
    out.push([m[1]!, val]);
  }
  return out;
}

/** Applies Dockerfile-style `--change` instructions (as `docker import -c`) to an image config. */
export function applyChanges(config: ImageRuntimeConfig, changes: string[]): ImageRuntimeConfig {
  const c: ImageRuntimeConfig = { ...config };
  for (const change of changes) {
    const m = /^\s*(\w+)\s*(.*)$/s.exec(change);
    if (!m) throw new EngineError(`invalid --change "${change}"`);
    const instr = m[1]!.toUpperCase();
    const value = m[2]!;
    switch (instr) {
      case 'CMD': c.Cmd = commandForm(value); break;
      case 'ENTRYPOINT': c.Entrypoint = commandForm(value); break;
      case 'WORKDIR': c.WorkingDir = value.trim(); break;
      case 'USER': c.User = value.trim(); break;
      case 'STOPSIGNAL': c.StopSignal = value.trim(); break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of keyValues(value, true)) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`; else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL': {
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of keyValues(value, false)) c.Labels[k] = v;
        break;
      }
      case 'EXPOSE': {
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of value.trim().split(/\s+/).filter(Boolean)) c.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      }
      case 'VOLUME': {
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const p of commandForm(value)[0] === '/bin/sh' ? value.trim().split(/\s+/) : commandForm(value)) c.Volumes[p] = {};
        break;
      }
      default:
        throw new EngineError(`--change: ${instr} is not supported (use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)`);
    }
  }
  return c;
}
