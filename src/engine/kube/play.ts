import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Engine } from '../engine.js';
import type { CallerContext } from '../context.js';
import type { ContainerService } from '../containers/service.js';
import type { PodService } from '../pods/service.js';
import type { CreateRequest, HealthRequest, MountSpec } from '../containers/request.js';
import type { PortBinding } from '../../util/values.js';
import { EngineError } from '../../util/errors.js';
import { SHAPES, unknownFields } from './fields.js';
import { kubeName } from './generate.js';

export interface PlayRequest {
  /** Remove what the documents made (pods; their volumes stay, as Podman's). */
  down?: boolean;
  /** Remove pods of the same names first. */
  replace?: boolean;
  /** More files holding ConfigMaps (--configmap). */
  configmaps?: Array<{ name: string; text: string }>;
}

export interface PlayResult {
  pods: Array<{ id: string; name: string; containers: Array<{ id: string; name: string }> }>;
  volumes: string[];
  /** With down: the pods removed. */
  removed: string[];
}

type Obj = Record<string, any>;
interface Doc { kind: string; name: string; body: Obj; where: string }

const KINDS: Record<string, { apiVersion: string; load: () => Promise<new (data: any) => { validate(): void }> }> = {
  Pod: { apiVersion: 'v1', load: async () => (await import('kubernetes-models/v1/Pod')).Pod },
  Deployment: { apiVersion: 'apps/v1', load: async () => (await import('kubernetes-models/apps/v1/Deployment')).Deployment },
  Service: { apiVersion: 'v1', load: async () => (await import('kubernetes-models/v1/Service')).Service },
  ConfigMap: { apiVersion: 'v1', load: async () => (await import('kubernetes-models/v1/ConfigMap')).ConfigMap },
  Secret: { apiVersion: 'v1', load: async () => (await import('kubernetes-models/v1/Secret')).Secret },
  PersistentVolumeClaim: { apiVersion: 'v1', load: async () => (await import('kubernetes-models/v1/PersistentVolumeClaim')).PersistentVolumeClaim },
};

/** "/spec/containers/0/image" as the manifest's path: spec.containers[0].image. */
function dotted(pointer: string): string {
  return pointer.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** Parses, checks against the API's schema and against what rootlet plays; the first problem is refused naming its path. */
async function readDocs(files: Array<{ name: string; text: string }>): Promise<Doc[]> {
  const docs: Doc[] = [];
  for (const f of files) {
    const parsed = parseAllDocuments(f.text);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    let n = 0;
    for (const d of list) {
      n++;
      if (d.errors.length) throw new EngineError(`${f.name}: document ${n}: not YAML: ${d.errors[0]!.message.split('\n')[0]}`);
      const body = d.toJS() as Obj | null;
      if (body === null || body === undefined) continue;
      const where = `${f.name}: document ${n}`;
      if (typeof body !== 'object' || Array.isArray(body)) throw new EngineError(`${where}: not a Kubernetes object (a mapping with apiVersion and kind)`);
      const kind = String(body.kind ?? '');
      const known = KINDS[kind];
      if (!known) throw new EngineError(`${where}: kind ${kind || '(none)'}${body.apiVersion ? ` (${body.apiVersion})` : ''} is not supported: kube play runs ${Object.keys(KINDS).join(', ')}`);
      if (body.apiVersion !== known.apiVersion) throw new EngineError(`${where}: apiVersion ${body.apiVersion ?? '(none)'} of ${kind}: use ${known.apiVersion}`);
      const name = String(body.metadata?.name ?? '');
      const label = `${where} (${kind} ${name || '?'})`;
      const Model = await known.load();
      try {
        new Model(body).validate();
      } catch (err) {
        const e = (err as { errors?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }> }).errors?.[0];
        if (!e) throw new EngineError(`${label}: ${(err as Error).message}`);
        const extra = e.params && 'allowedValues' in e.params ? `: ${JSON.stringify(e.params.allowedValues)}` : '';
        throw new EngineError(`${label}: ${dotted(e.instancePath ?? '') || '(the object)'}: ${e.message ?? 'invalid'}${extra}`);
      }
      if (!name) throw new EngineError(`${label}: metadata.name is required`);
      const unknown = unknownFields(body, SHAPES[kind]!, '');
      if (unknown.length) throw new EngineError(`${label}: ${unknown.join(', ')}: not supported by kube play`);
      docs.push({ kind, name, body, where: label });
    }
  }
  return docs;
}

