import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BIN, isNetworkStack, mountsMentioning, type Result, type Sandbox } from './helpers.js';

/** Helpers for the lifecycle tests (detached containers, restart policies, kill -9 rounds). */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns a truthy value or the deadline passes; the
 * error names what was awaited and the last value seen.
 */
export async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const v = fn();
    if (v) return v;
    last = v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Started {
  child: ChildProcess;
  /** Resolves when the rootlet process exits (not when its pipes close: a container may hold them). */
  done: Promise<Finished>;
  /** Output so far. */
  out: () => string;
}

/**
 * Starts rootlet in the background. With `capture` its stdout and stderr are
 * collected; else they go nowhere, so that a container left running by a
 * killed rootlet holds no pipe of ours.
 */
export function startRootlet(sb: Sandbox, args: string[], opts: { capture?: boolean } = {}): Started {
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: sb.env,
    cwd: sb.root,
    stdio: ['ignore', opts.capture ? 'pipe' : 'ignore', opts.capture ? 'pipe' : 'ignore'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const done = new Promise<Finished>((resolve) => {
    child.on('exit', (code, signal) => {
      // Give the pipes a moment to deliver what was written before the exit, then let go of them.
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
      }, opts.capture ? 50 : 0);
    });
  });
  return { child, done, out: () => stdout };
}

/** Runs rootlet and measures how long it took. */
export function timed(sb: Sandbox, args: string[]): Result & { ms: number } {
  const t0 = Date.now();
  const r = sb.run(args);
  return { ...r, ms: Date.now() - t0 };
}

/** The STATUS column of `ps -a` for the container named `name`, or undefined when it is not listed. */
export function psStatus(sb: Sandbox, name: string, all = true): string | undefined {
  return statusIn(sb.ok(all ? ['ps', '-a'] : ['ps']), name);
}

export function statusIn(psOutput: string, name: string): string | undefined {
  const line = psOutput.split('\n').slice(1).find((l) => l.trim().split(/\s+/).pop() === name);
  if (!line) return undefined;
  const m = /(Up .*?|Exited \(-?\d+\) .*? ago|Created|Removal In Progress|Restarting.*?)(?:\s{2,}|$)/.exec(line);
  return m ? m[1] : line;
}

/** Names listed by `ps -a`. */
export function psNames(sb: Sandbox, all = true): string[] {
  return sb.ok(all ? ['ps', '-a'] : ['ps']).split('\n').slice(1).map((l) => l.trim().split(/\s+/).pop() ?? '').filter(Boolean);
}

export function fullIds(sb: Sandbox): string[] {
  return sb.ok(['ps', '-aq', '--no-trunc']).split('\n').filter(Boolean);
}

/** Output of a container's log. */
export function logs(sb: Sandbox, ref: string, extra: string[] = []): string {
  return sb.ok(['logs', ...extra, ref]);
}

export function countLines(text: string, line: string): number {
  return text.split('\n').filter((l) => l === line).length;
}

export function storeDirs(sb: Sandbox) {
  return {
    containers: sb.path('data/rootlet/containers'),
    exits: sb.path('run/rootlet/exits'),
    runc: sb.path('run/rootlet/runc'),
  };
}

function list(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

/** Processes of this user whose command line contains `text` (pid and command line each). */
export function processesMentioning(text: string): string[] {
  const r = spawnSync('pgrep', ['-u', String(process.getuid!()), '-af', text], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter(Boolean);
}

export interface Leftovers {
  records: string[];
  dirs: string[];
  exitFiles: string[];
  runtimeState: string[];
  mounts: string[];
  processes: string[];
}

/**
 * Everything of the sandbox's containers that should be gone after `rm -f`
 * of all of them: records, directories, exit files, the runtime's state,
 * mounts, and processes (rootlet's, conmon, the runtime and, through the
 * `markers` on their command lines, the containers' own).
 */
export function leftovers(sb: Sandbox, markers: string[] = []): Leftovers {
  const d = storeDirs(sb);
  return {
    records: fullIds(sb),
    dirs: list(d.containers),
    exitFiles: list(d.exits),
    runtimeState: list(d.runc),
    mounts: mountsMentioning(d.containers),
    // The default network's stack stays up after its last container, as the holder does: not a leftover.
    processes: [sb.root, ...markers].flatMap(processesMentioning).filter((l) => !isNetworkStack(l)),
  };
}

export function isClean(l: Leftovers): boolean {
  return Object.values(l).every((v: string[]) => v.length === 0);
}

/** Polls until nothing is left over (processes may take a moment to exit) and returns what is left at the deadline. */
export async function settleLeftovers(sb: Sandbox, markers: string[] = [], timeoutMs = 30_000): Promise<Leftovers> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = leftovers(sb, markers);
    if (isClean(l) || Date.now() >= deadline) return l;
    await sleep(200);
  }
}

/** The namespace holder's pid as `rootlet info` reports it. */
export function holderPid(sb: Sandbox): number {
  return (JSON.parse(sb.ok(['info', '--format', 'json'])) as { paths: { namespaceHolderPid: number } }).paths.namespaceHolderPid;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The pid conmon wrote for a container's main process, and conmon's own. */
export function containerPids(sb: Sandbox, id: string): { pid?: number; conmon?: number } {
  const read = (f: string) => {
    try { return Number(readFileSync(sb.path('data/rootlet/containers', id, f), 'utf8').trim()) || undefined; } catch { return undefined; }
  };
  return { pid: read('pidfile'), conmon: read('conmon.pid') };
}

/** A marker unique to this sandbox, for container command lines (found again with pgrep -f). */
export function markerFor(sb: Sandbox, what: string): string {
  return `${what}-${basename(sb.root)}`;
}

/**
 * Cleans up after a test that may have left containers behind on purpose
 * (or through a bug): the runtime's containers are deleted, then any
 * process of the sandbox still alive is killed by pid, then the sandbox is
 * destroyed.
 */
export function destroyHard(sb: Sandbox, markers: string[] = []): void {
  const runcRoot = storeDirs(sb).runc;
  for (const id of list(runcRoot)) {
    // Each runtime's own state: runc, given crun's, deletes the directory and leaves the container running.
    const runtime = existsSync(join(runcRoot, id, 'state.json')) ? 'runc' : 'crun';
    sb.run(['unshare', runtime, '--root', runcRoot, 'delete', '--force', id]);
  }
  try { sb.run(['rm', '-f', ...fullIds(sb)]); } catch { /* the reset below removes records anyway */ }
  for (const line of [sb.root, ...markers].flatMap(processesMentioning)) {
    const pid = Number(line.split(' ')[0]);
    if (pid && pid !== process.pid) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  sb.destroy();
  if (existsSync(sb.root)) spawnSync('rm', ['-rf', sb.root]);
}

export function describeLeftovers(l: Leftovers): string {
  return Object.entries(l).filter(([, v]) => (v as string[]).length).map(([k, v]) => `${k}: ${(v as string[]).join(' | ')}`).join('\n') || 'nothing';
}
