import { EngineError } from '../../util/errors.js';
import type { DB } from '../../state/db.js';
import { randomHex } from '../../util/random.js';
import { hostAddresses, parseSubnet, type Subnet } from './subnet.js';
import type { PortBinding } from './ports.js';

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  labels: Record<string, string>;
  created: number;
  stackPid?: number;
  stackStart?: number;
  hostAddr?: string;
}

export interface Endpoint {
  containerId: string;
  networkId: string;
  ip: string;
  mac: string;
  iface: string;
  aliases: string[];
}

export interface NetRun {
  containerId: string;
  netns?: string;
  ports: PortBinding[];
  fwdPid?: number;
  fwdStart?: number;
  stackPid?: number;
  stackStart?: number;
  ownerPid?: number;
  ownerStart?: number;
}

import { DEFAULT_ALIASES, DEFAULT_NETWORK, DEFAULT_SUBNET } from './defaults.js';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

interface NetRow {
  id: string; name: string; driver: string; subnet: string; gateway: string; internal: number; labels: string; created: number;
  stack_pid: number | null; stack_start: number | null; host_addr: string | null;
}
interface EpRow { container_id: string; network_id: string; ip: string; mac: string; iface: string; aliases: string }
interface RunRow {
  container_id: string; netns: string | null; ports: string; fwd_pid: number | null; fwd_start: number | null;
  stack_pid: number | null; stack_start: number | null; owner_pid: number | null; owner_start: number | null;
}

const netFrom = (r: NetRow): NetworkRecord => ({
  id: r.id, name: r.name, driver: r.driver, subnet: r.subnet, gateway: r.gateway, internal: r.internal !== 0,
  labels: JSON.parse(r.labels) as Record<string, string>, created: r.created,
  stackPid: r.stack_pid ?? undefined, stackStart: r.stack_start ?? undefined, hostAddr: r.host_addr ?? undefined,
});
const epFrom = (r: EpRow): Endpoint => ({
  containerId: r.container_id, networkId: r.network_id, ip: r.ip, mac: r.mac, iface: r.iface, aliases: JSON.parse(r.aliases) as string[],
});

/** Networks, endpoints and per-run network state in the state database. */
export class NetworkStore {
  constructor(readonly db: DB) {}

  list(): NetworkRecord[] {
    return (this.db.prepare('SELECT * FROM networks ORDER BY created, name').all() as NetRow[]).map(netFrom);
  }

  get(id: string): NetworkRecord | undefined {
    const r = this.db.prepare('SELECT * FROM networks WHERE id = ?').get(id) as NetRow | undefined;
    return r && netFrom(r);
  }

  /** By name, full id or unique id prefix; the default network is made on first use. */
  find(ref: string): NetworkRecord | undefined {
    if (DEFAULT_ALIASES.has(ref)) return this.ensureDefault();
    const r = this.db.prepare('SELECT * FROM networks WHERE name = ? OR id = ?').get(ref, ref) as NetRow | undefined;
    if (r) return netFrom(r);
    if (!/^[a-f0-9]+$/.test(ref)) return undefined;
    const rows = this.db.prepare('SELECT * FROM networks WHERE id LIKE ?').all(`${ref}%`) as NetRow[];
    if (rows.length > 1) throw new EngineError(`network id prefix "${ref}" is ambiguous: give more characters`);
    return rows[0] && netFrom(rows[0]);
  }

  resolve(ref: string): NetworkRecord {
    const n = this.find(ref);
    if (!n) throw new EngineError(`network ${ref} not found: list networks with \`rootlet network ls\`, or create it with \`rootlet network create ${ref}\``);
    return n;
  }

  ensureDefault(): NetworkRecord {
    const r = this.db.prepare('SELECT * FROM networks WHERE name = ?').get(DEFAULT_NETWORK) as NetRow | undefined;
    if (r) return netFrom(r);
    try {
      return this.create({ name: DEFAULT_NETWORK, subnet: DEFAULT_SUBNET, internal: false, labels: {} });
    } catch {
      // Another rootlet made it meanwhile.
      return netFrom(this.db.prepare('SELECT * FROM networks WHERE name = ?').get(DEFAULT_NETWORK) as NetRow);
    }
  }

