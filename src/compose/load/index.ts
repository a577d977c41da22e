import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type {
  ComposeFileObject, ComposeNetwork, ComposeProject, ComposeService, ComposeVolume, LoadOptions,
} from '../model.js';
import { parseEnvFile } from './envfile.js';
import { ComposeError, docPath } from './errors.js';
import { checkProjectName, findFiles, projectNameFromDir } from './find.js';
import { interpolate, InterpolationError, type Lookup } from './interpolate.js';
import { mergeMaps, mergeValue, unwrap } from './merge.js';
import { isPlainObject, normalizeService, resolvePath, type Raw } from './normalize.js';
import { validateSchema } from './schema.js';
import { checkProject } from './check.js';
import { Override, parseYaml, Reset } from './yaml.js';

export { ComposeError } from './errors.js';
export { renderConfig, type ConfigView } from './render.js';

/**
 * Find, read, merge, interpolate, validate and normalise a project's compose
 * files into the model that every compose command reads.
 *
 * The steps, per file as Docker's loader takes them: parse the YAML,
 * interpolate variables, validate against the compose-spec schema, turn
 * short syntax into long, follow `extends`; then merge the files in
 * order, apply profiles, read env_files, check references (services,
 * volumes, networks, secrets, configs, dependency cycles) and fill the
 * defaults of the normal form (model.ts).
 */
export async function loadProject(opts: LoadOptions): Promise<ComposeProject> {
  const warn = opts.warn ?? (() => undefined);
  const workDir = opts.projectDirectory ? resolve(opts.cwd, opts.projectDirectory) : opts.cwd;

  // .env first from the working directory, for COMPOSE_FILE and friends; again from the project directory once it is known.
  let dotenv = readDotEnv(opts, workDir);
  const early: Lookup = (n) => opts.env[n] ?? dotenv[n] ?? undefined;
  const files = findFiles(opts.files, opts.files.length ? undefined : early('COMPOSE_FILE'), opts.cwd, warn);
  const projectDir = opts.projectDirectory
    ? workDir
    : files[0] === '-' ? opts.cwd : dirname(files[0]!);
  if (!opts.envFiles.length && projectDir !== workDir) dotenv = readDotEnv(opts, projectDir);
  // The caller's environment wins over .env / --env-file, as in Docker.
  const lookup: Lookup = (n) => (opts.env[n] !== undefined ? opts.env[n] : dotenv[n] ?? undefined);

  const stdinText = files.includes('-') && opts.stdin ? await opts.stdin() : undefined;
  const loader = new FileLoader(opts, lookup, warn, stdinText);
  const merged: Raw = {};
  const origin: Record<string, string> = {};
  /**
   * Adds a file to the project: first what it includes (each included file
   * a model of its own, paths against its own directory), then its own
   * keys. A service defined by two includes, or by an include and the
   * including file, is an error, as in Docker (-f files merge instead).
   */
  const add = (file: LoadedFile, stack: string[], imported?: { names: Map<string, number>; entry: number }) => {
    const mine = new Map<string, number>();
    loader.includes(file, stack).forEach((paths, entry) => {
      for (const inc of paths) add(inc, [...stack, file.path], { names: mine, entry });
    });
    for (const [k, v] of Object.entries(file.doc)) {
      if (k === 'services' || k === 'include') continue;
      if (k === 'version') {
        warn(`${file.display}: the attribute "version" is obsolete, it is ignored`);
        continue;
      }
      const m = mergeValue(k, merged[k], v);
      if (m === undefined) delete merged[k];
      else merged[k] = m;
    }
    const services = (merged.services ??= {}) as Record<string, Raw>;
    for (const name of Object.keys(file.services)) {
      if (mine.has(name)) throw new ComposeError(`${file.display}: services.${name}: conflicts with the service "${name}" that include brings in (${origin[name]})`);
      if (imported) {
        const prev = imported.names.get(name);
        if (prev !== undefined && prev !== imported.entry) throw new ComposeError(`${file.display}: services.${name}: defined by two included files (also ${origin[name]})`);
        imported.names.set(name, imported.entry);
      }
      const svc = loader.resolveExtends(file, name, []);
      services[name] = services[name] ? mergeMaps(services[name]!, svc) : svc;
      origin[name] = file.display;
    }
  };
  for (const f of files) add(loader.load(f, projectDir), []);
  const doc = unwrap(merged) as Raw;

  const name = projectName(opts, lookup, doc, projectDir);
  const profiles = activeProfiles(opts, lookup);
  const project: ComposeProject = {
    name,
    workingDir: projectDir,
    files: files.map((f) => (f === '-' ? '-' : f)),
    services: {},
    networks: {},
    volumes: {},
    secrets: {},
    configs: {},
    disabledServices: {},
  };
  const all: Record<string, ComposeService> = {};
  for (const [sname, raw] of Object.entries((doc.services ?? {}) as Record<string, Raw>)) {
    all[sname] = finishService(sname, raw, lookup, origin[sname] ?? '');
  }
  for (const [sname, svc] of Object.entries(all)) {
    const enabled = !svc.profiles?.length || profiles.includes('*') || svc.profiles.some((p) => profiles.includes(p));
    (enabled ? project.services : project.disabledServices)[sname] = svc;
  }
  const ctx = { baseDir: projectDir, home: opts.env.HOME, where: '' };
  for (const [k, v] of Object.entries((doc.networks ?? {}) as Record<string, Raw | null>)) project.networks[k] = finishNamed<ComposeNetwork>(name, k, v);
  for (const [k, v] of Object.entries((doc.volumes ?? {}) as Record<string, Raw | null>)) project.volumes[k] = finishNamed<ComposeVolume>(name, k, v);
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [k, v] of Object.entries((doc[kind] ?? {}) as Record<string, Raw>)) {
      const o: ComposeFileObject = { ...(v as unknown as ComposeFileObject) };
      const ext = externalName(v);
      if (ext.external) {
        o.external = true;
        o.name = (v.name as string | undefined) ?? ext.name ?? k;
      } else {
        o.name = (v.name as string | undefined) ?? `${name}_${k}`;
      }
      if (o.file) o.file = resolvePath(o.file, ctx);
      project[kind][k] = o;
    }
  }
  const usesDefault = Object.values(project.services).some((s) => 'default' in s.networks);
  if (usesDefault && !project.networks.default) project.networks.default = { name: `${name}_default` };
  const extensions = Object.fromEntries(Object.entries(doc).filter(([k]) => k.startsWith('x-')));
  if (Object.keys(extensions).length) project.extensions = extensions;

  checkProject(project, all, origin);
  return project;
}

