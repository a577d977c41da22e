import { existsSync, readFileSync, readlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { containerDir } from '../containers/paths.js';
import { ContainerStore, type ContainerRecord } from '../containers/store.js';
import { randomBytes } from 'node:crypto';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { ENV_HOLDER } from '../../rootless/identity.js';
import { lastLine } from '../../rootless/userns.js';
import { isProcessAlive, processStartTime } from '../../util/proc.js';
import { trace } from '../../util/trace.js';
import {
  containerNetnsScript, hostIfName, netnsDirScript, netnsRemoveScript, networkUpScript, vethRemoveCommand, vethRemoveScript, vethScript, type VethPlan,
} from './bridge.js';
import { startForwarder } from './forwarder.js';
import { containerResolv, hostsContent, parseAddHost, readResolvConf, resolvContent } from './hosts.js';
import { hasOwnNetns } from './options.js';
import type { PortBinding } from './ports.js';
import { attachStackScript, chooseStack, parseStackLine, requireStack, SLIRP_DNS, SLIRP_HOST, PASTA_DNS, stackDns, type StackName } from './stack.js';
import { DEFAULT_NETWORK } from './defaults.js';
import { NetworkStore, SPARE_PREFIX, type Endpoint, type NetRun, type NetworkRecord } from './store.js';
import { parseSubnet } from './subnet.js';

/**
 * A container's place on the network while it runs: made when it starts,
 * removed when it ends (foreground run, conmon's exit hook, or whoever
 * notices first that it ended). Each network's shared stack starts with its
 * first running container; a named network's stops with its last, the
 * default network's stays up for the next `run` (see lingers).
 */

export function netnsDir(engine: Engine): string {
  return join(engine.paths.runDir, 'netns');
}

function stateDir(engine: Engine): string {
  return join(engine.paths.runDir, 'network');
}

function networkFile(engine: Engine, netId: string): string {
  return join(netnsDir(engine), `net-${netId.slice(0, 16)}`);
}

function containerFile(engine: Engine, id: string): string {
  return join(netnsDir(engine), `ctr-${id.slice(0, 16)}`);
}

/** Runs a script as root of the user's namespace in the holder's mount namespace (where network namespace files live). */
function holderRun(engine: Engine, script: string) {
  // ip and nft live in sbin, which a user's PATH may lack.
  return engine.ns().runInHolder(['sh', '-c', `PATH="$PATH:/usr/sbin:/sbin"\n${script}`]);
}

/** One command (no shell) as root of the user's namespace in the holder's mount namespace. */
function holderRunArgs(engine: Engine, args: string[]) {
  return engine.ns().runInHolder(args);
}

/** holderRun, making the namespace directory first; a failure quotes the script's last line. */
function holderScript(engine: Engine, script: string, what: string): string {
  const r = holderRun(engine, netnsDirReady(engine) ? script : `${netnsDirScript(netnsDir(engine))}\n${script}`);
  if (r.code !== 0) throw new EngineError(`${what}: ${lastLine(r.stderr) || `exit status ${r.code}`}`);
  return r.stdout;
}

/** holderRun without blocking the event loop: for steps outside a database transaction on paths a server calls. */
function holderRunAsync(engine: Engine, script: string) {
  return engine.ns().runInHolderAsync(['sh', '-c', `PATH="$PATH:/usr/sbin:/sbin"\n${script}`]);
}

async function holderScriptAsync(engine: Engine, script: string, what: string): Promise<string> {
  const r = await holderRunAsync(engine, `${netnsDirScript(netnsDir(engine))}\n${script}`);
  if (r.code !== 0) throw new EngineError(`${what}: ${lastLine(r.stderr) || `exit status ${r.code}`}`);
  return r.stdout;
}

/** Whether the namespace directory is already the holder's shared mount point: then making it again (two processes) is skipped. */
function netnsDirReady(engine: Engine): boolean {
  return isMounted(engine, netnsDir(engine));
}

/** Whether a namespace file is still mounted in the holder (it is not after the holder was restarted). */
function isMounted(engine: Engine, file: string): boolean {
  try {
    return readFileSync(`/proc/${engine.ns().holderPid}/mountinfo`, 'utf8').split('\n').some((l) => l.split(' ')[4] === file);
  } catch {
    return false;
  }
}

/**
 * Stops a process of rootlet's networking. An exit hook left in the user
 * namespace of a holder that died leaves those of the current one alone.
 */
function kill(engine: Engine, pid: number | undefined, start: number | undefined): void {
  if (pid && isProcessAlive(pid, start) && !otherUserNs(engine, pid)) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

function otherUserNs(engine: Engine, pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`) !== readlinkSync('/proc/self/ns/user') && process.getuid!() === 0 && !!engine.hostEnv()[ENV_HOLDER];
  } catch {
    return false;
  }
}

/** Brings a network's namespace, bridge and stack up unless they are (call inside a write transaction). */
function ensureUp(engine: Engine, store: NetworkStore, given: NetworkRecord): NetworkRecord {
  // The caller's record may predate the transaction: another rootlet may have brought the network
  // down and up since, and a stale stack pid would make us replace a namespace that is in use.
  const net = store.get(given.id) ?? given;
  // A network brought up by an exit hook of a dead holder's namespace would live there, while the store says it is up
  // for everyone: the current holder's runs would then join a namespace they cannot enter.
  if (engine.ns().orphaned) throw new EngineError(`cannot set up network ${net.name}: the namespace holder this container ran under has stopped; start the container again`);
  const file = networkFile(engine, net.id);
  const stackAlive = net.internal || (!!net.stackPid && isProcessAlive(net.stackPid, net.stackStart));
  if (stackAlive && isMounted(engine, file)) return net;
  kill(engine, net.stackPid, net.stackStart);
  const stack = net.internal ? undefined : chooseStack(engine.config.network.defaultRootlessNetworkCmd);
  engine.mkdirForNs(stateDir(engine));
  const pidFile = join(stateDir(engine), `${net.id.slice(0, 16)}.pid`);
  const out = holderScript(engine, `${networkUpScript(file, net.subnet, net.gateway, net.internal)}\n${stack ? attachStackScript(stack, pidFile) : 'echo "pid=0 host="'}`,
    `cannot set up network ${net.name}`);
  const { pid, hostAddr } = parseStackLine(out);
  store.setStack(net.id, pid || undefined, pid ? processStartTime(pid) : undefined, hostAddr);
  return store.get(net.id)!;
}

/** Stops a network's stack and removes its namespace (call inside a write transaction). */
function bringDown(engine: Engine, store: NetworkStore, net: NetworkRecord): void {
  // The network (if up) is the current holder's, in use by its containers: not a dead holder's exit hook's to remove.
  if (engine.ns().orphaned) return;
  kill(engine, net.stackPid, net.stackStart);
  holderRun(engine, netnsRemoveScript(networkFile(engine, net.id)));
  store.setStack(net.id, undefined, undefined, undefined);
}

/**
 * The default network stays up once up, also with no container on it: it is
 * the network nearly every `run` joins, and bringing it up (namespace,
 * bridge, nftables, the stack) and down again was most of what the default
 * network added to a `run --rm` (docs/decisions.md, "The default network
 * stays up"). It goes with `system reset` and with the namespace holder.
 * Named networks come and go with their projects: theirs stop with their
 * last container.
 */
function lingers(store: NetworkStore, netId: string): boolean {
  return store.get(netId)?.name === DEFAULT_NETWORK;
}

/**
 * Whether the network must stay up: it is the default network, a container
 * is on it, or a living process holds it. Holds of processes that died go
 * here (call inside a write transaction).
 */
function inUse(store: NetworkStore, netId: string): boolean {
  if (lingers(store, netId) || store.endpoints(netId).length) return true;
  let held = false;
  for (const h of store.holds(netId)) {
    if (isProcessAlive(h.pid, h.start)) held = true;
    else store.removeHold(netId, h.pid);
  }
  return held;
}

/**
 * Keeps the network up for this process until the returned release is
 * called, so that containers run one after another (a build's RUN steps)
 * share one stack instead of each starting and stopping it. A holder killed
 * before it releases holds nothing: its hold is dropped by the next look
 * (inUse), and the network goes down with its last container, or at the
 * next hold's release.
 */
export function holdNetwork(engine: Engine, given: NetworkRecord): () => void {
  const store = new NetworkStore(engine.db);
  const pid = process.pid;
  engine.db.transaction(() => {
    const net = ensureUp(engine, store, given);
    store.addHold(net.id, pid, processStartTime(pid));
  }).immediate();
  // One row per process: builds that run at once in one process (the API service) count here.
  holdCounts.set(given.id, (holdCounts.get(given.id) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (holdCounts.get(given.id) ?? 1) - 1;
    if (left > 0) {
      holdCounts.set(given.id, left);
      return;
    }
    holdCounts.delete(given.id);
    engine.db.transaction(() => {
      store.removeHold(given.id, pid);
      const net = store.get(given.id);
      if (net && !inUse(store, net.id)) bringDown(engine, store, net);
    }).immediate();
  };
}

const holdCounts = new Map<string, number>();

/** The first network of the container with a way out: its default route, DNS, host address and published ports go there. */
function primary(store: NetworkStore, eps: Endpoint[]): { ep: Endpoint; net: NetworkRecord } | undefined {
  for (const ep of eps) {
    const net = store.get(ep.networkId);
    if (net && !net.internal) return { ep, net };
  }
  return undefined;
}

function vethPlan(engine: Engine, net: NetworkRecord, ep: Endpoint, defaultRoute: boolean, ctrFile: string): VethPlan {
  return {
    netFile: networkFile(engine, net.id), hostIf: hostIfName(nsKey(ctrFile), net.id), iface: ep.iface, mac: ep.mac, ip: ep.ip,
    prefix: parseSubnet(net.subnet).prefix, gateway: defaultRoute ? net.gateway : undefined,
  };
}

/** Refuses, at create, networks and containers that do not exist (the default network is made on first use). */
export function checkNetworkRefs(engine: Engine, net: ContainerRecord['spec']['net']): void {
  if (net.mode === 'bridge') {
    const store = new NetworkStore(engine.db);
    for (const n of net.networks) store.resolve(n.name);
  }
  if (net.mode === 'container' && !new ContainerStore(engine.db).find(net.container!)) {
    throw new EngineError(`--network container:${net.container}: no such container`);
  }
  if (net.mode === 'pasta' || net.mode === 'slirp4netns') requireStack(net.mode);
}

/** What the runtime joins: the container's network namespace file, or another container's namespace. */
export interface NetSetup {
  netnsPath?: string;
}

/**
 * Sets up the container's network before the runtime starts it: its
 * namespace, a veth into each network (bringing networks up), or a stack of
 * its own; then the published ports. Anything made is removed again when a
 * step fails (a port in use, typically).
 */
export async function connectContainer(engine: Engine, rec: ContainerRecord): Promise<NetSetup> {
  const net = rec.spec.net;
  if (net.mode === 'container') return { netnsPath: sharedNetns(engine, net.container!) };
  if (!hasOwnNetns(net)) return {};
  const store = new NetworkStore(engine.db);
  const file = containerFile(engine, rec.id);
  disconnectContainer(engine, rec.id);
  const owner = { ownerPid: process.pid, ownerStart: processStartTime(process.pid) };
  store.saveRun({ containerId: rec.id, netns: file, ports: [], ...owner });
  try {
    let target: { netFile: string; ip: string };
    if (net.mode === 'bridge') {
      const nets = net.networks.map((n) => store.resolve(n.name));
      const spare = recyclable(rec, nets) ? takeSpare(engine, store, nets[0]!, rec, owner) : undefined;
      if (spare) {
        trace('network: ready namespace taken');
        if (net.ports.length) {
          const fwd = await startForwarder(engine, networkFile(engine, nets[0]!.id), store.endpointsOf(rec.id)[0]!.ip, net.ports, (pid) => {
            store.saveRun({ ...store.run(rec.id)!, fwdPid: pid, fwdStart: processStartTime(pid) });
          });
          store.saveRun({ ...store.run(rec.id)!, ports: fwd.ports });
        }
        return { netnsPath: spare };
      }
      const eps = engine.db.transaction(() => nets.map((n, i) => store.addEndpoint(ensureUp(engine, store, n), rec.id, `eth${i}`, net.networks[i]!.aliases))).immediate();
      trace('network: addresses leased');
      const main = primary(store, eps);
      holderScript(engine, containerNetnsScript(file, eps.map((ep, i) => vethPlan(engine, nets[i]!, ep, ep === main?.ep, file))), 'cannot set up the container\'s network');
      trace('network: namespace and veths made');
      if (net.ports.length && !nets.length) throw new EngineError(`cannot publish ports: container ${rec.name} is on no network (it was disconnected from its last): connect it to one first`);
      if (net.ports.length && !main) throw new EngineError(`cannot publish ports: the container's networks (${nets.map((n) => n.name).join(', ')}) are internal, with no way in from the host`);
      target = main ? { netFile: networkFile(engine, main.net.id), ip: main.ep.ip } : { netFile: file, ip: '127.0.0.1' };
    } else {
      const stack = net.mode as StackName;
      requireStack(stack);
      engine.mkdirForNs(stateDir(engine));
      const out = holderScript(engine, `${containerNetnsScript(file, [])}\n${attachStackScript(stack, join(stateDir(engine), `ctr-${rec.id.slice(0, 16)}.pid`))}`,
        `cannot attach ${stack} to the container's network`);
      const { pid } = parseStackLine(out);
      store.saveRun({ containerId: rec.id, netns: file, ports: [], stackPid: pid, stackStart: processStartTime(pid), ...owner });
      // A stack of its own forwards into the container's namespace: the server sees connections from 127.0.0.1.
      target = { netFile: file, ip: '127.0.0.1' };
    }
    if (net.ports.length) {
      const fwd = await startForwarder(engine, target.netFile, target.ip, net.ports, (pid) => {
        store.saveRun({ ...store.run(rec.id)!, fwdPid: pid, fwdStart: processStartTime(pid) });
      });
      store.saveRun({ ...store.run(rec.id)!, ports: fwd.ports });
    }
  } catch (err) {
    disconnectContainer(engine, rec.id);
    throw err;
  }
  return { netnsPath: file };
}

