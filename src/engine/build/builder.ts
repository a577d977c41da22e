import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isAbsolute, join, posix, resolve as resolvePath } from 'node:path';
import { hostArchitecture, type ImageConfig, type ImageRuntimeConfig } from '../../image/oci.js';
import { formatReference, parseReference } from '../../image/reference.js';
import { tmpName } from '../../image/store.js';
import { DeniedError, EngineError } from '../../util/errors.js';
import { trace } from '../../util/trace.js';
import type { CallerContext } from '../context.js';
import type { Engine } from '../engine.js';
import type { ContainerService } from '../containers/service.js';
import type { ImageService } from '../images/service.js';
import type { CreateRequest, MountSpec } from '../containers/request.js';
import { commitImage } from '../images/lifecycle.js';
import type { StoredLayer } from '../images/layers.js';
import { fileError, instructionText, parseDockerfile, splitInstruction, type Instruction, type ParsedFile } from './parse.js';
import { lexWord, lexWords, parsePairs, SubstitutionError } from './substitute.js';
import { cacheGet, cacheMountsDir, cachePut, stepKey } from './cache.js';
import { layerDirs, layerFromContainer, packCopyTar, storeCopy, storeCopyDirect } from './steps.js';
import { LayerPacker } from './layer-packer.js';
import { holdCacheDir, type Sharing } from './cache-mount.js';
import { mountLayers } from './stage-mount.js';
import { hashContextSources } from '../../storage/layer-pack.js';
import { ContainerStore } from '../containers/store.js';
import { holdNetwork } from '../networks/endpoints.js';
import { NetworkStore } from '../networks/store.js';
import type { BuildEvent, BuildRequest, BuildResult } from './request.js';

type Config = ImageRuntimeConfig & {
  Shell?: string[];
  OnBuild?: string[];
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
};

interface Layer { diffId: string; digest: string; blobSize: number; tarSize: number; mediaType?: string }

/** What a stage has built so far. */
interface State {
  image: ImageConfig & { config: Config };
  layers: Layer[];
  /** The committed image of this state (absent only for scratch with nothing done yet). */
  id?: string;
  key: string;
}

interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  steps: Instruction[];
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function durationNs(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
  if (!m) throw new Error(`${what}=${v}: give a duration such as 30s`);
  const mult: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  return Math.round(Number(m[1]) * mult[m[2]!]!);
}

export class Builder {
  private readonly file: ParsedFile;
  private readonly contextDir: string;
  private readonly ignore: string[];
  private readonly stages: Stage[];
  private readonly meta = new Map<string, string | undefined>();
  private readonly usedArgs = new Set<string>();
  private readonly results = new Map<number, State>();
  private readonly predefined: Record<string, string>;
  private readonly containers = new Set<string>();
  /** Step containers being removed while later steps run. */
  private readonly removals = new Set<Promise<void>>();
  /** One helper process packs every step's layer (started by the first step that may make one). */
  private readonly packer: LayerPacker;
  /** The networks RUN steps use, kept up from the first such step to the build's end (releases by network id). */
  private readonly networkHolds = new Map<string, () => void>();
  private readonly started = Date.now();

  constructor(
    private readonly engine: Engine,
    private readonly services: { containers: ContainerService; images: ImageService },
    private readonly req: BuildRequest,
    contextDir: string,
    private readonly ctx: CallerContext,
    private readonly onEvent: (e: BuildEvent) => void,
    private readonly stepOutput: CallerContext,
  ) {
    this.contextDir = contextDir;
    this.packer = new LayerPacker(engine);
    if (req.fileText !== undefined) {
      this.file = parseDockerfile(req.fileText, req.file ?? 'Containerfile (standard input)');
    } else {
      const filePath = req.file ? (isAbsolute(req.file) ? req.file : join(contextDir, req.file)) : ['Containerfile', 'Dockerfile'].map((n) => join(contextDir, n)).find((p) => existsSync(p));
      if (!filePath || !existsSync(filePath)) throw new EngineError(`no Containerfile or Dockerfile ${req.file ? `at ${req.file}` : 'in the build context'}: give one with -f`);
      this.file = parseDockerfile(readFileSync(filePath, 'utf8'), req.file ?? posix.basename(filePath));
    }
    for (const [id, src] of Object.entries(req.secrets ?? {})) {
      if (!existsSync(src)) throw new EngineError(`--secret id=${id}: ${src}: no such file`);
    }
    const ignoreFile = ['.containerignore', '.dockerignore'].map((n) => join(contextDir, n)).find((p) => existsSync(p));
    this.ignore = ignoreFile ? readFileSync(ignoreFile, 'utf8').split('\n') : [];
    const arch = hostArchitecture();
    this.predefined = { TARGETPLATFORM: `linux/${arch}`, TARGETOS: 'linux', TARGETARCH: arch, TARGETVARIANT: '', BUILDPLATFORM: `linux/${arch}`, BUILDOS: 'linux', BUILDARCH: arch, BUILDVARIANT: '' };
    if (req.platform && req.platform.replace(/\/$/, '') !== `linux/${arch}`) {
      throw new EngineError(`--platform ${req.platform}: only this host's platform (linux/${arch}) can be built: rootlet runs no emulator`);
    }
    this.stages = this.splitStages();
  }

  private err(ins: Instruction, message: string): EngineError {
    return fileError(this.file.file, ins.line, message);
  }

  private splitStages(): Stage[] {
    const stages: Stage[] = [];
    for (const ins of this.file.instructions) {
      if (ins.keyword === 'FROM') {
        const words = ins.args.split(/\s+/).filter(Boolean);
        if (words.length !== 1 && !(words.length === 3 && words[1]!.toUpperCase() === 'AS')) throw this.err(ins, 'FROM takes an image and optionally AS NAME');
        const name = words[2]?.toLowerCase();
        if (name && stages.some((s) => s.name === name)) throw this.err(ins, `duplicate stage name "${name}"`);
        if (name && !/^[a-z][a-z0-9-_.]*$/.test(name)) throw this.err(ins, `invalid stage name "${name}"`);
        stages.push({ index: stages.length, ...(name ? { name } : {}), from: ins, steps: [] });
        continue;
      }
      if (!stages.length) {
        if (ins.keyword !== 'ARG') throw this.err(ins, `${ins.keyword} before the first FROM: only ARG may come before FROM`);
        for (const [k, v] of this.pairs(ins, (n) => this.metaValue(n), true)) {
          this.meta.set(k, this.req.buildArgs?.[k] ?? v);
        }
        continue;
      }
      stages[stages.length - 1]!.steps.push(ins);
    }
    if (!stages.length) throw new EngineError(`${this.file.file}: no FROM instruction`);
    return stages;
  }