/**
 * Enables services that profiles left out because a command names them
 * (`run SERVICE`, `up SERVICE`), as Docker does; a required dependency
 * that stays disabled is an error here, when it is used.
 */
export function activateServices(project: ComposeProject, names: string[]): ComposeProject {
  const services = { ...project.services };
  const disabled = { ...project.disabledServices };
  for (const n of names) {
    if (disabled[n]) {
      services[n] = disabled[n]!;
      delete disabled[n];
    } else if (!services[n]) {
      throw new ComposeError(`no such service: ${n}`);
    }
  }
  for (const s of Object.values(services)) {
    for (const [dep, d] of Object.entries(s.depends_on)) {
      if (d.required && !services[dep] && disabled[dep]) {
        throw new ComposeError(`service "${s.name}" depends on service "${dep}", which is disabled by its profiles (${disabled[dep]!.profiles?.join(', ')}): enable one with --profile or COMPOSE_PROFILES`);
      }
    }
  }
  return { ...project, services, disabledServices: disabled };
}

function readDotEnv(opts: LoadOptions, dir: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const paths = opts.envFiles.length ? opts.envFiles.map((f) => resolve(opts.cwd, f)) : [resolve(dir, '.env')];
  for (const p of paths) {
    if (!existsSync(p)) {
      if (opts.envFiles.length) throw new ComposeError(`env file ${p} not found`);
      continue;
    }
    try {
      // Earlier lines and files, then the caller's environment, feed a value's own interpolation.
      Object.assign(out, parseEnvFile(readFileSync(p, 'utf8'), (n) => opts.env[n] ?? out[n] ?? undefined));
    } catch (e) {
      throw new ComposeError(`${p}: ${(e as Error).message}`);
    }
  }
  return out;
}