/** The namespace of the container named by --network container:NAME, which must be running. */
function sharedNetns(engine: Engine, ref: string): string {
  const other = new ContainerStore(engine.db).find(ref);
  if (!other) throw new EngineError(`--network container:${ref}: no such container`);
  const run = new NetworkStore(engine.db).run(other.id);
  if (run?.netns && isMounted(engine, run.netns)) return run.netns;
  if (other.state !== 'running' || !other.pid || !isProcessAlive(other.pid)) {
    throw new EngineError(`--network container:${ref}: that container is not running: start it first`);
  }
  return `/proc/${other.pid}/ns/net`;
}

/**
 * Removes everything of the container's network: port forwarder, stack,
 * veths, namespace file, addresses; stops networks it was the last on and
 * updates the other members' /etc/hosts. Safe to call again, and on a
 * container that has none of it.
 */
export function disconnectContainer(engine: Engine, id: string, opts: { recycle?: ContainerRecord } = {}): void {
  const store = new NetworkStore(engine.db);
  const run = store.run(id);
  const eps = store.endpointsOf(id);
  if (!run && !eps.length) return;
  trace('network: disconnect');
  kill(engine, run?.fwdPid, run?.fwdStart);
  if (opts.recycle && run && keepAsSpare(engine, store, opts.recycle, run, eps)) {
    refreshHosts(engine, eps.map((e) => e.networkId));
    trace('network: namespace kept ready');
    return;
  }
  kill(engine, run?.stackPid, run?.stackStart);
  // The veths go first, at once: the addresses are free for the next container as soon as the
  // endpoints are deleted below, and a namespace's kernel ends its devices only later, by itself.
  const veths = eps.map((ep) => ({ netFile: networkFile(engine, ep.networkId), hostIf: hostIfName(run?.netns ? nsKey(run.netns) : id, ep.networkId) }));
  const namespaceGone = !run?.netns || unlinkNetns(run.netns);
  if (veths.length === 1 && namespaceGone) {
    // The common case, without a shell: nsenter into the network's namespace, ip.
    holderRunArgs(engine, vethRemoveCommand(veths[0]!.netFile, veths[0]!.hostIf));
  } else {
    const script = [
      ...veths.map((v) => vethRemoveScript(v.netFile, v.hostIf)),
      ...(run?.netns && !namespaceGone ? [netnsRemoveScript(run.netns)] : []),
    ];
    if (script.length) holderRun(engine, script.join('\n'));
  }
  trace('network: veths and namespace removed');
  engine.db.transaction(() => {
    for (const ep of eps) {
      store.removeEndpoint(id, ep.networkId);
      const net = store.get(ep.networkId);
      if (net && !inUse(store, net.id)) bringDown(engine, store, net);
    }
    store.deleteRun(id);
  }).immediate();
  refreshHosts(engine, eps.map((e) => e.networkId));
  trace('network: disconnected');
}