  private metaValue(name: string): string | undefined {
    if (this.meta.has(name)) return this.meta.get(name);
    return this.predefined[name];
  }

  private pairs(ins: Instruction, look: (n: string) => string | undefined, keyOnly = false): Array<[string, string | undefined]> {
    try {
      return parsePairs(ins.args, look, this.file.escape, { keyOnly }).pairs;
    } catch (e) {
      throw this.err(ins, `${ins.keyword}: ${(e as Error).message}`);
    }
  }

  /** The stage a name or index refers to, if it is one. */
  private stageRef(ref: string): Stage | undefined {
    if (/^\d+$/.test(ref)) return this.stages[Number(ref)];
    return this.stages.find((s) => s.name === ref.toLowerCase());
  }

  private fromName(stage: Stage): string {
    const word = stage.from.args.split(/\s+/)[0]!;
    try {
      return lexWord(word, (n) => this.metaValue(n), this.file.escape).word;
    } catch (e) {
      throw this.err(stage.from, `FROM: ${(e as Error).message}`);
    }
  }

  /** The stages the target needs, in order. */
  private readonly deps = new Map<number, Set<number>>();

  private needed(target: Stage): Stage[] {
    const need = new Set<number>();
    const visit = (s: Stage) => {
      if (need.has(s.index)) return;
      need.add(s.index);
      const deps = new Set<number>();
      this.deps.set(s.index, deps);
      const base = this.stageRef(this.fromName(s));
      if (base && base.index < s.index) { deps.add(base.index); visit(base); }
      for (const ins of s.steps) {
        for (const f of ins.flags) {
          let ref: string | undefined;
          if (f.name === 'from' && (ins.keyword === 'COPY' || ins.keyword === 'ADD')) ref = f.value;
          if (f.name === 'mount' && f.value) ref = /(?:^|,)from=([^,]+)/.exec(f.value)?.[1];
          if (!ref) continue;
          const dep = this.stageRef(ref);
          if (dep && dep.index >= s.index) throw this.err(ins, `--from=${ref}: stage "${ref}" is not built before this one (a stage can only use earlier stages)`);
          if (dep) { deps.add(dep.index); visit(dep); }
        }
      }
    };
    visit(target);
    return this.stages.filter((s) => need.has(s.index));
  }

  async run(): Promise<BuildResult> {
    // The names first: a bad -t must not cost a build.
    const tags = (this.req.tags ?? []).map((t) => formatReference(parseReference(t)));
    let target = this.stages[this.stages.length - 1]!;
    if (this.req.target) {
      const t = this.stages.find((s) => s.name === this.req.target!.toLowerCase());
      if (!t) throw new EngineError(`target stage "${this.req.target}" could not be found in ${this.file.file}`);
      target = t;
    }
    const stages = this.needed(target);
    const total = stages.reduce((n, s) => n + 1 + s.steps.length, 0);
    let n = 0;
    // Each stage starts when the stages it uses are built: independent stages build at the same time.
    const running = new Map<number, Promise<State>>();
    const start = (stage: Stage): Promise<State> => {
      let p = running.get(stage.index);
      if (!p) {
        const k = stages.indexOf(stage);
        p = (async () => {
          await Promise.all([...(this.deps.get(stage.index) ?? [])].map((d) => start(this.stages[d]!)));
          let built: State;
          try {
            built = await this.buildStage(stage, { stage: k + 1, stages: stages.length, next: () => ++n, total });
          } catch (err) {
            // The build has failed: the other stages' running steps are stopped rather than waited for.
            this.firstError ??= err;
            this.failed = true;
            for (const id of this.containers) void this.services.containers.kill(id, { signal: 'KILL' }).catch(() => {});
            throw err;
          }
          this.results.set(stage.index, built);
          return built;
        })();
        running.set(stage.index, p);
      }
      return p;
    };
    const all = stages.map(start);
    // Every stage settles before the build reports (a failed one must not leave another's step running).
    const settled = await Promise.allSettled(all);
    if (settled.some((r) => r.status === 'rejected')) throw this.firstError;
    let state = this.results.get(target.index)!;
    if (this.req.labels && Object.keys(this.req.labels).length) {
      state = await this.metaStep(state, `LABEL ${JSON.stringify(this.req.labels)}`, (c) => { c.Labels = { ...(c.Labels ?? {}), ...this.req.labels }; }, false);
    }
    if (!state.id) state = await this.commit(state);
    const unused = Object.keys(this.req.buildArgs ?? {}).filter((a) => !this.usedArgs.has(a) && !this.meta.has(a) && !/_proxy$/i.test(a));
    if (unused.length) this.ctx.warn(`[Warning] one or more build args were not consumed: ${unused.join(', ')}`);
    // A build's result is shown by `images` even untagged (its step images are not): see ImageService.list.
    cachePut(this.engine, `result-${state.id!.slice(7)}`, state.id!);
    for (const t of tags) {
      this.engine.images.setTag(t, state.id!);
      this.onEvent({ type: 'tagged', name: t });
    }
    return { id: state.id!, tags };
  }