function projectName(opts: LoadOptions, lookup: Lookup, doc: Raw, projectDir: string): string {
  if (opts.projectName !== undefined) return checkProjectName(opts.projectName, '-p');
  const env = lookup('COMPOSE_PROJECT_NAME');
  if (env) return checkProjectName(env, 'COMPOSE_PROJECT_NAME');
  if (typeof doc.name === 'string' && doc.name) return checkProjectName(doc.name, 'the top-level "name"');
  return projectNameFromDir(projectDir);
}

function activeProfiles(opts: LoadOptions, lookup: Lookup): string[] {
  const env = (lookup('COMPOSE_PROFILES') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  return [...new Set([...opts.profiles, ...env])];
}

interface LoadedFile {
  path: string;
  display: string;
  doc: Raw;
  /** Normalised, extends not yet followed. */
  services: Record<string, Raw>;
  resolved: Map<string, Raw>;
}

/** Reads files once each (the main ones and those `extends` names). */
class FileLoader {
  private readonly cache = new Map<string, LoadedFile>();
  constructor(
    private readonly opts: LoadOptions,
    private readonly lookup: Lookup,
    private readonly warn: (m: string) => void,
    private readonly stdinText: string | undefined,
  ) {}

  display(path: string): string {
    if (path === '-') return '-';
    const rel = relative(this.opts.cwd, path);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  }

  /** Synchronous, so `extends` can read files while it merges: stdin (`-f -`) was read up front. */
  load(path: string, baseDir: string): LoadedFile {
    const key = `${path}\0${baseDir}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const display = this.display(path);
    let text: string;
    if (path === '-') {
      if (this.stdinText === undefined) throw new ComposeError('-f -: no standard input to read');
      text = this.stdinText;
    } else {
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        throw new ComposeError(`${display}: ${(e as Error).message}`);
      }
    }
    const parsed = parseYaml(text, display);
    const warned = new Set<string>();
    const doc = interpolateTree(parsed, [], display, this.lookup, (n) => {
      if (warned.has(n)) return;
      warned.add(n);
      this.warn(`The "${n}" variable is not set. Defaulting to a blank string.`);
    }) as Raw;
    validateSchema(stripMarkers(doc), display);
    const services: Record<string, Raw> = {};
    const ctx = { baseDir, home: this.opts.env.HOME, where: display };
    for (const [name, svc] of Object.entries((doc.services ?? {}) as Record<string, unknown>)) {
      if (svc instanceof Reset) continue;
      const raw = svc instanceof Override ? (svc.value as Raw) : (svc as Raw);
      services[name] = normalizeService(name, raw ?? {}, ctx);
    }
    const file: LoadedFile = { path, display, doc, services, resolved: new Map() };
    this.cache.set(key, file);
    return file;
  }

  /** The files each `include` entry names, loaded (a list per entry: its paths merge as -f files do). */
  includes(file: LoadedFile, stack: string[]): LoadedFile[][] {
    const entries = (file.doc.include ?? []) as (string | { path: string | string[]; env_file?: unknown; project_directory?: string })[];
    const dir = file.path === '-' ? this.opts.cwd : dirname(file.path);
    return entries.map((e, i) => {
      const where = `${file.display}: include[${i}]`;
      const o = typeof e === 'string' ? { path: e } : e;
      if (o.env_file !== undefined) throw new ComposeError(`${where}.env_file: not supported yet: set the variables in the environment or the project's .env`);
      const paths = (Array.isArray(o.path) ? o.path : [o.path]).map((p) => resolve(dir, p));
      return paths.map((p) => {
        if (!existsSync(p)) throw new ComposeError(`${where}: file ${p} not found`);
        if (p === file.path || stack.includes(p)) throw new ComposeError(`${where}: ${p} includes itself (through ${[...stack, file.path].map((s) => this.display(s)).join(' -> ')})`);
        // An included file's relative paths are its own directory's, or the entry's project_directory.
        const base = o.project_directory ? resolve(dir, o.project_directory) : dirname(paths[0]!);
        return this.load(p, base);
      });
    });
  }

  /** A service with its `extends` chain merged in (the base first, then the service itself). */
  resolveExtends(file: LoadedFile, name: string, stack: string[]): Raw {
    const done = file.resolved.get(name);
    if (done) return done;
    const svc = file.services[name]!;
    const ext = svc.extends as string | { service: string; file?: string } | undefined;
    if (ext === undefined) return svc;
    const where = `${file.display}: services.${name}.extends`;
    const target = typeof ext === 'string' ? { service: ext } : ext;
    const me = `${file.path}#${name}`;
    if (stack.includes(me)) throw new ComposeError(`${where}: circular extends: ${[...stack, me].map((s) => s.split('#')[1]).join(' -> ')}`);
    let from = file;
    if (target.file) {
      const dir = file.path === '-' ? this.opts.cwd : dirname(file.path);
      const other = resolve(dir, target.file);
      if (!existsSync(other)) throw new ComposeError(`${where}: file ${other} not found`);
      // Relative paths in the other file are its own: resolved against its directory.
      from = this.load(other, dirname(other));
    }
    if (!from.services[target.service]) {
      throw new ComposeError(`${where}: unknown service "${target.service}"${from === file ? '' : ` in ${from.display}`}`);
    }
    const base = this.resolveExtends(from, target.service, [...stack, me]);
    const own = { ...svc };
    delete own.extends;
    const out = mergeMaps(base, own);
    file.resolved.set(name, out);
    return out;
  }
}