  /** A new bridge network; without a subnet, the first free 10.89.N.0/24. */
  create(o: { name: string; subnet?: string; gateway?: string; internal: boolean; labels: Record<string, string>; driver?: string }): NetworkRecord {
    if (!NAME_RE.test(o.name)) throw new EngineError(`invalid network name "${o.name}": use [a-zA-Z0-9][a-zA-Z0-9_.-]`);
    if (o.driver && o.driver !== 'bridge') throw new EngineError(`network driver "${o.driver}" is not supported: rootlet networks are bridges (-d bridge)`);
    return this.db.transaction(() => {
      const taken = this.list();
      if (taken.some((n) => n.name === o.name) || (DEFAULT_ALIASES.has(o.name) && o.name !== DEFAULT_NETWORK)) {
        throw new EngineError(`network with name ${o.name} already exists`);
      }
      const used = taken.map((n) => parseSubnet(n.subnet));
      let subnet: Subnet;
      if (o.subnet) {
        subnet = parseSubnet(o.subnet);
        const clash = taken.find((n) => overlaps(parseSubnet(n.subnet), subnet));
        if (clash) throw new EngineError(`subnet ${o.subnet} overlaps with network ${clash.name} (${clash.subnet}): pick another --subnet`);
      } else {
        subnet = freeSubnet(used);
      }
      const hosts = hostAddresses(subnet);
      const gateway = o.gateway ?? hosts.first;
      if (o.gateway && !hosts.contains(o.gateway)) throw new EngineError(`gateway ${o.gateway} is not in subnet ${subnet.cidr}`);
      const rec: NetworkRecord = {
        id: randomHex(32), name: o.name, driver: 'bridge', subnet: subnet.cidr, gateway, internal: o.internal, labels: o.labels, created: Date.now(),
      };
      this.db.prepare('INSERT INTO networks (id, name, driver, subnet, gateway, internal, labels, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(rec.id, rec.name, rec.driver, rec.subnet, rec.gateway, rec.internal ? 1 : 0, JSON.stringify(rec.labels), rec.created);
      return rec;
    }).immediate();
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM networks WHERE id = ?').run(id);
  }

  setStack(id: string, pid: number | undefined, start: number | undefined, hostAddr: string | undefined): void {
    this.db.prepare('UPDATE networks SET stack_pid = ?, stack_start = ?, host_addr = ? WHERE id = ?').run(pid ?? null, start ?? null, hostAddr ?? null, id);
  }

  endpoints(networkId?: string): Endpoint[] {
    const rows = networkId
      ? this.db.prepare('SELECT * FROM endpoints WHERE network_id = ? ORDER BY ip').all(networkId)
      : this.db.prepare('SELECT * FROM endpoints').all();
    return (rows as EpRow[]).map(epFrom);
  }

  endpointsOf(containerId: string): Endpoint[] {
    return (this.db.prepare('SELECT * FROM endpoints WHERE container_id = ? ORDER BY iface').all(containerId) as EpRow[]).map(epFrom);
  }

  /** Gives the container the lowest free address of the network (call inside a write transaction). */
  addEndpoint(net: NetworkRecord, containerId: string, iface: string, aliases: string[]): Endpoint {
    const taken = new Set(this.endpoints(net.id).map((e) => e.ip));
    taken.add(net.gateway);
    const ip = hostAddresses(parseSubnet(net.subnet)).firstFree(taken);
    if (!ip) throw new EngineError(`network ${net.name} (${net.subnet}) has no free address left: remove containers from it, or use a network with a larger --subnet`);
    const mac = `02:42:${ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join(':')}`;
    const ep: Endpoint = { containerId, networkId: net.id, ip, mac, iface, aliases };
    this.db.prepare('INSERT INTO endpoints (container_id, network_id, ip, mac, iface, aliases) VALUES (?, ?, ?, ?, ?, ?)')
      .run(containerId, net.id, ip, mac, iface, JSON.stringify(aliases));
    return ep;
  }

  removeEndpoint(containerId: string, networkId: string): void {
    this.db.prepare('DELETE FROM endpoints WHERE container_id = ? AND network_id = ?').run(containerId, networkId);
  }

  /** Records that process `pid` keeps the network up (see endpoints.ts holdNetwork). */
  addHold(networkId: string, pid: number, start: number | undefined): void {
    this.db.prepare('INSERT OR REPLACE INTO network_holds (network_id, owner_pid, owner_start) VALUES (?, ?, ?)').run(networkId, pid, start ?? null);
  }

  removeHold(networkId: string, pid: number): void {
    this.db.prepare('DELETE FROM network_holds WHERE network_id = ? AND owner_pid = ?').run(networkId, pid);
  }

  holds(networkId: string): Array<{ pid: number; start?: number }> {
    const rows = this.db.prepare('SELECT owner_pid, owner_start FROM network_holds WHERE network_id = ?').all(networkId) as Array<{ owner_pid: number; owner_start: number | null }>;
    return rows.map((r) => ({ pid: r.owner_pid, start: r.owner_start ?? undefined }));
  }

  run(containerId: string): NetRun | undefined {
    const r = this.db.prepare('SELECT * FROM net_runs WHERE container_id = ?').get(containerId) as RunRow | undefined;
    return r && {
      containerId: r.container_id, netns: r.netns ?? undefined, ports: JSON.parse(r.ports) as PortBinding[],
      fwdPid: r.fwd_pid ?? undefined, fwdStart: r.fwd_start ?? undefined, stackPid: r.stack_pid ?? undefined, stackStart: r.stack_start ?? undefined,
      ownerPid: r.owner_pid ?? undefined, ownerStart: r.owner_start ?? undefined,
    };
  }

  /** The containers that hold per-run network state: one query, for a look over many containers. */
  runIds(): Set<string> {
    return new Set((this.db.prepare('SELECT container_id FROM net_runs').all() as Array<{ container_id: string }>).map((r) => r.container_id));
  }

  runs(): NetRun[] {
    return (this.db.prepare('SELECT container_id FROM net_runs').all() as Array<{ container_id: string }>).map((r) => this.run(r.container_id)!);
  }

  saveRun(r: NetRun): void {
    this.db.prepare(`INSERT INTO net_runs (container_id, netns, ports, fwd_pid, fwd_start, stack_pid, stack_start, owner_pid, owner_start)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(container_id) DO UPDATE SET netns = excluded.netns, ports = excluded.ports, fwd_pid = excluded.fwd_pid,
      fwd_start = excluded.fwd_start, stack_pid = excluded.stack_pid, stack_start = excluded.stack_start,
      owner_pid = excluded.owner_pid, owner_start = excluded.owner_start`)
      .run(r.containerId, r.netns ?? null, JSON.stringify(r.ports), r.fwdPid ?? null, r.fwdStart ?? null, r.stackPid ?? null, r.stackStart ?? null,
        r.ownerPid ?? null, r.ownerStart ?? null);
  }

  deleteRun(containerId: string): void {
    this.db.prepare('DELETE FROM net_runs WHERE container_id = ?').run(containerId);
  }

  /**
   * The ready namespaces of a network (endpoints.ts, "spares"): rows of
   * net_runs and endpoints under a SPARE_PREFIX id, whose owner columns
   * name the network's stack they were made under.
   */
  spares(networkId: string): NetRun[] {
    const rows = this.db.prepare(`SELECT r.container_id FROM net_runs r JOIN endpoints e ON e.container_id = r.container_id
      WHERE e.network_id = ? AND r.container_id LIKE '${SPARE_PREFIX}%' ORDER BY e.ip`).all(networkId) as Array<{ container_id: string }>;
    return rows.map((r) => this.run(r.container_id)!);
  }

  /** Moves a namespace's rows, run and endpoints, from one id to another (a container's to a spare, a spare's to a container). */
  moveRun(from: string, to: NetRun, aliases: string[]): void {
    this.db.prepare('UPDATE endpoints SET container_id = ?, aliases = ? WHERE container_id = ?').run(to.containerId, JSON.stringify(aliases), from);
    this.deleteRun(from);
    this.saveRun(to);
  }
}

/** The id prefix of a ready namespace's rows: no container id (64 hex digits) looks like it. */
export const SPARE_PREFIX = 'spare-';

function overlaps(a: Subnet, b: Subnet): boolean {
  return a.base <= b.last && b.base <= a.last;
}

/** The first 10.89.N.0/24 that no network uses. */
function freeSubnet(used: Subnet[]): Subnet {
  for (let n = 0; n < 256; n++) {
    const s = parseSubnet(`10.89.${n}.0/24`);
    if (!used.some((u) => overlaps(u, s))) return s;
  }
  throw new EngineError('no free subnet left in 10.89.0.0/16: give one with --subnet');
}
