import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Engine } from '../engine.js';
import type { CreateRequest } from '../containers/request.js';
import type { ContainerRecord } from '../containers/store.js';
import type { ContainerSpec } from '../containers/spec.js';
import { newContainerRuntime } from '../containers/bundle.js';
import { refreshStates } from '../containers/state.js';
import { isRunning } from '../containers/running.js';
import { ContainerStore } from '../containers/store.js';
import { trace } from '../../util/trace.js';
import { applicable, checkContainer, checkLocalImage, checkRegistry, checkRunning, runningLimit, type Caller, type ContainerAsk } from './evaluate.js';
import { loadPolicy, loadUserPolicy, POLICY_DIR, type PolicySection } from './load.js';

/** The policy as it applies to this engine's user: the files read and the sections that count. */
export interface CallerPolicy {
  caller: Caller;
  /** Every admin file read, in order. */
  files: string[];
  /** The user's own config file, when its [policy] table tightens the admin's. */
  userConfig?: string;
  sections: PolicySection[];
}

const cache = new WeakMap<Engine, Promise<CallerPolicy>>();

/** The caller's group names: the primary group, the process's groups and /etc/group's memberships (a dropped group still counts). */
function groupNames(name: string, gid: number): string[] {
  let text = '';
  try { text = readFileSync('/etc/group', 'utf8'); } catch { /* no groups known by name */ }
  const gids = new Set([gid, ...(process.getgroups?.() ?? [])]);
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const [g, , id, members] = line.split(':');
    if (!g || id === undefined) continue;
    if (gids.has(Number(id)) || (members ?? '').split(',').includes(name)) out.add(g);
  }
  return [...out];
}

/**
 * Who the caller is, for the policy: by uid from the passwd entry, never
 * from $USER or $HOME, which the caller sets.
 */
function callerOf(engine: Engine, needGroups: boolean): Caller {
  let name = engine.id.name;
  let home = engine.id.home;
  try {
    const info = userInfo();
    if (info.uid === engine.id.uid) ({ username: name, homedir: home } = info);
  } catch { /* no passwd entry: the engine's identity */ }
  return { name, uid: engine.id.uid, home, groups: needGroups ? groupNames(name, engine.id.gid) : [] };
}

/** Loads the policy once per engine: the admin's files, then the user's own [policy] (which can only add rules). */
export function policyFor(engine: Engine, dir = POLICY_DIR): Promise<CallerPolicy> {
  let p = cache.get(engine);
  if (!p) {
    p = (async () => {
      trace('policy: load');
      const admin = await loadPolicy(dir);
      const own = await loadUserPolicy(engine.paths.configFile);
      const all = [...admin.sections, ...own];
      const caller = callerOf(engine, all.some((s) => s.section.startsWith('group.')));
      trace('policy loaded');
      return { caller, files: admin.files, ...(own.length ? { userConfig: engine.paths.configFile } : {}), sections: applicable(all, caller) };
    })();
    cache.set(engine, p);
  }
  return p;
}

/** The parts of a create request the policy rules on. */
export function askOf(req: CreateRequest): ContainerAsk {
  const h = req.host ?? {};
  const ask: ContainerAsk = {};
  if (h.privileged) ask.privileged = true;
  if (h.capAdd?.length) ask.capAdd = h.capAdd;
  if (h.devices?.length) ask.devices = h.devices.map((d) => d.pathOnHost);
  if (h.networkMode) ask.networkMode = h.networkMode;
  const binds = (h.mounts ?? []).flatMap((m) => (m.type === 'bind' ? [{ source: m.source, target: m.target }] : []));
  if (binds.length) ask.binds = binds;
  if (h.portBindings?.length) ask.ports = h.portBindings;
  if (h.publishAllPorts) ask.publishAll = true;
  const r = h.resources ?? {};
  if (r.memoryBytes !== undefined) ask.memoryBytes = r.memoryBytes;
  if (r.nanoCpus !== undefined) ask.nanoCpus = r.nanoCpus;
  if (r.pidsLimit !== undefined) ask.pidsLimit = r.pidsLimit;
  if (h.runtime) ask.runtime = h.runtime;
  if (h.isolation) ask.isolation = h.isolation;
  return ask;
}

