import type { CreateRequest, HealthRequest, MountSpec } from '../../engine/index.js';
import { checkHostPorts } from '../../engine/index.js';
import { toCreateRequest, type CreateFlags, type CallerPlace } from '../../grammar/create-flags.js';
import { EngineError } from '../../util/errors.js';
import { parseDuration } from '../../util/values.js';
import type { ComposeProject, ComposeService, ComposeServiceVolume } from '../model.js';
import { containerName, L, projectLabels, serviceImage } from './labels.js';

/** A field the engine cannot honour: an error naming it (no silent downgrade). */
function unenforceable(field: string, why: string): never {
  throw new EngineError(`${field}: ${why}`);
}

const DEPLOY_KEYS = new Set(['replicas', 'resources', 'restart_policy', 'labels', 'mode']);

/**
 * Refuses what a service asks for that rootlet cannot enforce, before
 * anything of the project is made: reservations and placement belong to a
 * scheduler (a swarm), which a single rootless engine is not.
 */
export function checkEnforceable(s: ComposeService, project: ComposeProject): void {
  const at = `services.${s.name}`;
  const d = s.deploy;
  if (d) {
    for (const k of Object.keys(d)) {
      if (!DEPLOY_KEYS.has(k) && d[k] !== undefined) unenforceable(`${at}.deploy.${k}`, 'not supported: rootlet runs containers on this host alone, with no scheduler to honour it');
    }
    if (d.mode !== undefined && d.mode !== 'replicated') unenforceable(`${at}.deploy.mode`, `"${String(d.mode)}" is not supported: only replicated`);
    const r = d.resources;
    if (r?.reservations && Object.values(r.reservations).some((v) => v !== undefined)) {
      unenforceable(`${at}.deploy.resources.reservations`, 'a reservation cannot be enforced: the kernel gives a rootless container limits, not guarantees (use deploy.resources.limits)');
    }
    for (const k of Object.keys(r?.limits ?? {})) {
      if (!['cpus', 'memory', 'pids'].includes(k)) unenforceable(`${at}.deploy.resources.limits.${k}`, 'not supported: only cpus, memory and pids');
    }
    const rp = d.restart_policy;
    if (rp?.delay !== undefined || rp?.window !== undefined) unenforceable(`${at}.deploy.restart_policy.${rp.delay !== undefined ? 'delay' : 'window'}`, 'not supported: the engine restarts at once, with its own back-off');
  }
  if (s.sysctls && Object.keys(s.sysctls).length) unenforceable(`${at}.sysctls`, 'not supported by rootlet');
  if (s.shm_size !== undefined) unenforceable(`${at}.shm_size`, 'not supported by rootlet');
  if (s.domainname !== undefined) unenforceable(`${at}.domainname`, 'not supported by rootlet');
  if (s.healthcheck?.start_interval !== undefined) unenforceable(`${at}.healthcheck.start_interval`, 'not supported by rootlet\'s health checks');
  if (s.logging?.driver && !['k8s-file', 'none', 'journald'].includes(s.logging.driver)) {
    unenforceable(`${at}.logging.driver`, `"${s.logging.driver}" is not supported: use k8s-file, none or journald`);
  }
  for (const [net, a] of Object.entries(s.networks)) {
    if (a?.ipv4_address || a?.ipv6_address) unenforceable(`${at}.networks.${net}.${a.ipv4_address ? 'ipv4' : 'ipv6'}_address`, 'a fixed address is not supported: rootlet gives each container the next free one');
    if (!project.networks[net]) throw new EngineError(`service "${s.name}" refers to undefined network ${net}`, 1);
  }
  for (const [i, v] of s.volumes.entries()) {
    if (v.volume?.subpath) unenforceable(`${at}.volumes[${i}].volume.subpath`, 'not supported by rootlet');
    if (v.type === 'volume' && v.source && !project.volumes[v.source]) throw new EngineError(`service "${s.name}" refers to undefined volume ${v.source}`, 1);
  }
  for (const [i, f] of [...(s.secrets ?? []).map((x) => ['secrets', x] as const), ...(s.configs ?? []).map((x) => ['configs', x] as const)].entries()) {
    const [kind, ref] = f;
    if (ref.uid !== undefined || ref.gid !== undefined || ref.mode !== undefined) {
      unenforceable(`${at}.${kind}[${i}]`, 'uid, gid and mode are not supported: the file is bound in as it is on the host');
    }
    const obj = (kind === 'secrets' ? project.secrets : project.configs)[ref.source];
    if (!obj) throw new EngineError(`service "${s.name}" refers to undefined ${kind.slice(0, -1)} ${ref.source}`, 1);
    if (!obj.file) unenforceable(`${kind}.${ref.source}`, 'only file-based secrets and configs are supported');
  }
  for (const p of s.ports) if (p.mode === 'host' && p.published === undefined) unenforceable(`${at}.ports`, 'mode host needs a published port');
}