/**
 * Ready namespaces ("spares"). A container that ran in the foreground on
 * the default network alone leaves its namespace behind when it ends, as it
 * is: lo, eth0 with its address and route, the bridge end on the bridge.
 * The next such container takes it over (its address and MAC with it)
 * instead of making one: no process at either end of a `run --rm`, where
 * making and removing them was most of what the default network cost.
 *
 * Only namespaces nobody could have changed are kept: the container ran
 * without CAP_NET_ADMIN (so no address, route, rule or sysctl of its
 * namespace was changed) and not on gVisor (whose runsc takes eth0's
 * address and routes over: containers/run.ts), in a pid namespace of its
 * own whose processes all ended with it (the foreground run's runtime
 * exited), with no container running that might share it (--network
 * container:), and at most MAX_SPARES per network; anything else is
 * removed as before. A spare is
 * valid while its file is mounted and the network's stack is the one it was
 * made under (its rows' owner columns); `system reset` removes them all.
 */
const MAX_SPARES = 2;

/**
 * Marks the spares kept since a sandbox's namespace is no longer kept
 * (run.ts): gVisor takes eth0's address and routes over, so a spare a
 * sandbox left had none, and every container that took it after started
 * unreachable and left it as it was. A spare without the mark is removed
 * instead of taken.
 */
