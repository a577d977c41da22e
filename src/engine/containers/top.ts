import { readFileSync } from 'node:fs';
import {
  bootTimeMs, CLK_TCK, readProc, ttyName, uidInside, uptimeSeconds, type ProcInfo,
} from '../../util/procfs.js';
import { runCaptureAsync } from '../../util/proc.js';
import { isSandbox } from '../../runtime/runtime.js';
import { runtimeCommand, runtimeFor } from './bundle.js';
import { containerHostPids, runningContainer } from './process.js';
import { containerView } from './view.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';

/** A process table, as Docker's API returns it for `top`. */
export interface TopTable {
  titles: string[];
  processes: string[][];
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** ps's STIME: the time of day for a process started today, else the month and day, else the year. */
export function startColumn(start: Date, now: Date): string {
  if (now.getTime() - start.getTime() < 24 * 3600_000) return `${pad2(start.getHours())}:${pad2(start.getMinutes())}`;
  if (start.getFullYear() === now.getFullYear()) return `${start.toLocaleString('en-US', { month: 'short' })}${pad2(start.getDate())}`;
  return String(start.getFullYear());
}

/** ps's CMD: the arguments, or the name in brackets for a kernel thread or a zombie. */
function commandColumn(p: ProcInfo): string {
  if (p.state === 'Z') return `[${p.comm}] <defunct>`;
  return p.cmdline.length ? p.cmdline.join(' ') : `[${p.comm}]`;
}

/** ps's TIME: cumulative CPU time as [DD-]HH:MM:SS. */
export function cpuTimeColumn(ticks: number): string {
  let s = Math.floor(ticks / CLK_TCK);
  const d = Math.floor(s / 86400);
  s %= 86400;
  const hms = `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  return d ? `${d}-${hms}` : hms;
}

function userNames(engine: Engine, rec: ContainerRecord, pid: number): (hostUid: number) => string {
  let map = '';
  try { map = readFileSync(`/proc/${pid}/uid_map`, 'utf8'); } catch { /* gone */ }
  const passwd = containerView(engine, rec, pid).readText('/etc/passwd') ?? '';
  const names = new Map<number, string>();
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]!);
  }
  return (hostUid) => {
    const inside = uidInside(hostUid, map);
    if (inside === undefined) return String(hostUid);
    return names.get(inside) ?? String(inside);
  };
}

/**
 * `top` without ps options: `ps -ef`'s columns, for the processes of the
 * container's pid namespace. PIDs are the host's (as Docker shows them);
 * users are named as the container names them (its /etc/passwd), since the
 * host knows subordinate ids only as numbers.
 */
function defaultTable(engine: Engine, rec: ContainerRecord, pid: number, pids: number[]): TopTable {
  const now = new Date();
  const boot = bootTimeMs();
  const up = uptimeSeconds();
  const user = userNames(engine, rec, pid);
  const procs = pids.map(readProc).filter((p): p is ProcInfo => !!p);
  return {
    titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
    processes: procs.map((p) => {
      const cpu = p.utime + p.stime;
      const elapsed = up - p.startTicks / CLK_TCK;
      const c = elapsed > 0 ? Math.floor((cpu / CLK_TCK / elapsed) * 100) : 0;
      return [
        user(p.euid), String(p.pid), String(p.ppid), String(c), startColumn(new Date(boot + (p.startTicks / CLK_TCK) * 1000), now),
        ttyName(p.ttyNr), cpuTimeColumn(cpu), commandColumn(p),
      ];
    }),
  };
}

/** ps's table: the titles, and each row's fields (the last column, the command, may contain spaces: kept whole). */
function psOutput(stdout: string): { titles: string[]; rows: string[][] } {
  const lines = stdout.split('\n').filter(Boolean);
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const rows = lines.slice(1).map((line) => {
    const fields = line.trim().split(/\s+/);
    return [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
  });
  return { titles, rows };
}

/** With ps options, as Docker does: the host's ps with them, keeping the rows of the container's pids. */
async function psTable(psArgs: string[], pids: number[]): Promise<TopTable> {
  const r = await runCaptureAsync('ps', psArgs);
  if (r.code !== 0) throw new EngineError(`ps ${psArgs.join(' ')} failed: ${r.stderr.trim().split('\n').pop() || `exit status ${r.code}`}`);
  const { titles, rows } = psOutput(r.stdout);
  const col = titles.indexOf('PID');
  if (col < 0) throw new EngineError(`ps ${psArgs.join(' ')} prints no PID column: rootlet needs it to pick the container's processes`);
  const wanted = new Set(pids.map(String));
  return { titles, processes: rows.filter((fields) => wanted.has(fields[col] ?? '')) };
}

/**
 * A sandbox's processes as gVisor's kernel knows them (`runsc ps`): the
 * host sees only the Sentry and the gofer. Its columns are ps -ef's; pids
 * are the sandbox's own, as there are no host pids for them.
 */
async function sandboxTable(engine: Engine, rec: ContainerRecord): Promise<TopTable> {
  const r = await engine.ns().runAsync(runtimeCommand(engine, rec, 'ps', rec.id));
  if (r.code !== 0) throw new EngineError(`cannot list the sandbox's processes: ${r.stderr.trim().split('\n').pop() || `runsc ps exited ${r.code}`}`);
  const { titles, rows } = psOutput(r.stdout);
  return { titles, processes: rows };
}

/** `top`: the processes running in a container. */
export async function containerTop(engine: Engine, rec: ContainerRecord, psArgs: string[] = []): Promise<TopTable> {
  const { rec: cur, pid } = runningContainer(engine, rec);
  if (isSandbox(runtimeFor(engine, cur.spec))) {
    // The host's ps cannot see inside gVisor; runsc ps takes no options.
    if (psArgs.length) throw new EngineError(`top with ps options cannot look into a sandboxed container (gVisor): its processes are not the host's; run \`rootlet top ${cur.name}\` without options`);
    return sandboxTable(engine, cur);
  }
  const pids = containerHostPids(engine, cur, pid);
  return psArgs.length ? psTable(psArgs, pids) : defaultTable(engine, cur, pid, pids);
}