function ms(v: string | undefined, field: string): number | undefined {
  return v === undefined ? undefined : parseDuration(v, field);
}

function healthOf(s: ComposeService): HealthRequest | undefined {
  const h = s.healthcheck;
  if (!h) return undefined;
  if (h.disable) return { test: ['NONE'] };
  const at = `services.${s.name}.healthcheck`;
  return {
    ...(h.test ? { test: h.test } : {}),
    ...(h.interval ? { intervalMs: ms(h.interval, `${at}.interval`) } : {}),
    ...(h.timeout ? { timeoutMs: ms(h.timeout, `${at}.timeout`) } : {}),
    ...(h.retries !== undefined ? { retries: h.retries } : {}),
    ...(h.start_period ? { startPeriodMs: ms(h.start_period, `${at}.start_period`) } : {}),
  };
}

function mountOf(v: ComposeServiceVolume, project: ComposeProject): MountSpec {
  if (v.type === 'bind') {
    // The short syntax makes a missing host directory (create_host_path), as Docker's -v; the long one refuses it.
    return { type: 'bind', source: v.source!, target: v.target, readOnly: !!v.read_only, mustExist: v.bind?.create_host_path !== true, ...(v.bind?.propagation ? { propagation: v.bind.propagation } : {}) };
  }
  if (v.type === 'tmpfs') {
    const opts = [...(v.tmpfs?.size !== undefined ? [`size=${v.tmpfs.size}`] : []), ...(v.tmpfs?.mode !== undefined ? [`mode=${v.tmpfs.mode.toString(8)}`] : [])];
    return { type: 'tmpfs', target: v.target, options: opts };
  }
  const name = v.source ? project.volumes[v.source]!.name : undefined;
  return { type: 'volume', ...(name ? { source: name } : {}), target: v.target, readOnly: !!v.read_only, ...(v.volume?.nocopy ? { volumeOptions: { nocopy: 'true' } } : {}) };
}

/** The `-p` text of a compose port, for the shared grammar. */
function publishText(p: ComposeService['ports'][number]): string {
  const ip = p.host_ip ? (p.host_ip.includes(':') ? `[${p.host_ip}]:` : `${p.host_ip}:`) : '';
  return `${ip}${p.published !== undefined ? `${p.published}:` : ip ? ':' : ''}${p.target}/${p.protocol}`;
}

export interface ServiceContainer {
  /** 1-based replica number (0 for a one-off `run`). */
  number: number;
  name: string;
  oneoff?: boolean;
  hash: string;
  /** Replaces the service's command (`run SERVICE CMD`). */
  command?: string[];
  /** `run`: ports are published only with --service-ports; tty and stdin for a foreground run. */
  publish?: boolean;
  tty?: boolean;
  openStdin?: boolean;
  autoRemove?: boolean;
}

/**
 * The engine's create request for one container of a service: the strings
 * that are Docker's flag grammar (ports, tmpfs, restart, sizes, security
 * options, devices, ulimits) go through the CLI's parser, the rest are
 * values already. Caller-relative things (a bare `environment: [KEY]`) are
 * resolved against the caller's environment, as Docker resolves them.
 */
