import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** USER_HZ: the unit of /proc's times; 100 on every Linux architecture Node runs on. */
export const CLK_TCK = 100;

/** What `ps` shows of a process, read from /proc/PID/{stat,status,cmdline}. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  /** R, S, D, Z (a zombie: exited, not yet waited for), ... */
  state: string;
  /** Effective uid as the host sees it. */
  euid: number;
  comm: string;
  cmdline: string[];
  ttyNr: number;
  /** CPU time in clock ticks: the process's own, and that of its waited-for children. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  /** Start, in clock ticks since boot. */
  startTicks: number;
  threads: number;
  rssBytes: number;
}

export function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmdline[cmdline.length - 1] === '') cmdline.pop();
    return {
      pid,
      ppid: Number(f[1]),
      state: f[0] ?? '?',
      euid: Number(field('Uid').split(/\s+/)[1] ?? -1),
      comm,
      cmdline,
      ttyNr: Number(f[4]),
      utime: Number(f[11]),
      stime: Number(f[12]),
      cutime: Number(f[13]),
      cstime: Number(f[14]),
      startTicks: Number(f[19]),
      threads: Number(field('Threads')) || 1,
      rssBytes: (Number.parseInt(field('VmRSS'), 10) || 0) * 1024,
    };
  } catch {
    return undefined;
  }
}

/** Bytes a process (and the children it waited for) read from and wrote to storage, when the kernel lets us see them. */
export function readIo(pid: number): { read: number; write: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const get = (k: string) => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { read: get('read_bytes'), write: get('write_bytes') };
  } catch {
    return undefined;
  }
}

/**
 * The processes in the same pid namespace as `pid` (a container's main
 * process): the container's processes, exec'd ones included. Processes of
 * other users cannot be inspected and are not ours anyway.
 */
export function pidNamespaceMembers(pid: number): number[] {
  let ns: string;
  try { ns = readlinkSync(`/proc/${pid}/ns/pid`); } catch { return []; }
  const out: number[] = [];
  for (const p of allPids()) {
    try {
      if (readlinkSync(`/proc/${p}/ns/pid`) === ns) out.push(p);
    } catch { /* gone, or not ours */ }
  }
  return out.sort((a, b) => a - b);
}

/**
 * `pid` and all its descendants, from every process's parent in /proc: the
 * processes of a gVisor sandbox, which has no pid namespace of its own on
 * the host (its Sentry, the gofer and their helpers).
 */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of allPids()) {
    let stat: string;
    try { stat = readFileSync(`/proc/${p}/stat`, 'utf8'); } catch { continue; }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid);
    if (list) list.push(p);
    else children.set(ppid, [p]);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out.sort((a, b) => a - b);
}

function allPids(): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
}

/** One /proc file (e.g. cmdline, environ) of every process we may read: gone or foreign ones are skipped. */
export function procFiles(file: string): Array<{ pid: number; data: Buffer }> {
  const out: Array<{ pid: number; data: Buffer }> = [];
  for (const pid of allPids()) {
    try { out.push({ pid, data: readFileSync(`/proc/${pid}/${file}`) }); } catch { /* gone, or another user's */ }
  }
  return out;
}

/** When the machine booted, in ms since the epoch. */
export function bootTimeMs(): number {
  const m = /^btime\s+(\d+)/m.exec(readFileSync('/proc/stat', 'utf8'));
  return Number(m?.[1] ?? 0) * 1000;
}

/** Seconds since boot. */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** The terminal a process has, as ps names it (pts/0, tty1, ttyS0), or "?". */
export function ttyName(ttyNr: number): string {
  if (!ttyNr) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${minor + (major - 136) * 256}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  return '?';
}

/** A uid as the processes of a user namespace see it, from the host uid and /proc/PID/uid_map read from the host. */
export function uidInside(hostUid: number, uidMap: string): number | undefined {
  for (const line of uidMap.trim().split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number) as [number, number, number];
    if (hostUid >= outside && hostUid < outside + count) return inside + (hostUid - outside);
  }
  return undefined;
}