const SPARE_MARK = 'b-';

/** The id its namespace file was made for (ctr-ID): its veths' bridge ends are named after it (hostIfName). */
function nsKey(file: string): string {
  return basename(file).replace(/^ctr-/, '');
}

/** Whether the container may use, and leave, a ready namespace (see MAX_SPARES). */
function recyclable(rec: ContainerRecord, nets: NetworkRecord[]): boolean {
  const sec = rec.spec.security;
  const netAdmin = !!sec && (sec.privileged || sec.capAdd.some((c) => /^(CAP_)?(NET_ADMIN|ALL)$/i.test(c)));
  return nets.length === 1 && nets[0]!.name === DEFAULT_NETWORK && !netAdmin && !rec.spec.pod && rec.spec.net.mode === 'bridge';
}

/** Gives the container a valid spare of the network, if there is one, bringing the network up; returns its namespace file. */
function takeSpare(engine: Engine, store: NetworkStore, given: NetworkRecord, rec: ContainerRecord, owner: { ownerPid: number; ownerStart?: number }): string | undefined {
  const stale: string[] = [];
  const file = engine.db.transaction(() => {
    const net = ensureUp(engine, store, given);
    for (const s of store.spares(net.id)) {
      if (!s.containerId.startsWith(`${SPARE_PREFIX}${SPARE_MARK}`) || s.ownerPid !== net.stackPid || s.ownerStart !== net.stackStart || !s.netns || !isMounted(engine, s.netns)) {
        stale.push(s.containerId);
        continue;
      }
      store.moveRun(s.containerId, { containerId: rec.id, netns: s.netns, ports: [], ...owner }, rec.spec.net.networks[0]?.aliases ?? []);
      return s.netns;
    }
    return undefined;
  }).immediate();
  for (const id of stale) disconnectContainer(engine, id);
  return file;
}

