import { stringify } from 'yaml';
import type { Engine } from '../engine.js';
import { ContainerStore, type ContainerRecord } from '../containers/store.js';
import { DEFAULT_PATH } from '../containers/spec.js';
import { findVolume } from '../volumes/volumes.js';
import { PodStore, type PodRecord } from '../pods/store.js';
import { EngineError } from '../../util/errors.js';
import { DEFAULT_CAPS } from '../../runtime/capabilities.js';
import { checkPodSecurity, pssLevel, type PssViolation } from './pss.js';

export interface GenerateRequest {
  /** pod (default) or deployment. */
  type?: 'pod' | 'deployment';
  /** Add a Service for the published ports (then the pod itself asks for no host port). */
  service?: boolean;
  /** Replicas of a Deployment (default 1). */
  replicas?: number;
}

export interface GenerateResult {
  /** The manifest: YAML documents separated by `---`. */
  yaml: string;
  /** The documents, as objects (for the API and the tests). */
  documents: object[];
  /** One line each: what does not carry over, and each Pod Security Standards breach. */
  warnings: string[];
  violations: PssViolation[];
  /** The strictest Pod Security Standards profile the manifest meets. */
  level: 'restricted' | 'baseline' | 'privileged';
}

type Obj = Record<string, unknown>;

/** A DNS-1123 name, as Kubernetes wants object and container names (lower case, digits, '-'). */
export function kubeName(name: string): string {
  const n = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return n || 'container';
}

function seconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}

/** An `-u` value as numbers, when it is numbers. */
function numericUser(user: string): { uid?: number; gid?: number } {
  const [u, g] = user.split(':');
  return { ...(u && /^\d+$/.test(u) ? { uid: Number(u) } : {}), ...(g && /^\d+$/.test(g) ? { gid: Number(g) } : {}) };
}

interface Built {
  container: Obj;
  volumes: Obj[];
  claims: string[];
  warnings: string[];
}