  private async baseState(stage: Stage): Promise<State> {
    const name = this.fromName(stage);
    const platform = stage.from.flags.find((f) => f.name === 'platform')?.value;
    if (platform) {
      const p = lexWord(platform, (x) => this.metaValue(x), this.file.escape).word;
      if (p !== this.predefined.TARGETPLATFORM && p !== this.predefined.BUILDPLATFORM) throw this.err(stage.from, `FROM --platform=${p}: only this host's platform (${this.predefined.TARGETPLATFORM}) can be built`);
    }
    if (!name) throw this.err(stage.from, 'FROM needs an image');
    const ref = this.stageRef(name);
    if (ref && ref.index < stage.index && !/^\d+$/.test(name)) {
      const s = this.results.get(ref.index)!;
      return { ...s, image: structuredClone(s.image) };
    }
    if (name === 'scratch') {
      const image = { architecture: hostArchitecture(), os: 'linux', config: {} as Config, rootfs: { type: 'layers' as const, diff_ids: [] as string[] }, history: [] };
      return { image, layers: [], key: sha('FROM scratch') };
    }
    let found;
    try {
      const { name: got } = await this.services.images.ensure(name, { policy: this.req.pull ? 'always' : 'missing' });
      found = this.engine.images.resolve(got);
    } catch (e) {
      // A refusal by the admin's policy is shown as the policy's own line.
      if (e instanceof DeniedError) throw e;
      throw this.err(stage.from, `FROM ${name}: ${(e as Error).message}`);
    }
    const manifest = this.engine.images.readManifest(found);
    const sizes = this.engine.images.layerSizes(found.layers);
    const layers: Layer[] = found.layers.map((diffId, i) => ({
      diffId,
      digest: manifest?.layers[i]?.digest ?? diffId,
      blobSize: manifest?.layers[i]?.size ?? sizes[i] ?? 0,
      tarSize: sizes[i] ?? 0,
      ...(manifest?.layers[i]?.mediaType ? { mediaType: manifest.layers[i]!.mediaType } : {}),
    }));
    const image = structuredClone(found.config) as State['image'];
    image.config = image.config ?? {};
    image.history = image.history ?? [];
    return { image, layers, id: found.id, key: sha(`FROM ${found.id}`) };
  }

  private async buildStage(stage: Stage, p: { stage: number; stages: number; next: () => number; total: number }): Promise<State> {
    const step = (ins: Instruction | string) => {
      this.onEvent({ type: 'step', stage: p.stage, stages: p.stages, n: p.next(), total: p.total, text: typeof ins === 'string' ? ins : instructionText(ins) });
      return Date.now();
    };
    step(stage.from);
    let state = await this.baseState(stage);
    // As Docker and Podman do: an image without PATH gets the default one (RUN needs it, and so does the result).
    if (!state.image.config.Env?.some((e) => e.startsWith('PATH='))) {
      state = { ...state, image: { ...state.image, config: { ...state.image.config, Env: [DEFAULT_PATH, ...(state.image.config.Env ?? [])] } }, key: stepKey([state.key, DEFAULT_PATH]) };
      delete state.id;
    }
    const args = new Map<string, string | undefined>();
    let cmdSet = false;
    const lookup = (name: string): string | undefined => {
      const env = state.image.config.Env?.find((e) => e.startsWith(`${name}=`));
      if (env) return env.slice(name.length + 1);
      if (args.has(name)) { this.usedArgs.add(name); return args.get(name); }
      return undefined;
    };
    const triggers = state.image.config.OnBuild ?? [];
    if (triggers.length && state.id) {
      // ONBUILD of the base image: run as if written after FROM, then cleared.
      state.image.config.OnBuild = [];
      for (const t of triggers) {
        const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(t)!;
        const ins = splitInstruction(m[1]!.toUpperCase(), stage.from.line, m[2]!, this.file.escape, this.file.file);
        state = await this.execute(ins, state, args, lookup, () => { cmdSet = true; }, cmdSet);
      }
    }
    for (const ins of stage.steps) {
      if (this.ctx.signal?.aborted) throw new EngineError('build interrupted', 130);
      if (this.failed) throw new EngineError('another stage failed');
      const t0 = step(ins);
      const before = state.id;
      state = await this.execute(ins, state, args, lookup, () => { cmdSet = true; }, cmdSet);
      if (state.id && state.id !== before && !this.hits.has(state.id)) this.onEvent({ type: 'done', id: state.id, ms: Date.now() - t0 });
    }
    if (!state.id) state = await this.commit(state);
    return state;
  }

  /** Step images that came from the cache (their steps print `Using cache`, not a timing). */
  private readonly hits = new Set<string>();
  private failed = false;
  private firstError: unknown;

  /** Records the state as an image (untagged), and the cache entry for its key. */
  private async commit(state: State, cacheKey?: string): Promise<State> {
    const config = Buffer.from(JSON.stringify({ ...state.image, rootfs: { type: 'layers', diff_ids: state.layers.map((l) => l.diffId) } }));
    const { id } = commitImage(this.engine, { config, layers: state.layers.map((l) => ({ ...l, remapped: 0 })) }, []);
    if (cacheKey) cachePut(this.engine, cacheKey, id);
    return { ...state, id };
  }

  /** A cache hit's state: the image the key names. */
  private fromCache(id: string, key: string): State {
    const img = this.engine.images.get(id)!;
    const manifest = this.engine.images.readManifest(img);
    const sizes = this.engine.images.layerSizes(img.layers);
    const layers: Layer[] = img.layers.map((diffId, i) => ({
      diffId, digest: manifest?.layers[i]?.digest ?? diffId, blobSize: manifest?.layers[i]?.size ?? 0, tarSize: sizes[i] ?? 0,
      ...(manifest?.layers[i]?.mediaType ? { mediaType: manifest.layers[i]!.mediaType } : {}),
    }));
    return { image: structuredClone(img.config) as State['image'], layers, id, key };
  }

  private lookupCache(key: string): string | undefined {
    if (this.req.noCache) return undefined;
    return cacheGet(this.engine, key);
  }

  private history(state: State, createdBy: string, empty: boolean): void {
    const created = new Date().toISOString();
    state.image.created = created;
    state.image.history = [...(state.image.history ?? []), { created, created_by: createdBy, ...(empty ? { empty_layer: true } : {}) }];
  }

  /** A step that changes only the config. */
  private async metaStep(state: State, text: string, change: (c: Config, image: State['image']) => void, cache = true): Promise<State> {
    const key = stepKey([state.key, text]);
    const hit = cache ? this.lookupCache(key) : undefined;
    if (hit) {
      this.hits.add(hit);
      this.onEvent({ type: 'cached', id: hit });
      return this.fromCache(hit, key);
    }
    const next: State = { image: structuredClone(state.image), layers: state.layers, key };
    change(next.image.config, next.image);
    this.history(next, text, true);
    return this.commit(next, key);
  }