/** Paths whose value is a number or boolean in the schema: an interpolated string there is converted, as Docker's loader does. */
const NUMERIC = new Set(['replicas', 'scale', 'retries', 'target', 'published', 'pids_limit', 'cpus', 'mode', 'soft', 'hard', 'priority', 'max_attempts', 'pids', 'oom_score_adj', 'cpu_shares', 'size', 'mem_swappiness']);
const BOOLEAN = new Set(['read_only', 'tty', 'stdin_open', 'privileged', 'init', 'external', 'internal', 'attachable', 'enable_ipv6', 'required', 'restart', 'disable', 'nocopy', 'create_host_path', 'no_cache', 'pull', 'oom_kill_disable', 'attach']);

function interpolateTree(v: unknown, path: (string | number)[], file: string, lookup: Lookup, onUnset: (n: string) => void): unknown {
  if (typeof v === 'string') {
    let out: string;
    try {
      out = interpolate(v, lookup, onUnset);
    } catch (e) {
      if (e instanceof InterpolationError) throw new ComposeError(`${file}: ${docPath(path)}: ${e.message}`);
      throw e;
    }
    if (!v.includes('$')) return out;
    const key = path[path.length - 1];
    if (typeof key === 'string' && NUMERIC.has(key) && /^-?\d+(\.\d+)?$/.test(out)) return Number(out);
    if (typeof key === 'string' && BOOLEAN.has(key) && /^(true|false)$/i.test(out)) return out.toLowerCase() === 'true';
    return out;
  }
  if (v instanceof Reset) return v;
  if (v instanceof Override) return new Override(interpolateTree(v.value, path, file, lookup, onUnset));
  if (Array.isArray(v)) return v.map((x, i) => interpolateTree(x, [...path, i], file, lookup, onUnset));
  if (isPlainObject(v)) {
    const out: Raw = {};
    for (const [k, x] of Object.entries(v)) out[k] = interpolateTree(x, [...path, k], file, lookup, onUnset);
    return out;
  }
  return v;
}

/** The document the schema sees: `!reset` values gone, `!override` values as themselves. */
function stripMarkers(v: unknown): unknown {
  if (v instanceof Override) return stripMarkers(v.value);
  if (Array.isArray(v)) return v.filter((x) => !(x instanceof Reset)).map(stripMarkers);
  if (isPlainObject(v)) {
    const out: Raw = {};
    for (const [k, x] of Object.entries(v)) if (!(x instanceof Reset)) out[k] = stripMarkers(x);
    return out;
  }
  return v;
}

function externalName(v: Raw | null): { external: boolean; name?: string } {
  const ext = v?.external;
  if (ext === true) return { external: true };
  if (isPlainObject(ext)) return { external: true, ...(typeof ext.name === 'string' ? { name: ext.name } : {}) };
  return { external: false };
}

/**
 * A project-level network or volume: its engine name (`PROJECT_KEY`, or
 * `name:`, or the external name) and its labels as a map. Both kinds are
 * named by the same rules.
 */