/** Keeps the ended container's namespace as a spare when it may (see MAX_SPARES); false: remove it. */
function keepAsSpare(engine: Engine, store: NetworkStore, rec: ContainerRecord, run: NetRun, eps: Endpoint[]): boolean {
  if (!run.netns || run.stackPid || eps.length !== 1 || !isMounted(engine, run.netns)) return false;
  const net = store.get(eps[0]!.networkId);
  if (!net || !recyclable(rec, [net]) || !net.stackPid || !isProcessAlive(net.stackPid, net.stackStart)) return false;
  const sharing = engine.db.prepare(`SELECT 1 FROM containers WHERE state = 'running' AND json_extract(spec, '$.net.mode') = 'container' LIMIT 1`).get();
  if (sharing) return false;
  return engine.db.transaction(() => {
    if (store.spares(net.id).length >= MAX_SPARES) return false;
    store.moveRun(rec.id, { containerId: `${SPARE_PREFIX}${SPARE_MARK}${randomBytes(8).toString('hex')}`, netns: run.netns, ports: [], ownerPid: net.stackPid, ownerStart: net.stackStart }, []);
    return true;
  }).immediate();
}

/**
 * Removes a container's namespace file without a process: deleting a file
 * that is a mount point in another mount namespace (the holder's, where it
 * is bound) detaches those mounts, so once the container's processes are
 * gone nothing holds the namespace, and the kernel deletes it with its
 * veths, whose bridge ends go with them. Refused (EBUSY) where the file is
 * a mount point of the caller's own namespace (the exit hook runs in a copy
 * of the holder's): then the caller removes it in the holder, veths first.
 */