  private async layerStep(state: State, text: string, extraKey: string[], make: () => Promise<StoredLayer>): Promise<State> {
    const key = stepKey([state.key, text, ...extraKey]);
    const hit = this.lookupCache(key);
    if (hit) {
      this.hits.add(hit);
      this.onEvent({ type: 'cached', id: hit });
      return this.fromCache(hit, key);
    }
    const layer = await make();
    const next: State = { image: structuredClone(state.image), layers: [...state.layers, layer], key };
    this.history(next, text, false);
    return this.commit(next, key);
  }

  private words(ins: Instruction, lookup: (n: string) => string | undefined, text = ins.args): string[] {
    try {
      return lexWords(text, lookup, this.file.escape).words;
    } catch (e) {
      throw this.err(ins, `${ins.keyword}: ${(e as Error).message}`);
    }
  }

  private word(ins: Instruction, lookup: (n: string) => string | undefined, text: string): string {
    try {
      return lexWord(text, lookup, this.file.escape).word;
    } catch (e) {
      throw this.err(ins, `${ins.keyword}: ${(e as Error).message}`);
    }
  }

  private command(ins: Instruction, shell: string[]): string[] {
    if (ins.json) return ins.json;
    if (!ins.args) throw this.err(ins, `${ins.keyword} needs a command`);
    return [...shell, ins.args];
  }

  private async execute(
    ins: Instruction, state: State, args: Map<string, string | undefined>, lookup: (n: string) => string | undefined, setCmd: () => void, cmdSet: boolean,
  ): Promise<State> {
    const shell = state.image.config.Shell ?? DEFAULT_SHELL;
    const text = instructionText(ins);
    const flag = (name: string) => {
      const f = ins.flags.find((x) => x.name === name);
      return f && (f.value === undefined ? '' : this.word(ins, lookup, f.value));
    };
    const allowFlags = (names: string[]) => {
      const bad = ins.flags.find((f) => !names.includes(f.name));
      if (bad) throw this.err(ins, `${ins.keyword}: unknown flag --${bad.name}`);
    };
    switch (ins.keyword) {
      case 'ARG': {
        allowFlags([]);
        const pairs = this.pairs(ins, lookup, true);
        for (const [k, v] of pairs) {
          const value = this.req.buildArgs?.[k] ?? (v !== undefined ? v : this.meta.has(k) ? this.meta.get(k) : this.predefined[k]);
          args.set(k, value);
          if (this.req.buildArgs?.[k] !== undefined) this.usedArgs.add(k);
        }
        return this.metaStep(state, `ARG ${pairs.map(([k]) => `${k}=${args.get(k) ?? ''}`).join(' ')}`, () => {});
      }
      case 'ENV': {
        allowFlags([]);
        const pairs = this.pairs(ins, lookup);
        return this.metaStep(state, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, (c) => {
          const env = [...(c.Env ?? [])];
          for (const [k, v] of pairs) {
            const i = env.findIndex((e) => e.split('=')[0] === k);
            if (i >= 0) env[i] = `${k}=${v}`; else env.push(`${k}=${v}`);
          }
          c.Env = env;
        });
      }
      case 'LABEL': {
        allowFlags([]);
        const pairs = this.pairs(ins, lookup);
        return this.metaStep(state, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, (c) => {
          c.Labels = { ...(c.Labels ?? {}) };
          for (const [k, v] of pairs) c.Labels[k] = v ?? '';
        });
      }
      case 'MAINTAINER':
        return this.metaStep(state, text, (_c, image) => { image.author = ins.args; });
      case 'WORKDIR': {
        allowFlags([]);
        const dir = this.word(ins, lookup, ins.args);
        if (!dir) throw this.err(ins, 'WORKDIR needs a path');
        const abs = posix.resolve(state.image.config.WorkingDir || '/', dir);
        return this.metaStep(state, `WORKDIR ${abs}`, (c) => { c.WorkingDir = abs; });
      }
      case 'USER': {
        allowFlags([]);
        const user = this.word(ins, lookup, ins.args);
        if (!user) throw this.err(ins, 'USER needs a user');
        return this.metaStep(state, `USER ${user}`, (c) => { c.User = user; });
      }
      case 'EXPOSE': {
        allowFlags([]);
        const ports = this.words(ins, lookup).map((p) => (p.includes('/') ? p.toLowerCase() : `${p}/tcp`));
        for (const p of ports) if (!/^\d+(-\d+)?\/(tcp|udp|sctp)$/.test(p)) throw this.err(ins, `EXPOSE: invalid port "${p}"`);
        return this.metaStep(state, `EXPOSE ${ports.join(' ')}`, (c) => {
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
          for (const p of ports) c.ExposedPorts[p] = {};
        });
      }
      case 'VOLUME': {
        allowFlags([]);
        const vols = ins.json ?? this.words(ins, lookup);
        if (!vols.length) throw this.err(ins, 'VOLUME needs a path');
        return this.metaStep(state, `VOLUME ${JSON.stringify(vols)}`, (c) => {
          c.Volumes = { ...(c.Volumes ?? {}) };
          for (const v of vols) c.Volumes[v] = {};
        });
      }
      case 'STOPSIGNAL': {
        allowFlags([]);
        const sig = this.word(ins, lookup, ins.args);
        if (!/^(SIG)?[A-Z0-9+-]+$/.test(sig) && !/^\d+$/.test(sig)) throw this.err(ins, `STOPSIGNAL: invalid signal "${sig}"`);
        return this.metaStep(state, `STOPSIGNAL ${sig}`, (c) => { c.StopSignal = sig; });
      }
      case 'SHELL': {
        allowFlags([]);
        if (!ins.json?.length) throw this.err(ins, 'SHELL needs the exec (JSON array) form, e.g. SHELL ["/bin/bash", "-c"]');
        return this.metaStep(state, text, (c) => { c.Shell = ins.json; });
      }
      case 'CMD': {
        allowFlags([]);
        const cmd = this.command(ins, shell);
        setCmd();
        return this.metaStep(state, `CMD ${JSON.stringify(cmd)}`, (c) => { c.Cmd = cmd; });
      }
      case 'ENTRYPOINT': {
        allowFlags([]);
        const ep = this.command(ins, shell);
        // Docker: an ENTRYPOINT clears a CMD the base image set (not one this stage set).
        return this.metaStep(state, `ENTRYPOINT ${JSON.stringify(ep)}${cmdSet ? '' : ' (CMD reset)'}`, (c) => {
          c.Entrypoint = ep;
          if (!cmdSet) c.Cmd = null;
        });
      }
      case 'ONBUILD': {
        allowFlags([]);
        const kw = ins.args.split(/\s+/)[0]?.toUpperCase() ?? '';
        if (!kw || ['ONBUILD', 'FROM', 'MAINTAINER'].includes(kw)) throw this.err(ins, `ONBUILD ${kw || '(nothing)'} is not allowed`);
        return this.metaStep(state, text, (c) => { c.OnBuild = [...(c.OnBuild ?? []), ins.args]; });
      }
      case 'HEALTHCHECK':
        return this.metaStep(state, text, (c) => { c.Healthcheck = this.healthcheck(ins, shell); });
      case 'RUN':
        return this.runStep(ins, state, args, lookup, shell, text);
      case 'COPY':
      case 'ADD':
        return this.copyStep(ins, state, lookup, text);
      default:
        throw this.err(ins, `${ins.keyword} is not supported in a stage`);
    }
  }

