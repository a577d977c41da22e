// What processes an engine leaves on the host, and how much memory they
// hold. Everything here reads /proc as the bench user: a process's
// cmdline, environ, namespaces and smaps_rollup are readable by the user
// who owns it (also inside the user namespaces that user owns).
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on every Linux architecture node runs on). */
export const USER_HZ = 100;

/** The fields after comm in /proc/PID/stat (field 3, the state, is [0]). */
function statFields(text) {
  // comm may hold spaces and parentheses: the fields after it start at the last ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** CPU ms a process has used (user + system) and its reaped children have (cutime + cstime). */
function cpuMs(rest) {
  const t = (i) => (Number(rest[i]) * 1000) / USER_HZ;
  return { own: t(11) + t(12), children: t(13) + t(14) };
}

/** CPU ms (user + system) of this process's waited-for children, and theirs, so far. */
export function childrenCpuMs() {
  return cpuMs(statFields(readFileSync('/proc/self/stat', 'utf8'))).children;
}

/** This user's processes now: pid → { pid, ppid, comm, cmdline, environ, pidns, cpu: { own, children } (ms) }. */
export function snapshot(uid = process.getuid()) {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    let st;
    try {
      st = statSync(`/proc/${pid}`);
    } catch {
      continue; // gone
    }
    if (st.uid !== uid) continue;
    const stat = read(`/proc/${pid}/stat`);
    if (!stat) continue;
    const rest = statFields(stat);
    if (rest[0] === 'Z') continue;
    let pidns;
    try {
      pidns = readlinkSync(`/proc/${pid}/ns/pid`);
    } catch { /* not ours to read after all */ }
    procs.set(pid, {
      pid,
      ppid: Number(rest[1]),
      comm: (read(`/proc/${pid}/comm`) ?? '').trim(),
      cmdline: (read(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' '),
      environ: read(`/proc/${pid}/environ`) ?? '',
      pidns,
      cpu: cpuMs(rest),
    });
  }
  return procs;
}

/**
 * The processes that appeared between two snapshots and belong to this
 * bench: their command line or environment names one of `marks` (the
 * sandbox's directories), or an ancestor's does. This machine is shared:
 * other runs as the same user (tests, other benches) start processes too.
 */
export function newProcesses(before, after, marks) {
  const ours = new Set();
  const mentions = (p) => marks.some((m) => p.cmdline.includes(m) || p.environ.includes(m));
  const isOurs = (p, depth = 0) => {
    if (ours.has(p.pid)) return true;
    if (mentions(p)) return true;
    const parent = after.get(p.ppid);
    return !!parent && depth < 64 && isOurs(parent, depth + 1);
  };
  const out = [];
  for (const p of after.values()) {
    if (before.has(p.pid)) continue;
    if (isOurs(p)) {
      ours.add(p.pid);
      out.push(p);
    }
  }
  return out;
}

const FIELDS = { Rss: 'rss', Pss: 'pss', Private_Clean: 'privateClean', Private_Dirty: 'privateDirty', Swap: 'swap', SwapPss: 'swapPss' };

/** A process's memory from /proc/PID/smaps_rollup, in KiB; undefined if it is gone. */
export function memory(pid) {
  const text = read(`/proc/${pid}/smaps_rollup`);
  if (!text) return undefined;
  const m = { rss: 0, pss: 0, privateClean: 0, privateDirty: 0, swap: 0, swapPss: 0 };
  for (const line of text.split('\n')) {
    const r = /^(\w+):\s+(\d+) kB/.exec(line);
    if (r && FIELDS[r[1]]) m[FIELDS[r[1]]] = Number(r[2]);
  }
  m.uss = m.privateClean + m.privateDirty;
  return m;
}

/** Sums memory() over pids; throws if one is gone (a process we count must be there). */
export function sumMemory(pids) {
  const total = { rss: 0, pss: 0, uss: 0, swap: 0, swapPss: 0 };
  for (const pid of pids) {
    const m = memory(pid);
    if (!m) throw new Error(`process ${pid} ended while its memory was being read`);
    for (const k of Object.keys(total)) total[k] += m[k];
  }
  return total;
}

/** How many processes on the whole host run a program of this name (comm is world-readable). */
export function countHostWide(comm) {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name) && read(`/proc/${name}/comm`)?.trim() === comm) n++;
  }
  return n;
}

/**
 * After a figure removed its containers: waits up to timeoutMs for every
 * process of ours that appeared since `before` to end (exit hooks such as
 * conmon's run a moment after `rm` returns; the next timed round must not
 * share the CPU with them), then kills whatever is still there, by pid.
 * Returns what had to be killed: processes the engine left behind. `keep`:
 * pids never to kill (the namespace holders, should one have restarted).
 */
export async function reapLeftovers(before, marks, { keep = [], timeoutMs = 5000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const find = () => newProcesses(before, snapshot(), marks).filter((p) => !keep.includes(p.pid));
  let left = find();
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = find();
  }
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch { /* ended meanwhile */ }
  }
  return left;
}

/** "sh ×10, sleep ×10" */
export function describe(procs) {
  const counts = new Map();
  for (const p of procs) counts.set(p.comm, (counts.get(p.comm) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([comm, n]) => (n === 1 ? comm : `${comm} ×${n}`)).join(', ');
}