function unlinkNetns(file: string): boolean {
  try {
    unlinkSync(file);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * Removes the network state of a container that is not running and whose
 * set-up was cut short (its rootlet was killed before the container ran).
 */
export function sweepNetwork(engine: Engine, rec: ContainerRecord): void {
  if (rec.state === 'running' || rec.state === 'removing') return;
  const run = new NetworkStore(engine.db).run(rec.id);
  if (run && !(run.ownerPid && isProcessAlive(run.ownerPid, run.ownerStart))) disconnectContainer(engine, rec.id);
}

/** Joins a running container to one more network (network connect). */
export async function connectRunning(engine: Engine, rec: ContainerRecord, net: NetworkRecord, aliases: string[]): Promise<void> {
  const store = new NetworkStore(engine.db);
  const run = store.run(rec.id);
  if (!run?.netns) throw new EngineError(`container ${rec.name} has no network namespace of rootlet's to connect`);
  const taken = new Set(store.endpointsOf(rec.id).map((e) => e.iface));
  let n = 0;
  while (taken.has(`eth${n}`)) n++;
  const ep = engine.db.transaction(() => store.addEndpoint(ensureUp(engine, store, net), rec.id, `eth${n}`, aliases)).immediate();
  try {
    await holderScriptAsync(engine, vethScript(vethPlan(engine, net, ep, false, run.netns), run.netns), `cannot connect ${rec.name} to ${net.name}`);
  } catch (err) {
    await disconnectRunning(engine, rec, net);
    throw err;
  }
  refreshHosts(engine, [net.id]);
}

/** Takes a running container off one network (network disconnect). */
export async function disconnectRunning(engine: Engine, rec: ContainerRecord, net: NetworkRecord): Promise<void> {
  const store = new NetworkStore(engine.db);
  const run = store.run(rec.id);
  await holderRunAsync(engine, vethRemoveScript(networkFile(engine, net.id), hostIfName(run?.netns ? nsKey(run.netns) : rec.id, net.id)));
  engine.db.transaction(() => {
    store.removeEndpoint(rec.id, net.id);
    if (!inUse(store, net.id)) bringDown(engine, store, store.get(net.id)!);
  }).immediate();
  refreshHosts(engine, [net.id]);
}

/** Rewrites /etc/hosts of every running container on these networks, in place (the file is bind-mounted: a rename would not be seen). */
export function refreshHosts(engine: Engine, networkIds: string[]): void {
  if (!networkIds.length) return;
  const store = new NetworkStore(engine.db);
  const containers = new ContainerStore(engine.db);
  const members = new Set(networkIds.flatMap((n) => store.endpoints(n).map((e) => e.containerId)));
  for (const id of members) {
    const rec = containers.get(id);
    const file = join(containerDir(engine, id), 'hosts');
    if (rec && existsSync(file)) {
      try { writeFileSync(file, hostsFor(engine, rec)); } catch { /* removed meanwhile */ }
    }
  }
}

/** Rewrites /etc/hosts of the container and of the other containers of its networks (it joined, or was renamed). */
export function refreshPeers(engine: Engine, id: string): void {
  refreshHosts(engine, new NetworkStore(engine.db).endpointsOf(id).map((e) => e.networkId));
}

/** The host address and DNS forwarder of the container's way out, if it has one. */
function wayOut(rec: ContainerRecord, store: NetworkStore): { hostAddr?: string; dns?: string } {
  const mode = rec.spec.net.mode;
  if (mode === 'pasta' || mode === 'slirp4netns') {
    return { hostAddr: mode === 'slirp4netns' ? SLIRP_HOST : hostGateway(), dns: stackDns(mode) };
  }
  const main = primary(store, store.endpointsOf(rec.id));
  if (!main?.net.hostAddr) return {};
  return { hostAddr: main.net.hostAddr, dns: main.net.hostAddr === SLIRP_HOST ? SLIRP_DNS : PASTA_DNS };
}

/** The host's default gateway, which pasta maps to the host's loopback. */
function hostGateway(): string | undefined {
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === '00000000' && f[2]) {
        const n = parseInt(f[2], 16);
        return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
      }
    }
  } catch { /* no IPv4 */ }
  return undefined;
}

