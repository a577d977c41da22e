import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { procFiles } from '../../util/procfs.js';
import { shq } from '../../storage/rootfs.js';
import type { Engine } from '../engine.js';
import { netnsDir } from './endpoints.js';
import { BRIDGE, netnsRemoveScript } from './bridge.js';

/**
 * Networking the database no longer names. Each network stack (pasta,
 * slirp4netns) and port forwarder is started on a namespace file under the
 * store's runtime directory and names that file in its arguments, so it can
 * be found by path when its pid is no longer recorded: after `system
 * recover` rebuilt the database (network records are not rebuilt), or when
 * `system reset` meets a damaged one. Left alone, such a stack outlives the
 * store: pasta holds its namespace itself.
 */

/** The programs rootlet starts on a namespace file (Debian's pasta may run as pasta.avx2). */
const PROGRAMS = /^(pasta|passt|slirp4netns|rootlet-portfwd)/;

/** Our processes of those programs whose arguments name a file in `files`. */
function processesOn(files: Set<string>): number[] {
  const uid = process.getuid!();
  return procFiles('cmdline').filter(({ pid, data }) => {
    const args = data.toString('utf8').split('\0');
    if (!PROGRAMS.test(basename(args[0] ?? '')) || !args.some((a) => files.has(a))) return false;
    // A process of another user that names the same path (it cannot be ours) is left alone.
    try { return statSync(`/proc/${pid}`).uid === uid; } catch { return false; }
  }).map((p) => p.pid);
}

/** The namespace files in the store's runtime directory (net-NETWORK, ctr-CONTAINER). */
function namespaceFiles(engine: Engine): string[] {
  try {
    return readdirSync(netnsDir(engine)).filter((n) => /^(net|ctr)-[0-9a-f]+$/.test(n)).map((n) => join(netnsDir(engine), n));
  } catch {
    return [];
  }
}

function stop(pids: number[]): void {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  }
}

/** `system reset`: every stack and forwarder on any of the store's namespace files (the holder and the files go next). */
export function stopNetworkingByPath(engine: Engine): void {
  stop(processesOn(new Set(namespaceFiles(engine))));
}

/**
 * `system recover`, after the rebuild: the namespace files no running
 * container uses go, with the stacks and forwarders on them. Kept: the
 * namespace of each container restored as running (`running`: their ids),
 * and a network's namespace while one of them is on its bridge (it keeps
 * its way out until it ends; `system reset` stops what is left then).
 */
export function stopStrayNetworking(engine: Engine, running: string[]): void {
  const files = namespaceFiles(engine);
  if (!files.length) return;
  const ns = engine.ns();
  // A container's end of a bridge is named after it (hostIfName: rl + 8 characters of its id + the network's).
  const mine = (ifname: string) => running.some((id) => ifname.startsWith(`rl${id.slice(0, 8)}`));
  const nets = files.filter((f) => basename(f).startsWith('net-'));
  // The bridges' members, in the holder, where the files are mounted: "FILE IFNAME" lines.
  const probe = nets.map((f) => `nsenter --net=${shq(f)} ip -o link show master ${BRIDGE} 2>/dev/null | sed 's|^[0-9]*: \\([^:@]*\\).*|'${shq(f)}' \\1|'`).join('\n');
  const members = probe ? ns.runInHolder(['sh', '-c', `PATH="$PATH:/usr/sbin:/sbin"\n${probe}\ntrue`]).stdout : '';
  const inUse = new Set(members.split('\n').map((l) => l.split(' ')).filter(([, ifname]) => ifname && mine(ifname)).map(([f]) => f));
  const stray = files.filter((f) => {
    const name = basename(f);
    if (name.startsWith('ctr-')) return !running.some((id) => id.startsWith(name.slice(4)));
    return !inUse.has(f);
  });
  if (!stray.length) return;
  stop(processesOn(new Set(stray)));
  ns.runInHolder(['sh', '-c', stray.map(netnsRemoveScript).join('\n')]);
}
