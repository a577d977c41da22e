import { normalizeCap, type CreateRequest, type HostRequest, type MountSpec, type PortBinding, type RestartPolicy } from '../engine/index.js';
import { parseSecurityOpts, parseVolume } from '../grammar/create-flags.js';
import { badRequest } from './http.js';

/**
 * Docker's container create body (`Config` with `HostConfig` and
 * `NetworkingConfig`) → the engine's CreateRequest, which is shaped after
 * it: field by field, with Docker's units turned into the request's
 * (nanoseconds → ms). Values of the wrong JSON type are a 400 naming the
 * field; the engine checks what the values mean, as it does for the CLI.
 */

type Doc = Record<string, unknown>;

export class Fields {
  constructor(private readonly doc: Doc, private readonly where: string) {}

  private wrong(key: string, want: string): never {
    throw badRequest(`invalid ${this.where}${key}: ${want} expected, got ${JSON.stringify(this.doc[key])}`);
  }

  private get(key: string): unknown {
    const v = this.doc[key];
    return v === null ? undefined : v;
  }

  str(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : this.wrong(key, 'a string');
  }

  bool(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : this.wrong(key, 'a boolean');
  }

  num(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    return typeof v === 'number' && Number.isFinite(v) ? v : this.wrong(key, 'a number');
  }

  strs(key: string): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v as string[] : this.wrong(key, 'a list of strings');
  }

  /** Two whole numbers, as Docker's ConsoleSize [height, width]. */
  size(key: string): [number, number] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    return Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 0 && x < 65536) ? v as [number, number] : this.wrong(key, 'a [height, width] pair of whole numbers');
  }

  /** A string or a list of strings (Cmd and Entrypoint take both). */
  strOrStrs(key: string): string[] | undefined {
    const v = this.get(key);
    if (typeof v === 'string') return [v];
    return this.strs(key);
  }

  obj(key: string): Fields | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    return v && typeof v === 'object' && !Array.isArray(v) ? new Fields(v as Doc, `${this.where}${key}.`) : this.wrong(key, 'an object');
  }

  map(key: string): Record<string, string> | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) this.wrong(key, 'an object of strings');
    return v as Record<string, string>;
  }

  list(key: string): Fields[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => x && typeof x === 'object')) this.wrong(key, 'a list of objects');
    return (v as Doc[]).map((x, i) => new Fields(x, `${this.where}${key}[${i}].`));
  }

  keys(): string[] {
    return Object.keys(this.doc);
  }

  raw(key: string): unknown {
    return this.get(key);
  }
}

const ms = (ns: number | undefined) => (ns === undefined || ns === 0 ? undefined : Math.round(ns / 1e6));

export function createRequest(body: Doc, query: URLSearchParams): CreateRequest {
  const c = new Fields(body, '');
  const image = c.str('Image');
  if (!image) throw badRequest('invalid Image: the image to create the container from is required');
  const h = c.obj('HostConfig') ?? new Fields({}, 'HostConfig.');
  const health = c.obj('Healthcheck');
  const endpoints = c.obj('NetworkingConfig')?.obj('EndpointsConfig');
  const entrypoint = c.strOrStrs('Entrypoint');
  const name = query.get('name') || undefined;
  const platform = query.get('platform') || undefined;
  return {
    image,
    ...(name ? { name } : {}),
    ...(platform ? { platform } : {}),
    cmd: c.strOrStrs('Cmd') ?? [],
    ...(entrypoint !== undefined ? { entrypoint: entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint } : {}),
    env: c.strs('Env') ?? [],
    workingDir: c.str('WorkingDir') || undefined,
    user: c.str('User') || undefined,
    hostname: c.str('Hostname') || undefined,
    labels: c.map('Labels') ?? {},
    tty: !!c.bool('Tty'),
    openStdin: !!c.bool('OpenStdin'),
    ...(c.bool('StdinOnce') ? { stdinOnce: true } : {}),
    stopSignal: c.str('StopSignal') || undefined,
    stopTimeoutSec: c.num('StopTimeout'),
    ...(health ? {
      healthcheck: {
        ...(health.strs('Test')?.length ? { test: health.strs('Test')! } : {}),
        intervalMs: ms(health.num('Interval')),
        timeoutMs: ms(health.num('Timeout')),
        retries: health.num('Retries') || undefined,
        startPeriodMs: ms(health.num('StartPeriod')),
      },
    } : {}),
    exposedPorts: c.obj('ExposedPorts')?.keys() ?? [],
    host: hostRequest(h, endpoints),
  };
}