  private healthcheck(ins: Instruction, shell: string[]): Config['Healthcheck'] {
    const [kw, ...rest] = ins.args.split(/\s+/);
    if (kw?.toUpperCase() === 'NONE') {
      if (rest.length || ins.flags.length) throw this.err(ins, 'HEALTHCHECK NONE takes no arguments');
      return { Test: ['NONE'] };
    }
    if (kw?.toUpperCase() !== 'CMD') throw this.err(ins, 'HEALTHCHECK takes CMD command, or NONE');
    const h: NonNullable<Config['Healthcheck']> = {};
    for (const f of ins.flags) {
      const v = f.value ?? '';
      try {
        if (f.name === 'interval') h.Interval = durationNs(v, '--interval');
        else if (f.name === 'timeout') h.Timeout = durationNs(v, '--timeout');
        else if (f.name === 'start-period') h.StartPeriod = durationNs(v, '--start-period');
        else if (f.name === 'start-interval') { /* BuildKit's; not used by rootlet's health checks */ }
        else if (f.name === 'retries') {
          if (!/^\d+$/.test(v)) throw new Error(`--retries=${v}: give a whole number`);
          h.Retries = Number(v);
        } else throw new Error(`unknown flag --${f.name}`);
      } catch (e) {
        throw this.err(ins, `HEALTHCHECK: ${(e as Error).message}`);
      }
    }
    const cmdText = ins.args.slice(kw.length).trim();
    let json: string[] | undefined;
    try {
      const v = JSON.parse(cmdText) as unknown;
      if (Array.isArray(v) && v.every((s) => typeof s === 'string')) json = v as string[];
    } catch { /* shell form */ }
    if (!json && !cmdText) throw this.err(ins, 'HEALTHCHECK CMD needs a command');
    void shell;
    h.Test = json ? ['CMD', ...json] : ['CMD-SHELL', cmdText];
    return h;
  }

  private async runStep(ins: Instruction, state: State, args: Map<string, string | undefined>, lookup: (n: string) => string | undefined, shell: string[], text: string): Promise<State> {
    const mounts: MountSpec[] = [];
    const caches: Array<{ mount: MountSpec & { type: 'bind' }; sharing: Sharing }> = [];
    const froms: Array<{ mount: MountSpec & { type: 'bind' }; diffIds: string[]; source: string; key: string }> = [];
    const keyParts: string[] = [];
    let network = this.req.network ?? 'default';
    for (const f of ins.flags) {
      if (f.name === 'network') {
        const v = this.word(ins, lookup, f.value ?? '');
        if (v !== 'none' && v !== 'default') throw this.err(ins, `RUN --network=${v}: use none or default`);
        network = v;
      } else if (f.name === 'mount') {
        const m = await this.runMount(ins, this.word(ins, lookup, f.value ?? ''), state);
        mounts.push(m.spec);
        if (m.sharing && m.spec.type === 'bind') caches.push({ mount: m.spec, sharing: m.sharing });
        if (m.from && m.spec.type === 'bind') {
          froms.push({ mount: m.spec, ...m.from });
          keyParts.push(`from:${m.from.key}`);
        }
      } else throw this.err(ins, `RUN: unknown flag --${f.name}`);
    }
    // The heredoc form: the body is the script, run by the shell (or by the program a #! line names).
    let cmd: string[];
    let script: { name: string; body: string } | undefined;
    if (ins.heredocs.length) {
      const h = ins.heredocs[0]!;
      const body = h.body;
      const before = ins.args.slice(0, ins.args.indexOf('<<')).trim();
      if (!before && ins.heredocs.length === 1 && body.startsWith('#!')) {
        // As BuildKit: a here-document that starts with #! is a script file, run by the program its first line names (so `#!/bin/sh -e` stops at an error).
        script = { name: h.name, body };
        cmd = [`/dev/pipes/${h.name}`];
        keyParts.push(body);
      } else {
        cmd = before ? [...shell, `${before} <<'${h.name}'\n${body}${h.name}`] : [...shell, body];
      }
    } else {
      cmd = this.command(ins, shell);
    }
    if (!state.layers.length) throw this.err(ins, 'RUN on an empty image (FROM scratch with nothing added): there is no program to run');
    // Docker's rule: the ARGs a stage declared are the RUN's environment (not the image's), and part of its cache key.
    const argEnv: string[] = [];
    for (const [k, v] of args) {
      if (v === undefined) continue;
      if (state.image.config.Env?.some((e) => e.startsWith(`${k}=`))) continue;
      argEnv.push(`${k}=${v}`);
    }
    for (const [k, v] of Object.entries(this.req.buildArgs ?? {})) {
      if (/_proxy$/i.test(k) && !args.has(k)) argEnv.push(`${k}=${v}`);
    }
    keyParts.push(JSON.stringify(argEnv.filter((e) => !/^[^=]*_proxy=/i.test(e))), network);
    // History as BuildKit words it (the command as run, the mounts' flags; never a secret's content).
    const mountFlags = ins.flags.filter((f) => f.name === 'mount').map((f) => `--mount=${f.value} `).join('');
    const shown = `RUN ${mountFlags}${ins.json ? JSON.stringify(ins.json) : cmd.join(' ')} # buildkit`;
    keyParts.push(JSON.stringify(cmd));
    return this.layerStep(state, shown, keyParts, async () => {
      let committed = state;
      if (!committed.id) committed = await this.commit(state);
      // Cache mounts are taken (and `locked` ones waited for) only when the step really runs, in one order so two builds cannot deadlock.
      const held: Array<{ release(): Promise<void> }> = [];
      let scriptDir: string | undefined;
      try {
        for (const f of froms) {
          const m = await mountLayers(this.engine, f.diffIds);
          held.push(m);
          f.mount.source = await this.stagePath(ins, m.dir, f.source);
        }
        if (script) {
          scriptDir = join(this.engine.paths.tmp, tmpName('build-script'));
          mkdirSync(scriptDir, { mode: 0o755 });
          writeFileSync(join(scriptDir, script.name), script.body, { mode: 0o755 });
          mounts.push({ type: 'bind', source: scriptDir, target: '/dev/pipes', readOnly: true });
        }
        for (const c of [...caches].sort((a, b) => a.mount.source.localeCompare(b.mount.source))) {
          const h = await holdCacheDir(this.engine, c.mount.source, c.sharing, this.ctx.signal);
          held.push(h);
          c.mount.source = h.dir;
        }
        return await this.runContainer(ins, state, committed, cmd, argEnv, network, mounts, text);
      } finally {
        for (const h of held) await h.release();
        if (scriptDir) rmSync(scriptDir, { recursive: true, force: true });
      }
    });
  }