/** A Kubernetes quantity of bytes: 64Mi, 1G, 128974848, 1e3. */
function bytesOf(q: unknown, where: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/.exec(String(q));
  if (!m) throw new EngineError(`${where}: "${String(q)}" is not a quantity of bytes`);
  const mult: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, m: 1e-3 };
  return Math.floor(Number(m[1]) * (m[2] ? mult[m[2]]! : 1));
}

function cpusOf(q: unknown, where: string): number {
  const s = String(q);
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(s);
  if (!m) throw new EngineError(`${where}: "${s}" is not a quantity of CPU`);
  return Math.round((Number(m[1]) / (m[2] ? 1000 : 1)) * 1e9);
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A probe as a health check: exec as it is (sh -c X as CMD-SHELL X), httpGet and tcpSocket as a command in the container. */
function healthOf(p: Obj, ports: Obj[], where: string): HealthRequest {
  const port = (v: unknown) => (typeof v === 'number' ? v : ports.find((x) => x.name === v)?.containerPort ?? (() => { throw new EngineError(`${where}: the port "${String(v)}" is not a named port of the container`); })());
  let test: string[];
  if (p.exec) {
    const cmd = p.exec.command as string[];
    test = cmd.length === 3 && ['/bin/sh', 'sh'].includes(cmd[0]!) && cmd[1] === '-c' ? ['CMD-SHELL', cmd[2]!] : ['CMD', ...cmd];
  } else if (p.httpGet) {
    const url = `${String(p.httpGet.scheme ?? 'HTTP').toLowerCase()}://${p.httpGet.host ?? 'localhost'}:${port(p.httpGet.port)}${p.httpGet.path ?? '/'}`;
    if (p.httpGet.httpHeaders?.length) throw new EngineError(`${where}.httpGet.httpHeaders: not supported by kube play`);
    test = ['CMD-SHELL', `wget -q -O /dev/null ${shellQuote(url)} || curl -fsS -o /dev/null ${shellQuote(url)}`];
  } else if (p.tcpSocket) {
    test = ['CMD-SHELL', `nc -z ${shellQuote(String(p.tcpSocket.host ?? 'localhost'))} ${port(p.tcpSocket.port)}`];
  } else {
    throw new EngineError(`${where}: a probe needs exec, httpGet or tcpSocket`);
  }
  return {
    test,
    intervalMs: (p.periodSeconds ?? 10) * 1000,
    timeoutMs: (p.timeoutSeconds ?? 1) * 1000,
    retries: p.failureThreshold ?? 3,
    ...(p.initialDelaySeconds ? { startPeriodMs: p.initialDelaySeconds * 1000 } : {}),
  };
}

const RESTART: Record<string, 'always' | 'on-failure' | 'no'> = { Always: 'always', OnFailure: 'on-failure', Never: 'no' };

interface Ctx {
  engine: Engine;
  configMaps: Map<string, Record<string, string>>;
  secrets: Map<string, Record<string, string>>;
  claims: Set<string>;
  warn: (line: string) => void;
}

function keyValue(ctx: Ctx, kind: 'configMap' | 'secret', name: string, key: string | undefined, optional: boolean, where: string): Record<string, string> | string | undefined {
  const data = (kind === 'configMap' ? ctx.configMaps : ctx.secrets).get(name);
  if (!data) {
    if (optional) return undefined;
    throw new EngineError(`${where}: no ${kind === 'configMap' ? 'ConfigMap' : 'Secret'} named ${name} in the files given${kind === 'configMap' ? ' (or --configmap)' : ''}`);
  }
  if (key === undefined) return data;
  if (!(key in data)) {
    if (optional) return undefined;
    throw new EngineError(`${where}: ${name} has no key ${key}`);
  }
  return data[key];
}

/** The files of a ConfigMap or Secret volume, written into a rootlet volume of its own (bound read-only). */
async function dataVolume(ctx: Ctx, kind: 'configMap' | 'secret', name: string, items: Obj[] | undefined, where: string): Promise<string> {
  const data = keyValue(ctx, kind, name, undefined, false, where) as Record<string, string>;
  const { ensureVolume } = await import('../volumes/volumes.js');
  const vol = `kube-${kind.toLowerCase()}-${kubeName(name)}`;
  const { data: dir } = ensureVolume(ctx.engine, { name: vol, labels: { 'io.rootlet.kube': kind } });
  const entries = items?.length ? items.map((i) => [String(i.path), data[String(i.key)] ?? (() => { throw new EngineError(`${where}: ${name} has no key ${String(i.key)}`); })()] as const) : Object.entries(data);
  for (const [path, value] of entries) {
    const file = join(dir, path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, value, { mode: kind === 'secret' ? 0o600 : 0o644 });
  }
  return vol;
}

/** One container of a pod as a create request (its pod is named in it). */
async function containerRequest(ctx: Ctx, podName: string, podSpec: Obj, c: Obj, where: string, pod: string): Promise<{ req: CreateRequest; pull: 'missing' | 'always' | 'never' }> {
  const env: string[] = [];
  for (const [i, from] of ((c.envFrom ?? []) as Obj[]).entries()) {
    const ref = from.configMapRef ?? from.secretRef;
    const data = keyValue(ctx, from.configMapRef ? 'configMap' : 'secret', ref.name, undefined, !!ref.optional, `${where}.envFrom[${i}]`) as Record<string, string> | undefined;
    for (const [k, v] of Object.entries(data ?? {})) env.push(`${from.prefix ?? ''}${k}=${v}`);
  }
  for (const [i, e] of ((c.env ?? []) as Obj[]).entries()) {
    if (e.valueFrom) {
      const ref = e.valueFrom.configMapKeyRef ?? e.valueFrom.secretKeyRef;
      if (!ref) throw new EngineError(`${where}.env[${i}].valueFrom: only configMapKeyRef and secretKeyRef are supported by kube play`);
      const v = keyValue(ctx, e.valueFrom.configMapKeyRef ? 'configMap' : 'secret', ref.name, ref.key, !!ref.optional, `${where}.env[${i}].valueFrom`);
      if (v !== undefined) env.push(`${e.name}=${v as string}`);
    } else {
      env.push(`${e.name}=${e.value ?? ''}`);
    }
  }
  const ports = (c.ports ?? []) as Obj[];
  const mounts: MountSpec[] = [];
  for (const [i, m] of ((c.volumeMounts ?? []) as Obj[]).entries()) {
    const at = `${where}.volumeMounts[${i}]`;
    const v = ((podSpec.volumes ?? []) as Obj[]).find((x) => x.name === m.name);
    if (!v) throw new EngineError(`${at}.name: no volume named ${m.name} in the pod`);
    const readOnly = !!m.readOnly;
    if (v.persistentVolumeClaim) {
      const claim = String(v.persistentVolumeClaim.claimName);
      mounts.push({ type: 'volume', source: claim, target: m.mountPath, readOnly: readOnly || !!v.persistentVolumeClaim.readOnly });
      ctx.claims.add(claim);
    } else if (v.hostPath) {
      const must = ['Directory', 'File', 'Socket', 'CharDevice', 'BlockDevice'].includes(v.hostPath.type);
      mounts.push({ type: 'bind', source: v.hostPath.path, target: m.mountPath, readOnly, ...(must ? { mustExist: true } : {}) });
    } else if (v.emptyDir) {
      if (v.emptyDir.medium === 'Memory') {
        const size = v.emptyDir.sizeLimit ? [`size=${bytesOf(v.emptyDir.sizeLimit, `${at}: sizeLimit`)}`] : [];
        mounts.push({ type: 'tmpfs', target: m.mountPath, options: size });
      } else {
        mounts.push({ type: 'volume', target: m.mountPath, readOnly });
      }
    } else if (v.configMap || v.secret) {
      const kind = v.configMap ? 'configMap' : 'secret';
      const src = v.configMap ?? v.secret;
      const vol = await dataVolume(ctx, kind, String(src.name ?? src.secretName), src.items, at);
      mounts.push({ type: 'volume', source: vol, target: m.mountPath, readOnly: true });
    } else {
      throw new EngineError(`${at}: volume ${m.name} has no type kube play supports`);
    }
  }
  const lim = c.resources?.limits ?? {};
  for (const k of Object.keys(lim)) if (!['memory', 'cpu'].includes(k)) throw new EngineError(`${where}.resources.limits.${k}: not supported by kube play (memory and cpu are)`);
  if (c.resources?.requests) ctx.warn(`${where}.resources.requests: a request only places a pod on a node: nothing to do here`);
  const probe = c.livenessProbe ?? c.readinessProbe ?? c.startupProbe;
  const probeAt = `${where}.${c.livenessProbe ? 'livenessProbe' : c.readinessProbe ? 'readinessProbe' : 'startupProbe'}`;
  if ([c.livenessProbe, c.readinessProbe, c.startupProbe].filter(Boolean).length > 1) ctx.warn(`${where}: a container has one health check here: ${probeAt} is the one run`);
  const psc = podSpec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const uid = sc.runAsUser ?? psc.runAsUser;
  const gid = sc.runAsGroup ?? psc.runAsGroup;
  if (gid !== undefined && uid === undefined) throw new EngineError(`${where}.securityContext.runAsGroup: needs runAsUser here (the image's user and another group cannot be asked for)`);
  const seccomp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
  if (seccomp === 'Localhost') throw new EngineError(`${where}.securityContext.seccompProfile: Localhost profiles are not supported by kube play: use RuntimeDefault, or run the container with --security-opt seccomp=FILE`);
  const caps = sc.capabilities ?? {};
  const restart = RESTART[podSpec.restartPolicy ?? 'Always'];
  const pull = c.imagePullPolicy === 'Always' ? 'always' : c.imagePullPolicy === 'Never' ? 'never' : 'missing';
  const req: CreateRequest = {
    image: String(c.image),
    name: `${podName}-${c.name}`,
    pod,
    ...(c.command ? { entrypoint: c.command, cmd: c.args ?? [] } : c.args ? { cmd: c.args } : {}),
    env,
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    ...(uid !== undefined ? { user: gid !== undefined ? `${uid}:${gid}` : String(uid) } : {}),
    tty: !!c.tty,
    openStdin: !!c.stdin,
    ...(probe ? { healthcheck: healthOf(probe, ports, probeAt) } : {}),
    ...(podSpec.terminationGracePeriodSeconds !== undefined ? { stopTimeoutSec: podSpec.terminationGracePeriodSeconds } : {}),
    labels: { 'io.kubernetes.pod.name': podName, 'io.kubernetes.container.name': String(c.name) },
    host: {
      mounts,
      readonlyRootfs: !!sc.readOnlyRootFilesystem,
      restartPolicy: { name: restart ?? 'always', maxRetries: 0 },
      resources: {
        ...(lim.memory !== undefined ? { memoryBytes: bytesOf(lim.memory, `${where}.resources.limits.memory`) } : {}),
        ...(lim.cpu !== undefined ? { nanoCpus: cpusOf(lim.cpu, `${where}.resources.limits.cpu`) } : {}),
      },
      ...(sc.privileged ? { privileged: true } : {}),
      ...(caps.add?.length ? { capAdd: caps.add } : {}),
      ...(caps.drop?.length ? { capDrop: caps.drop } : {}),
      securityOpt: {
        ...(sc.allowPrivilegeEscalation === false ? { noNewPrivileges: true } : {}),
        ...(seccomp === 'Unconfined' ? { seccomp: 'unconfined' } : {}),
      },
    },
  };
  return { req, pull };
}

/** The pods the documents describe: Pods, and each Deployment's replicas. */
function podsOf(docs: Doc[]): Array<{ name: string; labels: Record<string, string>; spec: Obj; where: string }> {
  const out: Array<{ name: string; labels: Record<string, string>; spec: Obj; where: string }> = [];
  for (const d of docs) {
    if (d.kind === 'Pod') out.push({ name: kubeName(d.name), labels: d.body.metadata.labels ?? {}, spec: d.body.spec, where: `${d.where}: spec` });
    if (d.kind === 'Deployment') {
      const n = d.body.spec.replicas ?? 1;
      for (let i = 0; i < n; i++) {
        out.push({ name: n === 1 ? `${kubeName(d.name)}-pod` : `${kubeName(d.name)}-pod-${i}`, labels: d.body.spec.template.metadata?.labels ?? {}, spec: d.body.spec.template.spec, where: `${d.where}: spec.template.spec` });
      }
    }
  }
  return out;
}

function selected(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** `kube play` (and `--down`, `--replace`). */
export async function playKube(engine: Engine, containers: ContainerService, pods: PodService, files: Array<{ name: string; text: string }>, req: PlayRequest, caller: CallerContext): Promise<PlayResult> {
  const docs = await readDocs([...files, ...(req.configmaps ?? [])]);
  for (const d of await readDocs(req.configmaps ?? [])) if (d.kind !== 'ConfigMap') throw new EngineError(`${d.where}: --configmap files hold ConfigMaps only`);
  const wanted = podsOf(docs);
  const result: PlayResult = { pods: [], volumes: [], removed: [] };
  if (req.down || req.replace) {
    const { PodStore } = await import('../pods/store.js');
    const store = new PodStore(engine.db);
    for (const p of wanted) {
      if (!store.byName(p.name)) continue;
      await pods.remove(p.name, { force: true });
      result.removed.push(p.name);
    }
    if (req.down) return result;
  }
  const ctx: Ctx = { engine, configMaps: new Map(), secrets: new Map(), claims: new Set(), warn: (l) => caller.warn(`WARNING: ${l}`) };
  for (const d of docs) {
    if (d.kind === 'ConfigMap') ctx.configMaps.set(d.name, { ...(d.body.data ?? {}), ...Object.fromEntries(Object.entries(d.body.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('latin1')])) });
    if (d.kind === 'Secret') {
      ctx.secrets.set(d.name, { ...Object.fromEntries(Object.entries(d.body.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')])), ...(d.body.stringData ?? {}) });
    }
  }
  // Every pod's requests first: a manifest with a bad container makes nothing.
  const plans: Array<{ name: string; labels: Record<string, string>; ports: PortBinding[]; hostNetwork: boolean; reqs: Array<{ req: CreateRequest; pull: 'missing' | 'always' | 'never' }> }> = [];
  const services = docs.filter((d) => d.kind === 'Service');
  for (const p of wanted) {
    const reqs = [];
    const ports: PortBinding[] = [];
    for (const [i, c] of ((p.spec.containers ?? []) as Obj[]).entries()) {
      const at = `${p.where}.containers[${i}]`;
      reqs.push(await containerRequest(ctx, p.name, p.spec, c, at, p.name));
      for (const port of (c.ports ?? []) as Obj[]) {
        if (port.hostPort) ports.push({ hostIp: port.hostIP ?? '', hostPort: port.hostPort, containerPort: port.containerPort, protocol: String(port.protocol ?? 'TCP').toLowerCase() as 'tcp' });
      }
    }
    for (const s of services) {
      if (!selected(s.body.spec.selector, p.labels)) continue;
      for (const [j, sp] of ((s.body.spec.ports ?? []) as Obj[]).entries()) {
        let target = sp.targetPort ?? sp.port;
        if (typeof target === 'string') {
          target = ((p.spec.containers ?? []) as Obj[]).flatMap((c) => (c.ports ?? []) as Obj[]).find((x) => x.name === target)?.containerPort;
          if (!target) throw new EngineError(`${s.where}: spec.ports[${j}].targetPort: no container port named ${String(sp.targetPort)}`);
        }
        const hostPort = sp.nodePort ?? sp.port;
        if (!ports.some((x) => x.hostPort === hostPort)) ports.push({ hostIp: '', hostPort, containerPort: target, protocol: String(sp.protocol ?? 'TCP').toLowerCase() as 'tcp' });
      }
    }
    if (wanted.filter((w) => w.where === p.where).length > 1 && ports.length) {
      throw new EngineError(`${p.where}: replicas of a Deployment cannot publish the same host ports on one machine: use one replica, or no hostPort/Service`);
    }
    plans.push({ name: p.name, labels: p.labels, ports, hostNetwork: !!p.spec.hostNetwork, reqs });
  }
  const { ensureVolume } = await import('../volumes/volumes.js');
  for (const d of docs) {
    if (d.kind === 'PersistentVolumeClaim') ensureVolume(engine, { name: d.name, labels: { 'io.rootlet.kube': 'PersistentVolumeClaim' } });
  }
  for (const claim of ctx.claims) {
    if (!docs.some((d) => d.kind === 'PersistentVolumeClaim' && d.name === claim)) ctx.warn(`persistentVolumeClaim ${claim} has no PersistentVolumeClaim in the files: the volume ${claim} is used (made when missing)`);
  }
  result.volumes = [...new Set([...docs.filter((d) => d.kind === 'PersistentVolumeClaim').map((d) => d.name), ...ctx.claims])];
  for (const plan of plans) {
    const pod = await pods.create({ name: plan.name, portBindings: plan.ports, labels: plan.labels, ...(plan.hostNetwork ? { networkMode: 'host' } : {}) });
    const made = { id: pod.id, name: pod.name, containers: [] as Array<{ id: string; name: string }> };
    result.pods.push(made);
    try {
      await pods.start(pod.id);
      for (const { req: r, pull } of plan.reqs) {
        const { id } = await containers.run(r, { detach: true, pull }, caller);
        made.containers.push({ id: id!, name: r.name! });
      }
    } catch (err) {
      // Nothing half made: the pod goes with what it had.
      await pods.remove(pod.id, { force: true }).catch(() => undefined);
      result.pods.pop();
      throw err;
    }
  }
  return result;
}