function hostRequest(h: Fields, endpoints: Fields | undefined): HostRequest {
  const mounts: MountSpec[] = [];
  for (const b of h.strs('Binds') ?? []) {
    let v;
    try {
      v = parseVolume(b, '/');
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    const common = { target: v.destination, readOnly: v.readonly, ...(v.propagation ? { propagation: v.propagation } : {}) };
    mounts.push(v.kind === 'bind' ? { type: 'bind', source: v.source, ...common } : { type: 'volume', ...(v.kind === 'named' ? { source: v.source } : {}), ...common });
  }
  for (const m of h.list('Mounts') ?? []) mounts.push(mountSpec(m));
  for (const [target, opts] of Object.entries(h.map('Tmpfs') ?? {})) mounts.push({ type: 'tmpfs', target, options: opts.split(',').filter(Boolean) });
  // Docker's own network names for "the default network": rootlet's default stands in for them.
  let networkMode = h.str('NetworkMode');
  if (networkMode === 'default' || networkMode === 'bridge' || networkMode === '') networkMode = undefined;
  const aliases: string[] = [];
  if (endpoints) {
    const names = endpoints.keys();
    if (!networkMode && names.length && !names.every((n) => n === 'bridge' || n === 'default')) networkMode = names.join(',');
    for (const n of names) aliases.push(...(endpoints.obj(n)?.strs('Aliases') ?? []));
  }
  const restart = h.obj('RestartPolicy');
  const restartName = restart?.str('Name');
  const res = {
    ...(h.num('Memory') ? { memoryBytes: h.num('Memory')! } : {}),
    ...(h.num('NanoCpus') ? { nanoCpus: h.num('NanoCpus')! } : {}),
    ...(h.num('PidsLimit') ? { pidsLimit: h.num('PidsLimit')! } : {}),
  };
  const userns = h.str('UsernsMode');
  if (userns && userns !== 'host' && userns !== 'keep-id') throw badRequest(`invalid HostConfig.UsernsMode: ${JSON.stringify(userns)} (host or keep-id)`);
  const isolation = h.str('Isolation');
  if (isolation && isolation !== 'default' && isolation !== 'sandbox') throw badRequest(`invalid HostConfig.Isolation: ${JSON.stringify(isolation)} (default or sandbox)`);
  const consoleSize = h.size('ConsoleSize');
  const logConfig = h.obj('LogConfig');
  const logType = logConfig?.str('Type');
  let security;
  try {
    security = parseSecurityOpts(h.strs('SecurityOpt') ?? [], '/');
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  return {
    mounts,
    readonlyRootfs: !!h.bool('ReadonlyRootfs'),
    ...(networkMode ? { networkMode } : {}),
    networkAliases: aliases,
    portBindings: portBindings(h.obj('PortBindings')),
    publishAllPorts: !!h.bool('PublishAllPorts'),
    dns: h.strs('Dns') ?? [],
    dnsSearch: h.strs('DnsSearch') ?? [],
    dnsOptions: h.strs('DnsOptions') ?? [],
    extraHosts: h.strs('ExtraHosts') ?? [],
    init: !!h.bool('Init'),
    ...(userns ? { userns: userns as 'host' | 'keep-id' } : {}),
    ...(h.str('Runtime') ? { runtime: h.str('Runtime')! } : {}),
    ...(isolation ? { isolation: isolation as 'default' | 'sandbox' } : {}),
    autoRemove: !!h.bool('AutoRemove'),
    // [0, 0], as clients send when they have no terminal, is no size.
    ...(consoleSize?.[0] && consoleSize[1] ? { consoleSize: { rows: consoleSize[0], columns: consoleSize[1] } } : {}),
    ...(restartName ? { restartPolicy: restartPolicy(restartName, restart!.num('MaximumRetryCount') ?? 0) } : {}),
    resources: res,
    capAdd: (h.strs('CapAdd') ?? []).map((x) => normalizeCap(x, 'HostConfig.CapAdd')),
    capDrop: (h.strs('CapDrop') ?? []).map((x) => normalizeCap(x, 'HostConfig.CapDrop')),
    privileged: !!h.bool('Privileged'),
    securityOpt: security,
    devices: (h.list('Devices') ?? []).map((d) => ({
      pathOnHost: d.str('PathOnHost') ?? '',
      pathInContainer: d.str('PathInContainer') || d.str('PathOnHost') || '',
      cgroupPermissions: d.str('CgroupPermissions') || 'rwm',
    })),
    groupAdd: h.strs('GroupAdd') ?? [],
    ...(h.list('Ulimits')?.length ? { ulimits: h.list('Ulimits')!.map((u) => ({ name: u.str('Name') ?? '', soft: u.num('Soft') ?? 0, hard: u.num('Hard') ?? 0 })) } : {}),
    ...(h.map('Annotations') ? { annotations: h.map('Annotations')! } : {}),
    // json-file is Docker's default; rootlet's own file log stands in for it.
    ...(logType && logType !== 'json-file' ? { logConfig: { type: logType as 'k8s-file', ...(logConfig!.map('Config') ? { config: logConfig!.map('Config')! } : {}) } } : {}),
  };
}

function restartPolicy(name: string, maxRetries: number): RestartPolicy | undefined {
  if (name === '' || name === 'no') return { name: 'no', maxRetries: 0 };
  if (name === 'always' || name === 'unless-stopped' || name === 'on-failure') return { name, maxRetries };
  throw badRequest(`invalid HostConfig.RestartPolicy.Name: ${JSON.stringify(name)} (no, always, unless-stopped or on-failure)`);
}

function mountSpec(m: Fields): MountSpec {
  const type = m.str('Type');
  const target = m.str('Target') ?? '';
  const readOnly = !!m.bool('ReadOnly');
  if (type === 'bind') return { type, source: m.str('Source') ?? '', target, readOnly, mustExist: true };
  if (type === 'volume') {
    const source = m.str('Source');
    return { type, ...(source ? { source } : {}), target, readOnly };
  }
  if (type === 'tmpfs') {
    const t = m.obj('TmpfsOptions');
    const options = [...(t?.num('SizeBytes') ? [`size=${t.num('SizeBytes')}`] : []), ...(t?.num('Mode') ? [`mode=${t.num('Mode')!.toString(8)}`] : [])];
    return { type, target, options };
  }
  throw badRequest(`invalid mount type ${JSON.stringify(type)}: bind, volume or tmpfs`);
}

/** `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}` → bindings; an empty HostPort is any free port (0). */
function portBindings(p: Fields | undefined): PortBinding[] {
  if (!p) return [];
  const out: PortBinding[] = [];
  for (const key of p.keys()) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
    if (!m) throw badRequest(`invalid HostConfig.PortBindings key ${JSON.stringify(key)}: PORT/PROTOCOL expected`);
    for (const b of p.list(key) ?? []) {
      const hostPort = b.str('HostPort') ?? '';
      if (hostPort && !/^\d+$/.test(hostPort)) throw badRequest(`invalid HostConfig.PortBindings HostPort ${JSON.stringify(hostPort)}: a port number expected`);
      out.push({ hostIp: b.str('HostIp') ?? '', hostPort: hostPort ? Number(hostPort) : 0, containerPort: Number(m[1]), protocol: (m[2] ?? 'tcp') as PortBinding['protocol'] });
    }
  }
  return out;
}