  private async runContainer(
    ins: Instruction, state: State, committed: State, cmd: string[], argEnv: string[], network: string, mounts: MountSpec[], text: string,
  ): Promise<StoredLayer> {
    const request: CreateRequest = {
      image: committed.id!,
      cmd,
      entrypoint: [],
      env: [...(state.image.config.Env ?? []), ...argEnv],
      workingDir: state.image.config.WorkingDir || '/',
      ...(state.image.config.User ? { user: state.image.config.User } : {}),
      labels: { 'io.rootlet.build': '1' },
      host: { networkMode: network, mounts },
    };
    trace('build: RUN create');
    // Its node starts while the step's container runs, not after.
    this.packer.warm();
    // The foreground run, as `run` without -d: the runtime is our child (no conmon, no attach socket, no exit
    // hook), its output relayed to the caller. The container stays (not --rm): its changes are read, then it goes.
    request.host = { ...request.host, logConfig: { type: 'none' } };
    let id: string | undefined;
    const abort = () => { if (id) void this.services.containers.kill(id, { signal: 'KILL' }).catch(() => {}); };
    this.ctx.signal?.addEventListener('abort', abort);
    try {
      let code: number | undefined;
      try {
        const r = await this.services.containers.run(request, {
          detach: false, pull: 'never', sigProxy: false, warn: false,
          created: (cid) => { id = cid; this.containers.add(cid); this.holdNetworksOf(cid); trace('build: RUN created'); },
        }, this.stepOutput);
        code = r.exitCode;
      } finally {
        this.ctx.signal?.removeEventListener('abort', abort);
      }
      trace('build: RUN exited');
      if (this.ctx.signal?.aborted) throw new EngineError('build interrupted', 130);
      if (code !== 0) throw new EngineError(`${this.file.file}:${ins.line}: ${text}: the command exited with code ${code ?? 1}`, 1);
      let layer;
      try {
        layer = await layerFromContainer(this.engine, this.packer, id!);
      } catch (e) {
        throw this.err(ins, `${text}: ${(e as Error).message}`);
      }
      trace('build: RUN layer stored');
      return layer;
    } finally {
      // Removed while the next step runs: nothing of it is needed any more (cleanup waits for it).
      if (id) this.removeInBackground(id);
    }
  }

  /**
   * Keeps the step container's networks up until the build ends: a network's
   * stack otherwise starts with each RUN step and stops after it, which costs
   * more than the step itself for short commands.
   */
  private holdNetworksOf(id: string): void {
    const net = new ContainerStore(this.engine.db).get(id)?.spec.net;
    if (net?.mode !== 'bridge') return;
    const store = new NetworkStore(this.engine.db);
    for (const { name } of net.networks) {
      try {
        const rec = store.resolve(name);
        if (!this.networkHolds.has(rec.id)) this.networkHolds.set(rec.id, holdNetwork(this.engine, rec));
      } catch {
        // Not held: the step's own network set-up runs next, and reports what is wrong.
      }
    }
  }

  private removeInBackground(id: string): void {
    const p: Promise<void> = this.removeContainer(id).finally(() => this.removals.delete(p));
    this.removals.add(p);
  }

  private async removeContainer(id: string): Promise<void> {
    try {
      await this.services.containers.remove(id, { force: true, volumes: true });
    } catch { /* gone */ }
    this.containers.delete(id);
  }

  /** RUN --mount: cache (kept between builds, never in the image), secret (never in a layer), bind (from the context or a stage). */
  /**
   * A bind source inside a mounted stage: it must exist and involve no
   * symbolic link, which the runtime would follow on the host rather than
   * in the stage.
   */
  private async stagePath(ins: Instruction, root: string, source: string): Promise<string> {
    const path = source === '/' ? root : join(root, source);
    const r = await this.engine.ns().runAsync(['realpath', '-e', '--', path]);
    if (r.code !== 0) throw this.err(ins, `RUN --mount source ${source}: no such file or directory in the stage or image`);
    if (r.stdout.trim() !== path) throw this.err(ins, `RUN --mount source ${source}: the path goes through a symbolic link in the stage or image: give the path it points to`);
    return path;
  }