/** A container's ask from its stored spec: its own (recorded at create), or rebuilt for a record older than the policy. */
export function askOfSpec(engine: Engine, spec: ContainerSpec): ContainerAsk {
  const volumes = engine.paths.volumes;
  const ask: ContainerAsk = spec.policy ? { ...spec.policy } : {
    networkMode: spec.net?.mode ?? spec.network,
    binds: spec.mounts.filter((m) => m.type === 'bind' && !m.source.startsWith(`${volumes}/`)).map((m) => ({ source: m.source, target: m.destination })),
    ports: (spec.net?.ports ?? []).filter((p) => !spec.net?.publishAll || p.hostPort),
    memoryBytes: spec.resources.memoryBytes,
    nanoCpus: spec.resources.cpuQuota !== undefined ? Math.round((spec.resources.cpuQuota / (spec.resources.cpuPeriod ?? 100_000)) * 1e9) : undefined,
    pidsLimit: spec.resources.pidsLimit,
  };
  // Checked again as what it will run under, not as it was asked.
  if (spec.runtime) ask.runtime = spec.runtime;
  return ask;
}

function defaultRuntime(engine: Engine): () => string | undefined {
  return () => {
    try {
      return newContainerRuntime(engine, undefined).name;
    } catch {
      return undefined; // no runtime at all: create says so
    }
  };
}

function countRunning(engine: Engine, except?: string): number {
  const recs = refreshStates(engine, new ContainerStore(engine.db).list());
  return recs.filter((r) => r.id !== except && isRunning(engine, r)).length;
}

function needsRunningCount(p: CallerPolicy): boolean {
  return p.sections.some((s) => s.rules.some((r) => r.key === 'max_containers'));
}

/**
 * `create` and `run`: the whole request against the policy; returns it
 * completed by the policy (limits it caps, the runtime it forces).
 * `running`: the request starts a container (run), so it counts.
 */
export async function checkCreateRequest(engine: Engine, req: CreateRequest, opts: { running: boolean }): Promise<CreateRequest> {
  trace('policy: check');
  const p = await policyFor(engine);
  if (!p.sections.length) {
    trace('policy checked');
    return req;
  }
  const ask = checkContainer(p.sections, p.caller, askOf(req), defaultRuntime(engine));
  if (opts.running && needsRunningCount(p)) checkRunning(p.sections, countRunning(engine), 'run');
  trace('policy checked');
  const host = { ...(req.host ?? {}) };
  const resources = { ...(host.resources ?? {}) };
  if (ask.memoryBytes !== undefined) resources.memoryBytes = ask.memoryBytes;
  if (ask.nanoCpus !== undefined) resources.nanoCpus = ask.nanoCpus;
  if (ask.pidsLimit !== undefined) resources.pidsLimit = ask.pidsLimit;
  if (Object.keys(resources).length) host.resources = resources;
  if (ask.runtime) host.runtime = ask.runtime;
  if (ask.isolation) host.isolation = ask.isolation;
  return { ...req, host };
}

/** `start` (and restart) of an existing container: its settings again (the policy may have changed since), and the running count. */
export async function checkStart(engine: Engine, rec: ContainerRecord): Promise<void> {
  const p = await policyFor(engine);
  if (!p.sections.length) return;
  checkContainer(p.sections, p.caller, askOfSpec(engine, rec.spec), defaultRuntime(engine), { fill: false });
  if (needsRunningCount(p)) checkRunning(p.sections, countRunning(engine, rec.id), `start ${rec.name}`);
}

/** What a start must stay within (`max_containers`), for the start move to enforce; undefined when no rule limits it. */
export async function runningAdmission(engine: Engine): Promise<ReturnType<typeof runningLimit>> {
  const p = await policyFor(engine);
  return p.sections.length ? runningLimit(p.sections) : undefined;
}

/** `exec`: a privileged exec is the same ask as --privileged; the container's own settings must still be allowed. */
export async function checkExec(engine: Engine, rec: ContainerRecord, privileged: boolean): Promise<void> {
  const p = await policyFor(engine);
  if (!p.sections.length) return;
  if (privileged) checkContainer(p.sections, p.caller, { privileged: true }, () => undefined);
  checkContainer(p.sections, p.caller, askOfSpec(engine, rec.spec), defaultRuntime(engine), { fill: false });
}

/** A pull from `domain` (checked before any network access). */
export async function checkPullFrom(engine: Engine, domain: string, what: string): Promise<void> {
  const p = await policyFor(engine);
  if (p.sections.length) checkRegistry(p.sections, domain, what);
}

/** An image made here (import, load, build). */
export async function checkLocal(engine: Engine, what: string): Promise<void> {
  const p = await policyFor(engine);
  if (p.sections.length) checkLocalImage(p.sections, what);
}
