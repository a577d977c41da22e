import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { CLK_TCK, readIo, readProc } from '../../util/procfs.js';
import { containerHostPids, containerPid } from './process.js';
import { refreshState } from './state.js';
import { isRunning } from './running.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';

/**
 * One container's figures. Without cgroup v2 delegation there is no
 * cgroup to read, so they are summed over the processes of the
 * container's pid namespace from /proc: CPU and block I/O include the
 * children those processes waited for; memory is resident set sizes
 * (pages shared between processes count once per process).
 */
export interface ContainerStats {
  id: string;
  name: string;
  running: boolean;
  cpuPercent: number;
  memUsage: number;
  memLimit: number;
  /** Bytes received and sent by the container's own network namespace; undefined with the host's network. */
  net?: { rx: number; tx: number };
  block: { read: number; write: number };
  pids: number;
}

interface Snapshot {
  at: number;
  ticks: Map<string, number>;
  memUsage: number;
  threads: number;
  block: { read: number; write: number };
  net?: { rx: number; tx: number };
}

/** Bytes through the interfaces of a process's network namespace, loopback left out. */
function netBytes(pid: number): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  try {
    for (const line of readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2)) {
      const [iface, rest] = line.split(':');
      if (!rest || iface!.trim() === 'lo') continue;
      const f = rest.trim().split(/\s+/).map(Number);
      rx += f[0] ?? 0;
      tx += f[8] ?? 0;
    }
  } catch { /* gone */ }
  return { rx, tx };
}

function snapshot(pid: number, members: number[], hostNetwork: boolean): Snapshot {
  const snap: Snapshot = { at: performance.now(), ticks: new Map(), memUsage: 0, threads: 0, block: { read: 0, write: 0 } };
  for (const p of members) {
    const info = readProc(p);
    if (!info) continue;
    // Keyed by start time too: a pid reused between two snapshots is another process.
    snap.ticks.set(`${p}:${info.startTicks}`, info.utime + info.stime + info.cutime + info.cstime);
    snap.memUsage += info.rssBytes;
    snap.threads += info.threads;
    const io = readIo(p);
    if (io) {
      snap.block.read += io.read;
      snap.block.write += io.write;
    }
  }
  if (!hostNetwork) snap.net = netBytes(pid);
  return snap;
}

function cpuPercent(a: Snapshot, b: Snapshot): number {
  let ticks = 0;
  for (const [k, t] of b.ticks) ticks += t - (a.ticks.get(k) ?? 0);
  const seconds = (b.at - a.at) / 1000;
  return seconds > 0 ? Math.max(0, (ticks / CLK_TCK / seconds) * 100) : 0;
}

/**
 * `stats`: samples the containers twice, `intervalMs` apart (CPU use is a
 * rate). A container that is not running has zeros, as Docker shows it.
 */
export async function sampleStats(engine: Engine, recs: ContainerRecord[], intervalMs: number): Promise<ContainerStats[]> {
  const live = recs.map((r) => {
    const cur = refreshState(engine, r) ?? r;
    const pid = isRunning(engine, cur) ? containerPid(engine, cur) : undefined;
    return { rec: cur, pid, first: pid ? snapshot(pid, containerHostPids(engine, cur, pid), cur.spec.network === 'host') : undefined };
  });
  if (live.some((l) => l.pid)) await new Promise((r) => setTimeout(r, intervalMs));
  return live.map(({ rec, pid, first }) => {
    const limit = rec.spec.resources.memoryBytes ?? totalmem();
    if (!pid || !first) {
      return { id: rec.id, name: rec.name, running: false, cpuPercent: 0, memUsage: 0, memLimit: 0, net: { rx: 0, tx: 0 }, block: { read: 0, write: 0 }, pids: 0 };
    }
    const second = snapshot(pid, containerHostPids(engine, rec, pid), rec.spec.network === 'host');
    return {
      id: rec.id,
      name: rec.name,
      running: true,
      cpuPercent: cpuPercent(first, second),
      memUsage: second.memUsage,
      memLimit: limit,
      net: second.net,
      block: second.block,
      pids: second.threads,
    };
  });
}