export function serviceRequest(project: ComposeProject, s: ComposeService, c: ServiceContainer, at: CallerPlace): CreateRequest {
  const lim = s.deploy?.resources?.limits;
  const rp = s.deploy?.restart_policy;
  const restart = rp
    ? (rp.condition === 'none' ? 'no' : rp.condition === 'on-failure' ? `on-failure${rp.max_attempts ? `:${rp.max_attempts}` : ''}` : 'always')
    : s.restart;
  const mem = lim?.memory ?? s.mem_limit;
  const cpus = lim?.cpus ?? s.cpus;
  const pids = lim?.pids ?? s.pids_limit;
  const flags: CreateFlags = {
    env: Object.entries(s.environment).map(([k, v]) => (v === null ? k : `${k}=${v}`)),
    workdir: s.working_dir,
    user: s.user,
    tmpfs: s.tmpfs,
    readOnly: !!s.read_only,
    hostname: s.hostname,
    publish: c.publish === false ? [] : s.ports.map(publishText),
    expose: s.expose,
    dns: s.dns,
    dnsSearch: s.dns_search,
    addHost: Object.entries(s.extra_hosts ?? {}).map(([h, ip]) => `${h}:${ip}`),
    interactive: c.openStdin ?? !!s.stdin_open,
    tty: c.tty ?? !!s.tty,
    init: !!s.init,
    restart: c.oneoff ? undefined : restart,
    stopSignal: s.stop_signal,
    ...(s.stop_grace_period ? { stopTimeout: Math.ceil(parseDuration(s.stop_grace_period, `services.${s.name}.stop_grace_period`) / 1000) } : {}),
    ...(mem !== undefined ? { memory: String(mem) } : {}),
    ...(cpus !== undefined ? { cpus: String(cpus) } : {}),
    ...(pids !== undefined ? { pidsLimit: String(pids) } : {}),
    capAdd: s.cap_add,
    capDrop: s.cap_drop,
    securityOpt: s.security_opt,
    privileged: !!s.privileged,
    device: s.devices,
    ulimit: Object.entries(s.ulimits ?? {}).map(([n, u]) => `${n}=${u.soft}:${u.hard}`),
    ...(s.logging?.driver || s.logging?.options ? { logDriver: s.logging.driver, logOpt: Object.entries(s.logging.options ?? {}).map(([k, v]) => `${k}=${v}`) } : {}),
    ...(s.platform ? { platform: s.platform } : {}),
    rm: !!c.autoRemove,
  };
  const req = toCreateRequest(serviceImage(project, s.name), c.command ?? s.command ?? [], flags, at);
  if (s.command === null && !c.command) req.cmd = [];
  if (s.entrypoint !== undefined) req.entrypoint = s.entrypoint ?? [];
  const health = healthOf(s);
  if (health) req.healthcheck = health;
  req.name = c.name;
  req.labels = {
    ...(s.deploy?.labels ?? {}),
    ...s.labels,
    ...projectLabels(project),
    [L.service]: s.name,
    [L.number]: String(c.number),
    [L.oneoff]: c.oneoff ? 'True' : 'False',
    [L.hash]: c.hash,
    [L.dependsOn]: Object.entries(s.depends_on).map(([d, x]) => `${d}:${x.condition}:${x.restart}`).join(','),
    [L.image]: serviceImage(project, s.name),
  };
  const files = [
    ...(s.secrets ?? []).map((r) => ({ type: 'bind' as const, source: project.secrets[r.source]!.file!, target: r.target, readOnly: true, mustExist: true })),
    ...(s.configs ?? []).map((r) => ({ type: 'bind' as const, source: project.configs[r.source]!.file!, target: r.target, readOnly: true, mustExist: true })),
  ];
  const host = req.host!;
  host.mounts = [...s.volumes.map((v) => mountOf(v, project)), ...(host.mounts ?? []), ...files];
  if (s.network_mode) {
    const m = s.network_mode;
    host.networkMode = m.startsWith('service:') ? `container:${containerName(project, m.slice(8), 1)}` : m === 'bridge' ? undefined : m;
    host.networkAliases = [];
  } else {
    // Each container answers to its service's name (and the aliases given on any of its networks) on all of them.
    const nets = Object.keys(s.networks);
    host.networkMode = nets.map((n) => project.networks[n]!.name).join(',');
    const aliases = [s.name, ...nets.flatMap((n) => s.networks[n]?.aliases ?? [])];
    host.networkAliases = [...new Set(aliases)];
  }
  if (host.portBindings?.length) checkHostPorts(host.portBindings);
  return req;
}