  private async runMount(ins: Instruction, spec: string, state: State): Promise<{ spec: MountSpec; sharing?: Sharing; from?: { diffIds: string[]; source: string; key: string } }> {
    const o: Record<string, string> = {};
    for (const part of spec.split(',')) {
      const eq = part.indexOf('=');
      o[eq < 0 ? part : part.slice(0, eq)] = eq < 0 ? 'true' : part.slice(eq + 1);
    }
    const type = o.type ?? 'bind';
    const target = o.target ?? o.dst ?? o.destination;
    const abs = (t: string) => posix.resolve(state.image.config.WorkingDir || '/', t);
    if (type === 'cache') {
      if (!target) throw this.err(ins, 'RUN --mount=type=cache needs target=DIR');
      const id = o.id ?? abs(target);
      const sharing = o.sharing ?? 'shared';
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') throw this.err(ins, `RUN --mount=type=cache,sharing=${sharing}: use shared, private or locked`);
      const dir = join(cacheMountsDir(this.engine), sha(id));
      // 0755 as BuildKit makes it: a program that drops to another user (apt's _apt) can still reach its subdirectories.
      return { spec: { type: 'bind', source: dir, target: abs(target), readOnly: o.ro === 'true' || o.readonly === 'true' }, sharing };
    }
    if (type === 'secret') {
      const id = o.id ?? (target ? posix.basename(target) : undefined);
      if (!id) throw this.err(ins, 'RUN --mount=type=secret needs id=ID');
      const src = this.req.secrets?.[id];
      if (!src) {
        if (o.required === 'false') return { spec: { type: 'tmpfs', target: target ? abs(target) : `/run/secrets/${id}` } };
        throw this.err(ins, `RUN --mount=type=secret,id=${id}: no such secret: give it with --secret id=${id},src=FILE`);
      }
      return { spec: { type: 'bind', source: src, target: target ? abs(target) : `/run/secrets/${id}`, readOnly: true } };
    }
    if (type === 'bind') {
      if (!target) throw this.err(ins, 'RUN --mount=type=bind needs target=DIR');
      const readOnly = !(o.rw === 'true' || o.readwrite === 'true');
      if (o.from) {
        const source = posix.normalize(`/${o.source ?? o.src ?? '/'}`);
        const s = this.stageRef(o.from);
        if (s) {
          const built = this.results.get(s.index);
          if (!built) throw this.err(ins, `--mount from=${o.from}: stage "${o.from}" is not built before this one`);
          return { spec: { type: 'bind', source: '', target: abs(target), readOnly }, from: { diffIds: built.layers.map((l) => l.diffId), source, key: built.key } };
        }
        let img;
        try {
          const { name } = await this.services.images.ensure(o.from, { policy: 'missing' });
          img = this.engine.images.resolve(name);
        } catch (e) {
          if (e instanceof DeniedError) throw e;
          throw this.err(ins, `--mount from=${o.from}: no stage or image by that name (${(e as Error).message})`);
        }
        return { spec: { type: 'bind', source: '', target: abs(target), readOnly }, from: { diffIds: img.layers, source, key: img.id } };
      }
      const src = posix.normalize(o.source ?? o.src ?? '.');
      if (src.startsWith('..')) throw this.err(ins, `RUN --mount source ${src} is outside the build context`);
      const host = join(this.contextDir, src);
      if (!existsSync(host)) throw this.err(ins, `RUN --mount source ${src}: no such file or directory in the build context`);
      return { spec: { type: 'bind', source: host, target: abs(target), readOnly } };
    }
    if (type === 'tmpfs') {
      if (!target) throw this.err(ins, 'RUN --mount=type=tmpfs needs target=DIR');
      return { spec: { type: 'tmpfs', target: abs(target) } };
    }
    throw this.err(ins, `RUN --mount=type=${type}: use cache, secret, bind or tmpfs`);
  }