function extraHosts(rec: ContainerRecord, hostAddr: string | undefined): Array<{ name: string; ip: string }> {
  return rec.spec.net.extraHosts.map(parseAddHost).map((h) => {
    if (h.ip !== 'host-gateway') return h;
    if (!hostAddr) throw new EngineError(`--add-host ${h.name}:host-gateway: the container's network has no way to the host`);
    return { name: h.name, ip: hostAddr };
  });
}

/** The container's /etc/hosts: itself, the host, the other containers of its networks, --add-host. */
export function hostsFor(engine: Engine, rec: ContainerRecord): string {
  const spec = rec.spec;
  if (spec.net.mode === 'host') {
    let text = '127.0.0.1\tlocalhost\n';
    try { text = readFileSync('/etc/hosts', 'utf8'); } catch { /* none */ }
    return text + extraHosts(rec, '127.0.0.1').map((h) => `${h.ip}\t${h.name}\n`).join('');
  }
  if (spec.net.mode === 'container') {
    const other = new ContainerStore(engine.db).find(spec.net.container!);
    try { if (other) return readFileSync(join(containerDir(engine, other.id), 'hosts'), 'utf8'); } catch { /* not there */ }
  }
  const store = new NetworkStore(engine.db);
  const containers = new ContainerStore(engine.db);
  const own = store.endpointsOf(rec.id);
  const { hostAddr } = wayOut(rec, store);
  const peers: Array<{ ip: string; names: string[] }> = [];
  for (const ep of own) {
    for (const o of store.endpoints(ep.networkId)) {
      if (o.containerId === rec.id) continue;
      const c = containers.get(o.containerId);
      if (c) peers.push({ ip: o.ip, names: [c.name, ...o.aliases, c.id.slice(0, 12)] });
    }
  }
  const ownAliases = own.flatMap((e) => e.aliases);
  return hostsContent({
    hostname: spec.hostname, name: [rec.name, ...ownAliases].join(' '), ownIps: own.map((e) => e.ip), hostAddr, peers, extra: extraHosts(rec, hostAddr),
  });
}

/** The container's /etc/resolv.conf. */
export function resolvFor(engine: Engine, rec: ContainerRecord): string {
  const net = rec.spec.net;
  if (net.mode === 'container') {
    const other = new ContainerStore(engine.db).find(net.container!);
    try { if (other) return readFileSync(join(containerDir(engine, other.id), 'resolv.conf'), 'utf8'); } catch { /* not there */ }
  }
  const { dns } = hasOwnNetns(net) ? wayOut(rec, new NetworkStore(engine.db)) : {};
  // An internal network has no name server to reach: only what was asked for.
  const host = readResolvConf();
  const noWayOut = hasOwnNetns(net) && !dns;
  return resolvContent(containerResolv(net, dns, noWayOut ? { servers: [], search: host.search, options: host.options } : host));
}

/** The ports a running container published, as bound. */
export function boundPorts(engine: Engine, id: string): PortBinding[] {
  return new NetworkStore(engine.db).run(id)?.ports ?? [];
}

/** `system reset`: every container's network state and every network's stack gone. */
export function resetNetworking(engine: Engine): void {
  const store = new NetworkStore(engine.db);
  for (const r of store.runs()) disconnectContainer(engine, r.containerId);
  for (const ep of store.endpoints()) disconnectContainer(engine, ep.containerId);
  for (const n of store.list()) {
    if (n.stackPid || isMounted(engine, networkFile(engine, n.id))) engine.db.transaction(() => bringDown(engine, store, n)).immediate();
  }
}