/** One container of the pod: the spec's values as Kubernetes has them, and what it cannot say. */
function containerDoc(engine: Engine, rec: ContainerRecord, ports: Array<{ containerPort: number; hostPort: number; protocol: string }>, withHostPorts: boolean, volumeNames: Set<string>): Built {
  const spec = rec.spec;
  const warnings: string[] = [];
  const name = kubeName(rec.name);
  let imageCfg: { Env?: string[]; Entrypoint?: string[] | null; Cmd?: string[] | null } = {};
  try { imageCfg = (engine.images.resolve(rec.imageId).config.config ?? {}) as typeof imageCfg; } catch { /* image gone: everything is said */ }
  const c: Obj = { name, image: rec.imageName };
  const imageEntry = imageCfg.Entrypoint ?? [];
  const imageCmd = imageCfg.Cmd ?? [];
  const entrypoint = spec.entrypoint ?? [];
  const cmd = spec.cmd ?? spec.args;
  // Kubernetes' command replaces ENTRYPOINT and drops CMD with it; args replaces CMD.
  if (JSON.stringify(entrypoint) !== JSON.stringify(imageEntry)) {
    c.command = entrypoint;
    c.args = cmd;
  } else if (JSON.stringify(cmd) !== JSON.stringify(imageCmd)) {
    c.args = cmd;
  }
  const imageEnv = new Set(imageCfg.Env ?? []);
  const env = spec.env.filter((e) => !imageEnv.has(e) && !e.startsWith('HOSTNAME=') && e !== `PATH=${DEFAULT_PATH}` && !(spec.tty && e === 'TERM=xterm'))
    .map((e) => ({ name: e.slice(0, e.indexOf('=')), value: e.slice(e.indexOf('=') + 1) }));
  if (env.length) c.env = env;
  if (spec.workdir && spec.workdir !== '/') c.workingDir = spec.workdir;
  if (ports.length) c.ports = ports.map((p) => ({ containerPort: p.containerPort, ...(withHostPorts && p.hostPort ? { hostPort: p.hostPort } : {}), ...(p.protocol !== 'TCP' ? { protocol: p.protocol } : {}) }));
  if (spec.tty) c.tty = true;
  if (spec.interactive) c.stdin = true;

  const volumes: Obj[] = [];
  const claims: string[] = [];
  const mounts: Obj[] = [];
  const named = new Map(spec.volumes.map((v) => [findVolume(engine, v.name)?.mountpoint, v]));
  spec.mounts.forEach((m, i) => {
    const readOnly = m.options.includes('ro');
    let vname: string;
    if (m.type === 'tmpfs') {
      vname = `${name}-tmpfs-${i}`;
      const size = m.options.find((o) => o.startsWith('size='))?.slice(5);
      volumes.push({ name: vname, emptyDir: { medium: 'Memory', ...(size ? { sizeLimit: size } : {}) } });
    } else {
      const vol = named.get(m.source);
      if (vol?.anonymous) {
        vname = `${name}-anon-${i}`;
        volumes.push({ name: vname, emptyDir: {} });
      } else if (vol) {
        vname = kubeName(vol.name);
        if (!volumeNames.has(vname)) {
          volumeNames.add(vname);
          volumes.push({ name: vname, persistentVolumeClaim: { claimName: vname } });
          claims.push(vname);
        }
      } else {
        vname = `${name}-host-${i}`;
        volumes.push({ name: vname, hostPath: { path: m.source, type: 'Directory' } });
        warnings.push(`${rec.name}: the bind mount ${m.source}:${m.destination} becomes a hostPath volume: the path must exist on the node, and hostPath breaks the "baseline" profile`);
      }
    }
    mounts.push({ name: vname, mountPath: m.destination, ...(readOnly ? { readOnly: true } : {}) });
  });
  if (mounts.length) c.volumeMounts = mounts;

  const r = spec.resources;
  const limits: Obj = {};
  if (r.memoryBytes) limits.memory = String(r.memoryBytes);
  if (r.cpuQuota && r.cpuPeriod) limits.cpu = `${Math.round((r.cpuQuota / r.cpuPeriod) * 1000)}m`;
  if (Object.keys(limits).length) c.resources = { limits };
  if (r.pidsLimit && r.pidsLimit > 0) warnings.push(`${rec.name}: --pids-limit ${r.pidsLimit} has no field in a Pod (a cluster sets it per node)`);

  const h = spec.health;
  if (h && h.test[0] !== 'NONE') {
    const command = h.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', h.test[1] ?? ''] : h.test.slice(1);
    c.livenessProbe = {
      exec: { command },
      periodSeconds: seconds(h.intervalMs),
      timeoutSeconds: seconds(h.timeoutMs),
      failureThreshold: h.retries,
      ...(h.startPeriodMs ? { initialDelaySeconds: seconds(h.startPeriodMs) } : {}),
    };
  }

  // securityContext: what the container has, written so that "restricted" holds whenever it holds locally.
  const sec = spec.security ?? { capAdd: [], capDrop: [], privileged: false, noNewPrivileges: false, seccomp: 'default' as const, mask: [], unmask: [], devices: [], groupAdd: [] };
  const { uid, gid } = numericUser(spec.user);
  const root = !spec.user || uid === 0 || spec.user === 'root' || spec.user.startsWith('root:') || spec.user.startsWith('0:');
  const sc: Obj = {};
  if (sec.privileged) {
    sc.privileged = true;
    sc.allowPrivilegeEscalation = true;
  } else {
    // Capabilities: a non-root process has none in effect (rootlet gives them to root only), so dropping ALL is what it has.
    const strip = (c: string) => c.replace(/^CAP_/, '');
    const has = root ? (sec.capDrop.includes('ALL') ? [] : DEFAULT_CAPS.filter((x) => !sec.capDrop.includes(x))) : [];
    const add = [...new Set([...has, ...sec.capAdd.filter((x) => x !== 'ALL')].map(strip))];
    if (sec.capAdd.includes('ALL')) warnings.push(`${rec.name}: --cap-add ALL is written as the capabilities it names in Kubernetes' terms: none is added, review securityContext.capabilities`);
    sc.capabilities = { drop: ['ALL'], ...(add.length ? { add } : {}) };
    sc.allowPrivilegeEscalation = false;
    if (!sec.noNewPrivileges && root) warnings.push(`${rec.name}: allowPrivilegeEscalation is false in the manifest; locally the container may gain privileges (no --security-opt no-new-privileges)`);
  }
  if (!root) {
    sc.runAsNonRoot = true;
    if (uid !== undefined) sc.runAsUser = uid;
    else warnings.push(`${rec.name}: the user "${spec.user}" is a name: Kubernetes checks runAsNonRoot only against a numeric user (run with -u UID)`);
    if (gid !== undefined) sc.runAsGroup = gid;
  }
  if (sec.seccomp === 'unconfined' || sec.privileged) sc.seccompProfile = { type: 'Unconfined' };
  else if (sec.seccomp === 'default') sc.seccompProfile = { type: 'RuntimeDefault' };
  else {
    sc.seccompProfile = { type: 'Localhost', localhostProfile: sec.seccomp.path.split('/').pop() };
    warnings.push(`${rec.name}: the seccomp profile ${sec.seccomp.path} must be installed on each node as localhostProfile ${sec.seccomp.path.split('/').pop()}`);
  }
  if (spec.readOnly) sc.readOnlyRootFilesystem = true;
  c.securityContext = sc;
  if (sec.devices.length) warnings.push(`${rec.name}: --device has no field in a Pod: left out`);
  if (spec.ulimits?.length) warnings.push(`${rec.name}: --ulimit has no field in a Pod: left out`);
  return { container: c, volumes, claims, warnings };
}