function finishNamed<T extends ComposeNetwork | ComposeVolume>(project: string, key: string, v: Raw | null): T {
  const o = { ...(v ?? {}) } as Raw;
  const ext = externalName(v);
  const out = { ...o } as unknown as T;
  if (ext.external) {
    out.external = true;
    out.name = (o.name as string | undefined) ?? ext.name ?? key;
  } else {
    out.name = (o.name as string | undefined) ?? `${project}_${key}`;
  }
  if (o.labels !== undefined) out.labels = listOrDictStrings(o.labels);
  return out;
}

function listOrDictStrings(v: unknown): Record<string, string> {
  if (Array.isArray(v)) return Object.fromEntries(v.map((s) => String(s)).map((s) => (s.includes('=') ? [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)] : [s, ''])));
  return Object.fromEntries(Object.entries((v ?? {}) as Raw).map(([k, x]) => [k, x === null ? '' : String(x)]));
}

function finishService(name: string, raw: Raw, lookup: Lookup, file: string): ComposeService {
  const where = `${file}: services.${name}`;
  const s = { ...raw } as Raw;
  // env_file values first, then `environment` over them; a bare KEY takes the caller's value.
  const environment: Record<string, string | null> = {};
  const envFiles = (s.env_file ?? []) as { path: string; required: boolean }[];
  for (const ef of envFiles) {
    if (!existsSync(ef.path)) {
      if (ef.required) throw new ComposeError(`${where}.env_file: env file ${ef.path} not found`);
      continue;
    }
    try {
      Object.assign(environment, parseEnvFile(readFileSync(ef.path, 'utf8'), lookup));
    } catch (e) {
      throw new ComposeError(`${ef.path}: ${(e as Error).message}`);
    }
  }
  Object.assign(environment, (s.environment ?? {}) as Record<string, string | null>);
  for (const [k, v] of Object.entries(environment)) if (v === null) environment[k] = lookup(k) ?? null;
  if (envFiles.length) s.env_file = envFiles.map((e) => e.path);

  const deploy = s.deploy as Raw | undefined | null;
  const replicas = deploy && typeof deploy.replicas === 'number' ? deploy.replicas : undefined;
  const scale = typeof s.scale === 'number' ? s.scale : undefined;
  if (replicas !== undefined && scale !== undefined && replicas !== scale) {
    throw new ComposeError(`${where}: "scale" (${scale}) and "deploy.replicas" (${replicas}) differ: set one`);
  }
  if (deploy === null) delete s.deploy;
  const networks = (s.networks ?? {}) as Record<string, unknown>;
  const out: ComposeService = {
    ...(s as unknown as ComposeService),
    name,
    environment,
    ports: (s.ports ?? []) as ComposeService['ports'],
    volumes: (s.volumes ?? []) as ComposeService['volumes'],
    networks: (s.network_mode === undefined && Object.keys(networks).length === 0 ? { default: null } : networks) as ComposeService['networks'],
    depends_on: (s.depends_on ?? {}) as ComposeService['depends_on'],
    labels: (s.labels ?? {}) as Record<string, string>,
    scale: replicas ?? scale ?? 1,
  };
  // The service's x-* keys are kept apart: config prints them, nothing else reads them.
  const ext = Object.keys(out).filter((k) => k.startsWith('x-'));
  if (ext.length) {
    out.extensions = Object.fromEntries(ext.map((k) => [k, (out as unknown as Raw)[k]]));
    for (const k of ext) delete (out as unknown as Raw)[k];
  }
  if (out.build && out.build.dockerfile === undefined && out.build.dockerfile_inline === undefined) out.build = { ...out.build, dockerfile: 'Dockerfile' };
  // A build arg named without a value takes the caller's, as an environment entry does.
  if (out.build?.args) {
    out.build = { ...out.build, args: Object.fromEntries(Object.entries(out.build.args).map(([k, v]) => [k, v ?? lookup(k) ?? null])) };
  }
  // Sizes the model keeps as written, as strings; counts and CPUs as numbers (YAML lets either be written).
  for (const k of ['mem_limit', 'shm_size'] as const) if (typeof out[k] === 'number') out[k] = String(out[k]);
  if (typeof out.cpus === 'string') out.cpus = Number(out.cpus);
  if (typeof out.pids_limit === 'string') out.pids_limit = Number(out.pids_limit);
  if (out.image === undefined && out.build === undefined) {
    throw new ComposeError(`${where}: has neither an image nor a build context`);
  }
  return out;
}