  private async copyStep(ins: Instruction, state: State, lookup: (n: string) => string | undefined, text: string): Promise<State> {
    const add = ins.keyword === 'ADD';
    const known = add ? ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir'] : ['chown', 'chmod', 'from', 'link', 'parents', 'exclude'];
    const bad = ins.flags.find((f) => !known.includes(f.name));
    if (bad) throw this.err(ins, `${ins.keyword}: unknown flag --${bad.name}`);
    const flag = (name: string) => {
      const f = ins.flags.find((x) => x.name === name);
      return f && (f.value === undefined ? 'true' : this.word(ins, lookup, f.value));
    };
    let words: string[];
    let inline: Array<{ name: string; body: string }> | undefined;
    if (ins.heredocs.length) {
      const plain = ins.args.replace(/<<-?(["']?)[A-Za-z_][A-Za-z0-9_]*\1/g, ' ').trim();
      words = this.words(ins, lookup, plain);
      // An unquoted here-document's variables are expanded, as inside double quotes.
      inline = ins.heredocs.map((h) => ({ name: h.name, body: h.expand ? this.word(ins, lookup, `"${h.body.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`) : h.body }));
    } else {
      words = ins.json ?? this.words(ins, lookup);
    }
    if (words.length < (inline ? 1 : 2)) throw this.err(ins, `${ins.keyword} needs a source and a destination`);
    const destWord = words[words.length - 1]!;
    const sources = words.slice(0, -1);
    const from = flag('from');
    let fromLayers: string[] | undefined;
    if (from) {
      const s = this.stageRef(from);
      if (s) {
        const built = this.results.get(s.index);
        if (!built) throw this.err(ins, `--from=${from}: stage "${from}" is not built before this one`);
        fromLayers = layerDirs(this.engine, built.layers.map((l) => l.diffId));
      } else {
        let img;
        try {
          const { name } = await this.services.images.ensure(from, { policy: 'missing' });
          img = this.engine.images.resolve(name);
        } catch (e) {
          if (e instanceof DeniedError) throw e;
          throw this.err(ins, `--from=${from}: no stage or image by that name (${(e as Error).message})`);
        }
        fromLayers = layerDirs(this.engine, img.layers);
      }
    }
    let srcDir = this.contextDir;
    let ignore = this.ignore;
    let extract = add;
    let srcSources = sources;
    let download: string | undefined;
    for (const s of sources) {
      if (/^https?:\/\//.test(s)) {
        if (!add) throw this.err(ins, `COPY ${s}: COPY takes files of the context; ADD fetches a URL`);
        if (sources.length !== 1 || fromLayers) throw this.err(ins, `ADD ${s}: a URL must be ADD's only source`);
        download = await this.fetchUrl(ins, s);
        srcDir = download;
        ignore = [];
        // As Docker: a downloaded archive is not unpacked.
        extract = false;
        srcSources = [readdirSync(download)[0]!];
        continue;
      }
      if (!fromLayers && posix.normalize(s).split('/')[0] === '..') throw this.err(ins, `${ins.keyword} ${s}: forbidden path outside the build context`);
    }
    try {
      return await this.copyFrom(ins, state, text, { srcDir, ignore, extract, sources: srcSources, fromLayers, inline, destWord, chown: flag('chown'), chmod: flag('chmod') });
    } finally {
      if (download) rmSync(download, { recursive: true, force: true });
    }
  }

  /**
   * ADD URL: the file fetched into a temporary directory (removed by the
   * caller), named after the URL's last path part, mode 0600 as Docker
   * gives it. A URL that cannot be fetched fails within 30 s, naming why.
   */
  private async fetchUrl(ins: Instruction, url: string): Promise<string> {
    const dir = join(this.engine.paths.tmp, tmpName('build-url'));
    mkdirSync(dir, { mode: 0o700 });
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000), redirect: 'follow' });
      if (!res.ok) throw new Error(`the server answered ${res.status} ${res.statusText}`);
      const name = decodeURIComponent(new URL(res.url || url).pathname.split('/').filter(Boolean).pop() ?? '') || 'download';
      if (name === '.' || name === '..' || name.includes('/')) throw new Error(`the URL names no file`);
      writeFileSync(join(dir, name), Buffer.from(await res.arrayBuffer()), { mode: 0o600 });
      return dir;
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      const err = e as Error & { cause?: Error };
      const why = err.name === 'TimeoutError' ? 'no answer within 30 s' : err.cause?.message ?? err.message;
      throw this.err(ins, `ADD ${url}: cannot fetch it: ${why}`);
    }
  }

  private async copyFrom(ins: Instruction, state: State, text: string, o: {
    srcDir: string; ignore: string[]; extract: boolean; sources: string[]; fromLayers: string[] | undefined;
    inline: Array<{ name: string; body: string }> | undefined; destWord: string; chown: string | undefined; chmod: string | undefined;
  }): Promise<State> {
    const { fromLayers, inline, destWord, sources } = o;
    // From the context, the cache key's content hash is read here, without the namespace: a hit then costs no helper.
    let keyHash: string | undefined;
    if (!fromLayers && !inline) {
      try {
        keyHash = hashContextSources(o.srcDir, sources, o.ignore);
      } catch (e) {
        throw this.err(ins, `${ins.keyword} failed: ${(e as Error).message}`);
      }
      const key = stepKey([state.key, `${text} # buildkit`, keyHash]);
      const hit = this.lookupCache(key);
      if (hit) {
        this.hits.add(hit);
        this.onEvent({ type: 'cached', id: hit });
        return this.fromCache(hit, key);
      }
    }
    const workdir = state.image.config.WorkingDir || '/';
    const dest = destWord.startsWith('/') ? destWord : posix.join(workdir, destWord) + (destWord.endsWith('/') || destWord === '.' ? '/' : '');
    const input = {
      from: fromLayers ? { layers: fromLayers } : { dir: o.srcDir },
      sources,
      ...(inline ? { inline } : {}),
      dest,
      destLayers: layerDirs(this.engine, state.layers.map((l) => l.diffId)),
      ...(o.chown ? { chown: o.chown } : {}),
      ...(o.chmod ? { chmod: o.chmod } : {}),
      ignore: fromLayers ? [] : o.ignore,
      extractArchives: o.extract,
    };
    if (keyHash !== undefined) {
      // The key is known (a miss): the files are packed straight into the store, no tar file between.
      return this.layerStep(state, `${text} # buildkit`, [keyHash], async () => {
        try {
          return await storeCopyDirect(this.engine, this.packer, input);
        } catch (e) {
          throw this.err(ins, `${ins.keyword} failed: ${(e as Error).message}`);
        }
      });
    }
    let packed;
    try {
      packed = await packCopyTar(this.engine, this.packer, input);
    } catch (e) {
      throw this.err(ins, `${ins.keyword} failed: ${(e as Error).message}`);
    }
    const tar = packed.tar;
    let used = false;
    try {
      return await this.layerStep(state, `${text} # buildkit`, [packed.hash], async () => {
        used = true;
        return storeCopy(this.engine, tar);
      });
    } finally {
      if (!used) rmSync(tar, { force: true });
    }
  }

  /** Waits for the step containers' removal (and removes those of an interrupted build), lets go of the networks held, ends the packer. */
  async cleanup(): Promise<void> {
    await Promise.all(this.removals);
    for (const id of [...this.containers]) await this.removeContainer(id);
    for (const release of this.networkHolds.values()) {
      try { release(); } catch { /* the network was removed meanwhile */ }
    }
    this.networkHolds.clear();
    await this.packer.close();
  }
}

/** Unpacks a context given as a tar archive into a temporary directory (removed by the caller). */
export async function contextFromTar(engine: Engine, input: NodeJS.ReadableStream): Promise<string> {
  const dir = join(engine.paths.tmp, tmpName('build-context'));
  mkdirSync(dir, { mode: 0o700 });
  const child = spawn('tar', ['-x', '-f', '-', '--no-same-owner', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  input.pipe(child.stdin!);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new EngineError(`build -: the context on standard input is not a tar archive (${stderr.trim().split('\n').pop() ?? `tar exit ${code}`})`);
  }
  return dir;
}

export function checkContextDir(dir: string): void {
  let st;
  try { st = statSync(dir); } catch { throw new EngineError(`build context ${dir}: no such directory`); }
  if (!st.isDirectory()) throw new EngineError(`build context ${dir}: not a directory`);
}

export { resolvePath, SubstitutionError };
