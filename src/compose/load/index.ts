import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { EngineError } from '../../util/errors.js';
import type {
  ComposeDependency, ComposePort, ComposeProject, ComposeService, ComposeServiceVolume, LoadOptions,
} from '../model.js';

/**
 * Find, read, merge, interpolate, validate and normalise a project's compose
 * files into the model that every compose command reads.
 *
 * THROWAWAY: a minimal loader so that the project operations can be tested
 * before the real one (part 1 of issue 14) lands; at the merge this whole
 * directory is replaced. One file, only the short syntaxes the operations'
 * tests use, no interpolation, no merge of several files.
 */
export async function loadProject(opts: LoadOptions): Promise<ComposeProject> {
  const names = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
  const given = opts.files.length ? opts.files : (opts.env.COMPOSE_FILE ? opts.env.COMPOSE_FILE.split(':') : []);
  let file: string | undefined;
  if (given.length) {
    file = resolve(opts.cwd, given[0]!);
    if (!existsSync(file)) throw new EngineError(`open ${file}: no such file or directory`, 1);
  } else {
    for (let dir = opts.cwd; !file; dir = dirname(dir)) {
      file = names.map((n) => resolve(dir, n)).find((p) => existsSync(p));
      if (dir === '/') break;
    }
    if (!file) throw new EngineError('no configuration file provided: not found', 1);
  }
  const workingDir = opts.projectDirectory ? resolve(opts.cwd, opts.projectDirectory) : dirname(file);
  const doc = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, any>;
  const name = (opts.projectName ?? opts.env.COMPOSE_PROJECT_NAME ?? doc.name ?? basename(workingDir)).toLowerCase().replace(/[^a-z0-9_-]/g, '');
  const services: Record<string, ComposeService> = {};
  const disabled: Record<string, ComposeService> = {};
  const profiles = [...opts.profiles, ...(opts.env.COMPOSE_PROFILES ? opts.env.COMPOSE_PROFILES.split(',') : [])];
  for (const [key, raw] of Object.entries((doc.services ?? {}) as Record<string, any>)) {
    const s = service(key, raw ?? {}, workingDir);
    if (s.profiles?.length && !s.profiles.some((p) => profiles.includes(p))) disabled[key] = s;
    else services[key] = s;
  }
  const networks: ComposeProject['networks'] = {};
  for (const [k, v] of Object.entries((doc.networks ?? {}) as Record<string, any>)) {
    networks[k] = { ...(v ?? {}), name: v?.name ?? (v?.external ? k : `${name}_${k}`) };
  }
  if (Object.values(services).some((s) => !s.network_mode) && !networks.default) networks.default = { name: `${name}_default` };
  const volumes: ComposeProject['volumes'] = {};
  for (const [k, v] of Object.entries((doc.volumes ?? {}) as Record<string, any>)) {
    volumes[k] = { ...(v ?? {}), name: v?.name ?? (v?.external ? k : `${name}_${k}`) };
  }
  return { name, workingDir, files: [file], services, networks, volumes, secrets: {}, configs: {}, disabledServices: disabled };
}

function argv(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String);
  return String(v).split(/\s+/).filter(Boolean);
}

function map(v: unknown): Record<string, string | null> {
  if (!v) return {};
  if (Array.isArray(v)) {
    return Object.fromEntries(v.map((e: string) => {
      const i = e.indexOf('=');
      return i < 0 ? [e, null] : [e.slice(0, i), e.slice(i + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, x === null ? null : String(x)]));
}

function service(name: string, raw: Record<string, any>, dir: string): ComposeService {
  const ports: ComposePort[] = (raw.ports ?? []).map((p: unknown) => {
    if (typeof p === 'object') return { protocol: 'tcp', mode: 'ingress', ...(p as object) } as ComposePort;
    const [body, proto] = String(p).split('/');
    const parts = body!.split(':');
    const target = Number(parts.pop());
    const published = parts.pop();
    return { target, ...(published ? { published } : {}), ...(parts.length ? { host_ip: parts[0] } : {}), protocol: (proto ?? 'tcp') as 'tcp', mode: 'ingress' };
  });
  const volumes: ComposeServiceVolume[] = (raw.volumes ?? []).map((v: unknown) => {
    if (typeof v === 'object') return v as ComposeServiceVolume;
    const [src, target, mode] = String(v).split(':');
    if (target === undefined) return { type: 'volume', target: src! };
    const bind = src!.startsWith('.') || src!.startsWith('/');
    return { type: bind ? 'bind' : 'volume', source: bind ? resolve(dir, src!) : src, target, ...(mode === 'ro' ? { read_only: true } : {}), ...(bind ? { bind: { create_host_path: true } } : {}) };
  });
  const dependsOn: Record<string, ComposeDependency> = {};
  if (Array.isArray(raw.depends_on)) for (const d of raw.depends_on) dependsOn[d] = { condition: 'service_started', required: true, restart: false };
  else for (const [d, c] of Object.entries((raw.depends_on ?? {}) as Record<string, any>)) dependsOn[d] = { condition: 'service_started', required: true, restart: false, ...c };
  const networks: ComposeService['networks'] = {};
  if (Array.isArray(raw.networks)) for (const n of raw.networks) networks[n] = null;
  else Object.assign(networks, raw.networks ?? {});
  if (!raw.network_mode && !Object.keys(networks).length) networks.default = null;
  const build = raw.build === undefined ? undefined : typeof raw.build === 'string' ? { context: resolve(dir, raw.build) } : { ...raw.build, context: resolve(dir, raw.build.context ?? '.') };
  const hc = raw.healthcheck;
  return {
    ...raw,
    name,
    ...(build ? { build } : {}),
    command: argv(raw.command),
    entrypoint: argv(raw.entrypoint),
    environment: map(raw.environment),
    labels: map(raw.labels) as Record<string, string>,
    ports,
    volumes,
    networks,
    depends_on: dependsOn,
    ...(hc ? { healthcheck: { ...hc, ...(typeof hc.test === 'string' ? { test: ['CMD-SHELL', hc.test] } : {}) } } : {}),
    scale: raw.scale ?? raw.deploy?.replicas ?? 1,
  } as ComposeService;
}