const RESTART: Record<string, string> = { 'no': 'Never', 'on-failure': 'OnFailure', 'always': 'Always', 'unless-stopped': 'Always' };

/** The containers a ref stands for: a pod's members (and its infra, for the ports), or one container. */
function resolveRefs(engine: Engine, refs: string[]): { pod?: PodRecord; infra?: ContainerRecord; members: ContainerRecord[] } {
  const pods = new PodStore(engine.db);
  const store = new ContainerStore(engine.db);
  const found = refs.map((r) => ({ ref: r, pod: pods.find(r), ctr: store.find(r) }));
  const podRefs = found.filter((f) => f.pod);
  if (podRefs.length > 1 || (podRefs.length && found.length > 1)) throw new EngineError('kube generate takes one pod, or containers: give one pod at a time');
  if (podRefs.length) {
    const pod = podRefs[0]!.pod!;
    const all = store.list();
    const members = all.filter((c) => c.spec.pod?.id === pod.id).sort((a, b) => a.created - b.created);
    if (!members.length) throw new EngineError(`pod ${pod.name} has no container to describe`);
    return { pod, infra: all.find((c) => c.id === pod.infraId), members };
  }
  const members = found.map((f) => {
    if (!f.ctr) throw new EngineError(`no such container or pod: ${f.ref}`);
    if (f.ctr.spec.pod) throw new EngineError(`container ${f.ctr.name} is in a pod: generate the pod instead`);
    return f.ctr;
  });
  return { members };
}

/** `kube generate`: a Pod (or Deployment) manifest for what runs here, with its claims and Service. */
export function generateKube(engine: Engine, refs: string[], req: GenerateRequest = {}): GenerateResult {
  if (!refs.length) throw new EngineError('kube generate needs a container or a pod');
  const { pod, infra, members } = resolveRefs(engine, refs);
  const podName = kubeName(pod ? pod.name : `${members[0]!.name}-pod`);
  const warnings: string[] = [];
  const volumeNames = new Set<string>();
  const containers: Obj[] = [];
  const volumes: Obj[] = [];
  const claims: string[] = [];
  const allPorts: Array<{ containerPort: number; hostPort: number; protocol: string }> = [];
  const portsOf = (c: ContainerRecord) => c.spec.net.ports.map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol.toUpperCase() }));
  const hostNetwork = members.some((m) => m.spec.net.mode === 'host');
  members.forEach((m, i) => {
    const ports = pod ? (i === 0 && infra ? portsOf(infra) : []) : portsOf(m);
    allPorts.push(...ports);
    const b = containerDoc(engine, m, ports, !req.service, volumeNames);
    containers.push(b.container);
    volumes.push(...b.volumes);
    claims.push(...b.claims);
    warnings.push(...b.warnings);
  });
  const restarts = [...new Set(members.map((m) => RESTART[m.spec.restart.name] ?? 'Never'))];
  if (restarts.length > 1) warnings.push(`the containers have different restart policies; a pod has one: ${restarts[0]}`);
  let restartPolicy = restarts[0]!;
  if (req.type === 'deployment' && restartPolicy !== 'Always') {
    warnings.push(`a Deployment's pods restart Always: the containers' restart policy (${restartPolicy}) is not kept`);
    restartPolicy = 'Always';
  }
  const labels = { app: podName };
  const podSpec: Obj = {
    ...(hostNetwork ? { hostNetwork: true } : {}),
    ...(pod ? { hostname: pod.name } : {}),
    restartPolicy,
    containers,
    ...(volumes.length ? { volumes } : {}),
  };
  const documents: Obj[] = [];
  let base = 'spec';
  if (req.type === 'deployment') {
    base = 'spec.template.spec';
    documents.push({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `${podName}-deployment`, labels },
      spec: { replicas: req.replicas ?? 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
    });
  } else {
    documents.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, labels }, spec: podSpec });
  }
  if (req.service && allPorts.length) {
    documents.push({
      apiVersion: 'v1', kind: 'Service', metadata: { name: `${podName}-service`, labels },
      spec: {
        selector: labels,
        ports: allPorts.map((p) => ({ name: `${p.containerPort}-${p.protocol.toLowerCase()}`, port: p.hostPort || p.containerPort, targetPort: p.containerPort, protocol: p.protocol })),
      },
    });
  } else if (req.service) {
    warnings.push('--service: nothing is published, so no Service is written');
  }
  for (const claim of claims) {
    documents.push({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: claim },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  }
  const violations = checkPodSecurity(podSpec, base);
  for (const v of violations) warnings.push(`${v.path}: ${v.detail}: breaks the Pod Security Standards' "${v.profile}" profile${v.profile === 'baseline' ? ' (and "restricted")' : ''}`);
  const yaml = documents.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
  return { yaml: `# Made by rootlet kube generate.\n${yaml}`, documents, warnings, violations, level: pssLevel(violations) };
}
